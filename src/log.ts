/**
 * Logging: the one module that knows the logging library (LogTape), and the access log.
 *
 * The error log (start-up, connections, pool, warnings) goes to stderr or `--error-log FILE`;
 * every line carries an RFC 3339 UTC timestamp, the level and the category. Access lines (one
 * per exchange, see server/access_log.ts) go to the error log's stream or `--access-log FILE`,
 * as text, combined or JSON. Lines are gathered and written together (see `LogWriter`), never
 * dropped unless the destination stops taking output altogether. Files are reopened on demand
 * (`reopenLogs`, for logrotate). Until `setupLogging` runs (as in in-process tests) nothing is
 * written.
 *
 * With several listener threads (`--threads`) only the main thread writes: each thread gathers
 * and encodes its lines in the same way, and hands every batch of whole lines over (`forward`)
 * where it would have written it; the main thread appends the batch to its own writer
 * (`writeForwarded`). So lines of different threads never interleave within a line, whatever
 * the destination (pipe, file, terminal), and the files are reopened (logrotate) in one place.
 */

import {
  configure,
  dispose,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogRecord,
  type Sink,
  type TextFormatter,
} from "@logtape/logtape";
import type { LogLevelName } from "./config.ts";
import { concatBytes } from "./http/bytes.ts";
import { ACCESS_FORMATTERS, type AccessFormat, type AccessRecord } from "./server/access_log.ts";

export type { Logger };

/** The server's loggers by concern; categories nest under "denohttpd". */
export const log = {
  server: getLogger(["denohttpd", "server"]),
  conn: getLogger(["denohttpd", "conn"]),
  access: getLogger(["denohttpd", "access"]),
  pool: getLogger(["denohttpd", "pool"]),
};

/** `text` as a literal LogTape message: braces (e.g. in a request target) are not placeholders. */
export function plain(text: string): string {
  // LogTape leaves a message without "{" as it is, "}}" included; with one, both are escapes.
  return text.includes("{") ? text.replaceAll("{", "{{").replaceAll("}", "}}") : text;
}

/**
 * A warning that can repeat at a high rate (a full disk, no file descriptors): the first is
 * logged at once; repeats within the interval are counted, and when it has passed one line says
 * how many there were (the last of them in full), so none goes unreported. Use one per kind of
 * event, so a rare one is never folded into a flood of another.
 */
export class ThrottledWarning {
  readonly #logger: Pick<Logger, "warn">;
  readonly #intervalMs: number;
  #lastAt = -Infinity;
  #folded = 0;
  #lastMessage = "";
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(logger: Pick<Logger, "warn">, intervalMs = 1_000) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  warn(message: string): void {
    const now = Date.now();
    if (now - this.#lastAt < this.#intervalMs) {
      this.#folded++;
      this.#lastMessage = message;
      if (this.#timer === undefined) {
        this.#timer = setTimeout(() => this.#report(), this.#lastAt + this.#intervalMs - now);
        Deno.unrefTimer(this.#timer);
      }
      return;
    }
    this.#logger.warn(plain(message));
    this.#lastAt = now;
  }

  /** The summary of the repeats since the last line. */
  #report(): void {
    this.#timer = undefined;
    if (this.#folded === 0) return;
    const seconds = ((Date.now() - this.#lastAt) / 1000).toFixed(1);
    this.#logger.warn(
      plain(`${this.#lastMessage} (${this.#folded} like it in the last ${seconds} s)`),
    );
    this.#lastAt = Date.now();
    this.#folded = 0;
  }
}

export interface LogSetup {
  level: LogLevelName;
  /** The error log's file; null for stderr. */
  errorLog: string | null;
  /** The access log's file; null for the error log's stream; "off" for none. */
  accessLog: string | null;
  accessFormat: AccessFormat;
  /**
   * A listener thread's: every batch of lines goes to this function instead of a destination
   * (the main thread writes it, see `writeForwarded`); no file is opened.
   */
  forward?: (lines: ForwardedLines) => void;
}

/** A batch of whole lines, encoded, that a thread hands to the main thread for one of the logs. */
export interface ForwardedLines {
  stream: "error" | "access";
  bytes: Uint8Array<ArrayBuffer>;
}

/** A log file that cannot be opened (at start-up: the caller exits with one line). */
export class LogFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LogFileError";
  }
}

interface AccessSink {
  writer: LogWriter;
  format: (record: AccessRecord) => string;
  /** Text lines get the error log's prefix (time, level, category). */
  prefixed: boolean;
}

let access: AccessSink | null = null;
let files: LogWriter[] = [];
/** The error log's writer (after setupLogging). */
let errors: LogWriter | null = null;
/** The error log's writer while info lines are wanted (after setupLogging); see `connInfo`. */
let infoWriter: LogWriter | null = null;

/**
 * An info line of the "conn" category, exactly as LogTape would format it, written straight to
 * the error log: every connection logs two (open, closed), and LogTape's record, filter and
 * formatter cost more than the rest of a short connection's requests. Lines keep their order
 * with LogTape's, which writes to the same writer synchronously. Before setupLogging (in-process
 * tests capture LogTape's records) it goes through LogTape.
 */
export function connInfo(text: string): void {
  if (infoWriter !== null) {
    infoWriter.addPrefixed(rfc3339(Date.now()), CONN_CATEGORY, text);
  } else {
    log.conn.info(plain(text));
  }
}

/**
 * Opens the log destinations and routes the loggers to them. Throws LogFileError naming the
 * file when one cannot be opened for appending.
 */
export async function setupLogging(setup: LogSetup): Promise<void> {
  const { forward } = setup;
  const writerOf = (path: string | null, stream: ForwardedLines["stream"]) =>
    forward === undefined ? new LogWriter(path) : new LogWriter(null, forwarding(stream, forward));
  const errorWriter = writerOf(setup.errorLog, "error");
  files = setup.errorLog === null || forward !== undefined ? [] : [errorWriter];
  errors = errorWriter;
  access = null;
  infoWriter = LEVEL_ORDER[setup.level] <= LEVEL_ORDER.info ? errorWriter : null;
  if (setup.accessLog !== "off") {
    const writer = setup.accessLog === null ? errorWriter : writerOf(setup.accessLog, "access");
    if (setup.accessLog !== null && forward === undefined) files.push(writer);
    // Access lines are info: a quieter error log leaves them out unless they have a file.
    const wanted = setup.accessLog !== null || LEVEL_ORDER[setup.level] <= LEVEL_ORDER.info;
    if (wanted) {
      access = {
        writer,
        format: ACCESS_FORMATTERS[setup.accessFormat],
        prefixed: setup.accessFormat === "text",
      };
    }
  }
  const formatter = getTextFormatter({ timestamp: rfc3339, value: "bare" });
  await configure({
    sinks: { errors: batchedSink(errorWriter, formatter) },
    loggers: [
      { category: ["denohttpd"], sinks: ["errors"], lowestLevel: setup.level },
      { category: ["logtape", "meta"], sinks: ["errors"], lowestLevel: "warning" },
    ],
  });
}

const LEVEL_ORDER: Readonly<Record<LogLevelName, number>> = {
  debug: 0,
  info: 1,
  warning: 2,
  error: 3,
};

/** Writes the access line of one exchange (nothing before setupLogging, or with the log off). */
export function writeAccess(record: AccessRecord): void {
  if (access === null) return;
  const line = access.format(record);
  if (access.prefixed) {
    access.writer.addPrefixed(rfc3339(record.timeMs), ACCESS_CATEGORY, line);
  } else {
    access.writer.add(`${line}\n`, false);
  }
}

/** An info line's level and category, as LogTape writes them after the time. */
const ACCESS_CATEGORY = new TextEncoder().encode(" [INF] denohttpd\u00b7access: ");
const CONN_CATEGORY = new TextEncoder().encode(" [INF] denohttpd\u00b7conn: ");

/**
 * Writes a batch of lines a listener thread handed over (see LogSetup.forward) to the log it
 * belongs to; dropped when that log is off (the thread would not have sent it).
 */
export function writeForwarded(lines: ForwardedLines): void {
  const writer = lines.stream === "error" ? errors : access?.writer ?? null;
  // Written at once: the thread has gathered the batch already, for up to BATCH_DELAY_MS.
  writer?.addBytes(lines.bytes, true);
}

/**
 * Reopens every log file by its name (after logrotate moved it away): lines from now on go to
 * the new file, lines already waiting to the old one. Returns a message for each file that
 * could not be reopened; it keeps writing to its old file.
 */
export function reopenLogs(): string[] {
  const problems: string[] = [];
  for (const writer of files) {
    try {
      writer.reopen();
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  return problems;
}

let lastStampMs = -1;
let lastStamp = "";

/** RFC 3339 UTC with milliseconds, as LogTape's "rfc3339", formatted once per millisecond. */
function rfc3339(ms: number): string {
  if (ms !== lastStampMs) {
    lastStampMs = ms;
    lastStamp = new Date(ms).toISOString();
  }
  return lastStamp;
}

/**
 * A batch is written once it holds this many bytes (about 600 access lines): fewer, larger
 * writes cost less per line; its buffer stays well below V8's large-object size.
 */
const BATCH_CHARS = 96 * 1024;
/** Room past BATCH_CHARS in a batch's buffer, so that the line that fills it fits too. */
const BUFFER_SLACK_BYTES = 16 * 1024;
/** ...or this long after its first line, whichever comes first. */
const BATCH_DELAY_MS = 50;
/**
 * Bytes allowed to wait while the destination does not take them (a stuck pipe, a disk that
 * stalls): about six seconds of access lines at 60k requests a second. 16 MiB was once not
 * enough in a 15-minute bench run here, when the log file's disk stalled under the other
 * servers' writes and one warning reported lines dropped.
 */
const BACKLOG_CHARS = 64 * 1024 * 1024;
/** How soon a write that stderr refused (non-blocking and full) is tried again. */
const RETRY_MS = 10;
/** At exit, how long waiting lines may take to be written before the process goes anyway. */
const EXIT_FLUSH_MS = 2_000;

/** Where a writer's bytes go: stderr, or a file opened for appending. */
interface Destination {
  write(bytes: Uint8Array): Promise<number>;
  writeSync(bytes: Uint8Array): number;
  close(): void;
}

const STDERR: Destination = {
  write: (bytes) => Deno.stderr.write(bytes),
  writeSync: (bytes) => Deno.stderr.writeSync(bytes),
  close: () => {},
};

/**
 * A listener thread's destination: each batch, whole lines, is handed to `forward` (a copy, moved
 * to the main thread without another) and counts as written at once.
 */
function forwarding(
  stream: ForwardedLines["stream"],
  forward: (lines: ForwardedLines) => void,
): Destination {
  const send = (bytes: Uint8Array) => {
    forward({ stream, bytes: bytes.slice() });
    return bytes.length;
  };
  return { write: (bytes) => Promise.resolve(send(bytes)), writeSync: send, close: () => {} };
}

function openAppend(path: string): Destination {
  try {
    return Deno.openSync(path, { write: true, append: true, create: true });
  } catch (error) {
    const why = error instanceof Deno.errors.NotCapable ||
        error instanceof Deno.errors.PermissionDenied
      ? `not permitted (grant it with --allow-write=${path})`
      : error instanceof Error
      ? error.message
      : String(error);
    throw new LogFileError(`cannot open log file ${path}: ${why}`);
  }
}

/**
 * Gathers formatted lines and writes them a batch at a time, one asynchronous write in flight:
 * a line per request costs a string append, not a write each, and a slow reader of stderr
 * never stalls the server.
 *
 * Invariants: lines go out in order; nothing is dropped while fewer than BACKLOG_CHARS wait.
 * Beyond that (the destination stuck for good) further lines are counted and dropped, and a
 * warning with the count is written once it moves again: memory stays bounded and the server
 * keeps serving. Warnings and errors are written at once, the rest at most BATCH_DELAY_MS late.
 * A reopen takes effect between two writes: no line is split between the old and new file.
 */
class LogWriter {
  readonly #encoder = new TextEncoder();
  readonly #path: string | null;
  #destination: Destination;
  /**
   * Waiting lines, encoded as they come (each is still in the processor's cache then; encoding
   * a batch-sized string at the end cost four times as much): buffers already full, then the
   * one being filled, up to `#filled`.
   */
  #full: Uint8Array[] = [];
  #fullBytes = 0;
  #buffer = new Uint8Array(0);
  #filled = 0;
  /** The last time `addPrefixed` was given, encoded (it repeats within a millisecond). */
  #time = "";
  #timeBytes = new Uint8Array(0);
  #dropped = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> | null = null;
  #closed = false;
  /** Destinations replaced by a reopen, with what is still to be written to each. */
  readonly #retired: { destination: Destination; bytes: Uint8Array }[] = [];

  /** `path` null: stderr, or `destination` (a listener thread's, see `forwarding`). */
  constructor(path: string | null, destination?: Destination) {
    this.#path = path;
    this.#destination = path === null ? destination ?? STDERR : openAppend(path);
  }

  add(line: string, urgent: boolean): void {
    if (this.#closed) return;
    if (this.#waiting() + line.length > BACKLOG_CHARS) {
      this.#dropped++;
      return;
    }
    this.#put(line);
    this.#scheduled(urgent);
  }

  /**
   * Adds the info line `${time}${category}${line}\n`, LogTape's layout with `category` its
   * level and category (encoded once, not per line).
   */
  addPrefixed(time: string, category: Uint8Array, line: string): void {
    if (this.#closed) return;
    if (this.#waiting() + time.length + category.length + line.length + 1 > BACKLOG_CHARS) {
      this.#dropped++;
      return;
    }
    if (time !== this.#time) {
      this.#time = time;
      this.#timeBytes = this.#encoder.encode(time);
    }
    this.#room(this.#timeBytes.length + category.length + 3 * line.length + 1);
    this.#buffer.set(this.#timeBytes, this.#filled);
    this.#filled += this.#timeBytes.length;
    this.#buffer.set(category, this.#filled);
    this.#filled += category.length;
    this.#filled += this.#encoder.encodeInto(line, this.#buffer.subarray(this.#filled)).written;
    this.#buffer[this.#filled++] = 0x0a;
    this.#scheduled(false);
  }

  /**
   * Adds `bytes`, whole lines already encoded (a listener thread's batch, see `forwarding`), as
   * if each line had been added here.
   */
  addBytes(bytes: Uint8Array, urgent: boolean): void {
    if (this.#closed) return;
    if (this.#waiting() + bytes.length > BACKLOG_CHARS) {
      // A thread's batch holds many lines; each counts.
      let lines = 0;
      for (const byte of bytes) if (byte === 0x0a) lines++;
      this.#dropped += Math.max(1, lines);
      return;
    }
    // Kept as it is, after what waits: no copy.
    if (this.#filled > 0) {
      this.#full.push(this.#buffer.subarray(0, this.#filled));
      this.#fullBytes += this.#filled;
      this.#buffer = this.#buffer.subarray(this.#filled);
      this.#filled = 0;
    }
    this.#full.push(bytes);
    this.#fullBytes += bytes.length;
    this.#scheduled(urgent);
  }

  /** Encodes `text` after what waits. */
  #put(text: string): void {
    // A UTF-16 code unit takes at most three bytes in UTF-8.
    this.#room(3 * text.length);
    this.#filled += this.#encoder.encodeInto(text, this.#buffer.subarray(this.#filled)).written;
  }

  /** Makes sure `bytes` fit in the buffer being filled, starting another one if not. */
  #room(bytes: number): void {
    if (this.#buffer.length - this.#filled >= bytes) return;
    if (this.#filled > 0) {
      this.#full.push(this.#buffer.subarray(0, this.#filled));
      this.#fullBytes += this.#filled;
    }
    this.#buffer = new Uint8Array(Math.max(BATCH_CHARS + BUFFER_SLACK_BYTES, bytes));
    this.#filled = 0;
  }

  /** Bytes waiting. */
  #waiting(): number {
    return this.#fullBytes + this.#filled;
  }

  #scheduled(urgent: boolean): void {
    if (urgent || this.#waiting() >= BATCH_CHARS) {
      this.#start();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#start(), BATCH_DELAY_MS);
      // Pending lines alone do not keep the process alive; `flush` (on exit) writes them.
      Deno.unrefTimer(this.#timer);
    }
  }

  /**
   * Opens the file by its name again; what waits now goes to the new file, so a line written
   * before the reopen was asked for can still land in the old one, never after.
   */
  reopen(): void {
    if (this.#path === null) return;
    const fresh = openAppend(this.#path);
    // What waits now was logged before the reopen: it goes to the old file, then that closes.
    this.#retired.push({ destination: this.#destination, bytes: this.#take() });
    this.#destination = fresh;
    this.#start();
  }

  /**
   * Resolves once everything added so far is written, or after `timeoutMs` if the destination
   * does not take it (so a stuck pipe cannot hold the process at exit).
   */
  async flush(timeoutMs: number): Promise<void> {
    this.#start();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    const written = (async () => {
      while (this.#writing !== null) await this.#writing;
    })();
    await Promise.race([written, gaveUp]);
    clearTimeout(timer);
  }

  /** Last resort when the process is dying: writes what waits, synchronously, best effort. */
  flushSync(): void {
    const bytes = this.#take();
    if (bytes.length === 0) return;
    try {
      for (let offset = 0; offset < bytes.length;) {
        offset += this.#destination.writeSync(bytes.subarray(offset));
      }
    } catch {
      // Nowhere left to report to.
    }
  }

  #start(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#writing !== null) return;
    if (this.#waiting() === 0 && this.#dropped === 0 && this.#retired.length === 0) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = null;
    });
  }

  /** The waiting lines as one buffer, preceded by a warning if lines had to be dropped. */
  #take(): Uint8Array {
    const parts = this.#full;
    if (this.#filled > 0) parts.push(this.#buffer.subarray(0, this.#filled));
    const lines = concatBytes(parts);
    // The buffer's bytes go out as they are: the next line starts a new one.
    this.#full = [];
    this.#fullBytes = 0;
    this.#buffer = new Uint8Array(0);
    this.#filled = 0;
    if (this.#dropped === 0) return lines;
    const warning = this.#encoder.encode(
      `${rfc3339(Date.now())} [WRN] denohttpd\u00b7log: ${this.#dropped} log line(s) ` +
        `dropped: the log did not take output for too long\n`,
    );
    this.#dropped = 0;
    return concatBytes([warning, lines]);
  }

  async #drain(): Promise<void> {
    for (;;) {
      for (let old = this.#retired.shift(); old !== undefined; old = this.#retired.shift()) {
        if (old.bytes.length > 0) await this.#writeAll(old.destination, old.bytes);
        old.destination.close();
      }
      const bytes = this.#take();
      if (bytes.length === 0) return;
      if (!await this.#writeAll(this.#destination, bytes)) return;
    }
  }

  /** Writes `bytes` whole to `destination`; false when it is gone for good. */
  async #writeAll(destination: Destination, bytes: Uint8Array): Promise<boolean> {
    for (let offset = 0; offset < bytes.length;) {
      try {
        offset += await destination.write(bytes.subarray(offset));
      } catch (error) {
        if (!(error instanceof Deno.errors.WouldBlock)) {
          // The destination is gone (closed pipe, file system error): nothing can be reported.
          if (destination === this.#destination) {
            this.#closed = true;
            this.#full = [];
            this.#fullBytes = 0;
            this.#filled = 0;
          }
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    return true;
  }
}

const writers = new Set<LogWriter>();

function batchedSink(writer: LogWriter, formatter: TextFormatter): Sink & AsyncDisposable {
  writers.add(writer);
  const sink = (record: LogRecord) => {
    const urgent = record.level === "warning" || record.level === "error" ||
      record.level === "fatal";
    writer.add(formatter(record), urgent);
  };
  return Object.assign(sink, {
    [Symbol.asyncDispose]: async () => {
      await Promise.all([...allWriters()].map((w) => w.flush(EXIT_FLUSH_MS)));
    },
  });
}

function allWriters(): Set<LogWriter> {
  const all = new Set(writers);
  for (const file of files) all.add(file);
  if (access !== null) all.add(access.writer);
  return all;
}

// An uncaught error ends the process without disposing; write what waits first.
globalThis.addEventListener("error", () => {
  for (const writer of allWriters()) writer.flushSync();
});
globalThis.addEventListener("unhandledrejection", () => {
  for (const writer of allWriters()) writer.flushSync();
});

/** Flushes buffered lines (both logs); call before the process exits. */
export async function flushLogging(): Promise<void> {
  await dispose();
}
