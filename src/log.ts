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
 * With several listener threads (`--threads`) only the main thread writes: each thread's lines
 * are gathered in the same way and handed over in batches of whole lines (`forward`), and the
 * main thread appends each batch to its own writers (`writeForwarded`). So lines of different
 * threads never interleave within a line, whatever the destination (pipe, file, terminal), and
 * reopening the files (logrotate) is done in one place for all threads.
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
   * A listener thread's: lines are handed to this function in batches instead of written (the
   * main thread writes them, see `writeForwarded`); no file is opened.
   */
  forward?: (lines: ForwardedLines) => void;
}

/** A batch of whole lines a thread hands to the main thread, for the error or the access log. */
export interface ForwardedLines {
  stream: "error" | "access";
  text: string;
  /** Offsets in `text` of placeholders that stand for "·" (see `LogWriter.addPrefixed`). */
  marks: number[];
  /** Holds a warning or an error: to be written at once. */
  urgent: boolean;
}

/** What the loggers write through: a batching writer of a destination, or a thread's forwarder. */
interface LineWriter {
  add(line: string, urgent: boolean): void;
  addPrefixed(time: string, category: string, line: string): void;
  flush(timeoutMs: number): Promise<void>;
  flushSync(): void;
}

/** A log file that cannot be opened (at start-up: the caller exits with one line). */
export class LogFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LogFileError";
  }
}

interface AccessSink {
  writer: LineWriter;
  format: (record: AccessRecord) => string;
  /** Text lines get the error log's prefix (time, level, category). */
  prefixed: boolean;
}

let access: AccessSink | null = null;
let files: LogWriter[] = [];
/** The error log's writer (after setupLogging). */
let errors: LineWriter | null = null;
/** The error log's writer while info lines are wanted (after setupLogging); see `connInfo`. */
let infoWriter: LineWriter | null = null;

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
  const errorWriter: LineWriter = forward === undefined
    ? new LogWriter(setup.errorLog)
    : new ForwardingWriter("error", forward);
  files = errorWriter instanceof LogWriter && setup.errorLog !== null ? [errorWriter] : [];
  errors = errorWriter;
  access = null;
  infoWriter = LEVEL_ORDER[setup.level] <= LEVEL_ORDER.info ? errorWriter : null;
  if (setup.accessLog !== "off") {
    let writer = errorWriter;
    if (setup.accessLog !== null) {
      if (forward === undefined) {
        const file = new LogWriter(setup.accessLog);
        files.push(file);
        writer = file;
      } else {
        writer = new ForwardingWriter("access", forward);
      }
    }
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

/** An info line's prefix after its time: level and category, "·" left out (see `addPrefixed`). */
const INFO_PREFIX = " [INF] denohttpd";
const ACCESS_CATEGORY = "access: ";
const CONN_CATEGORY = "conn: ";

/**
 * Writes a batch of lines a listener thread handed over (see LogSetup.forward) to the log it
 * belongs to; dropped when that log is off (the thread would not have sent it).
 */
export function writeForwarded(lines: ForwardedLines): void {
  const writer = lines.stream === "error" ? errors : access?.writer ?? null;
  // Written at once: the thread has already gathered the batch for up to BATCH_DELAY_MS.
  if (writer instanceof LogWriter) writer.addMarked(lines.text, lines.marks, true);
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
 * A batch is written once it holds this many characters (about 600 access lines): fewer, larger
 * writes cost less per line, but a batch's string must stay below V8's large-object size
 * (128 KiB), which its collector handles at a higher cost.
 */
const BATCH_CHARS = 96 * 1024;
/** ...or this long after its first line, whichever comes first. */
const BATCH_DELAY_MS = 50;
/** Characters allowed to wait while the destination does not take them (a stuck pipe). */
const BACKLOG_CHARS = 16 * 1024 * 1024;
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
class LogWriter implements LineWriter {
  readonly #encoder = new TextEncoder();
  readonly #path: string | null;
  #destination: Destination;
  /** Waiting lines; at each offset in `#marks` a placeholder stands for "·" (see `addPrefixed`). */
  #batch: string[] = [];
  /** The characters in `#batch`. */
  #batchLength = 0;
  #marks: number[] = [];
  #dropped = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> | null = null;
  #closed = false;
  /** Destinations replaced by a reopen, with what is still to be written to each. */
  readonly #retired: { destination: Destination; bytes: Uint8Array }[] = [];

  /** `path` null: stderr. */
  constructor(path: string | null) {
    this.#path = path;
    this.#destination = path === null ? STDERR : openAppend(path);
  }

  add(line: string, urgent: boolean): void {
    if (this.#closed) return;
    if (this.#waiting() + line.length > BACKLOG_CHARS) {
      this.#dropped++;
      return;
    }
    this.#batch.push(line);
    this.#batchLength += line.length;
    this.#scheduled(urgent);
  }

  /**
   * Adds the info line `${time} [INF] denohttpd·${category}${line}\n` (LogTape's layout). The
   * "·" (U+00B7, two bytes in UTF-8) is put in when the batch is encoded: a batch of ASCII is
   * encoded by a copy, while a single character beyond ASCII sends all of it down the
   * encoder's slow path, which cost more than formatting the access line.
   */
  addPrefixed(time: string, category: string, line: string): void {
    if (this.#closed) return;
    if (this.#waiting() + time.length + category.length + line.length + 18 > BACKLOG_CHARS) {
      this.#dropped++;
      return;
    }
    // Joined once per batch: a flat string encodes faster than a rope of these parts.
    this.#batch.push(time, INFO_PREFIX, ".", category, line, "\n");
    this.#marks.push(this.#batchLength + time.length + INFO_PREFIX.length);
    this.#batchLength += time.length + INFO_PREFIX.length + 2 + category.length + line.length;
    this.#scheduled(false);
  }

  /**
   * Adds `text`, whole lines with "·" placeholders at `marks` (a thread's batch, see
   * ForwardingWriter), as if each line had been added here.
   */
  addMarked(text: string, marks: readonly number[], urgent: boolean): void {
    if (this.#closed) return;
    if (this.#waiting() + text.length > BACKLOG_CHARS) {
      // A thread's batch holds many lines; each counts.
      this.#dropped += Math.max(1, text.split("\n").length - 1);
      return;
    }
    for (const at of marks) this.#marks.push(this.#batchLength + at);
    this.#batch.push(text);
    this.#batchLength += text.length;
    this.#scheduled(urgent);
  }

  /** Characters (about bytes) waiting. */
  #waiting(): number {
    return this.#batchLength;
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
    const lines = this.#batchLength === 0
      ? new Uint8Array(0)
      : encodeMarked(this.#encoder, this.#batch.join(""), this.#marks);
    this.#batch = [];
    this.#batchLength = 0;
    this.#marks = [];
    if (this.#dropped === 0) return lines;
    const warning = this.#encoder.encode(
      `${rfc3339(Date.now())} [WRN] denohttpd\u00b7log: ${this.#dropped} log line(s) ` +
        `dropped: the log did not take output for too long\n`,
    );
    this.#dropped = 0;
    const out = new Uint8Array(warning.length + lines.length);
    out.set(warning);
    out.set(lines, warning.length);
    return out;
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
            this.#batch = [];
            this.#batchLength = 0;
            this.#marks = [];
          }
          return false;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    return true;
  }
}

/** `text` as UTF-8, with "·" (C2 B7) in place of the character at each offset in `marks`. */
export function encodeMarked(
  encoder: TextEncoder,
  text: string,
  marks: readonly number[],
): Uint8Array {
  const n = text.length;
  const out = new Uint8Array(n + marks.length);
  const { read, written } = encoder.encodeInto(text, out);
  if (read !== n || written !== n) {
    // Not all ASCII (a user name, a message from the system): rare, done the plain way.
    let marked = "";
    let from = 0;
    for (const at of marks) {
      marked += text.slice(from, at) + "\u00b7";
      from = at + 1;
    }
    return encoder.encode(marked + text.slice(from));
  }
  // One byte per character: from the end, move each stretch right to make room for a "·".
  let end = n;
  let to = n + marks.length;
  for (let k = marks.length - 1; k >= 0; k--) {
    const at = marks[k] as number;
    to -= end - (at + 1);
    out.copyWithin(to, at + 1, end);
    out[--to] = 0xb7;
    out[--to] = 0xc2;
    end = at;
  }
  return out;
}

/**
 * A listener thread's writer: gathers lines as LogWriter does (at most BATCH_CHARS, or
 * BATCH_DELAY_MS after the first; warnings and errors at once), "·" placeholders included, and
 * hands each batch, whole lines only, to `forward` (a message to the main thread, which writes
 * it).
 */
class ForwardingWriter implements LineWriter {
  readonly #stream: ForwardedLines["stream"];
  readonly #forward: (lines: ForwardedLines) => void;
  #batch: string[] = [];
  #batchLength = 0;
  #marks: number[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(stream: ForwardedLines["stream"], forward: (lines: ForwardedLines) => void) {
    this.#stream = stream;
    this.#forward = forward;
  }

  add(line: string, urgent: boolean): void {
    this.#batch.push(line);
    this.#batchLength += line.length;
    this.#scheduled(urgent);
  }

  /** See `LogWriter.addPrefixed`: the same parts, the "·" put in by the main thread's writer. */
  addPrefixed(time: string, category: string, line: string): void {
    this.#batch.push(time, INFO_PREFIX, ".", category, line, "\n");
    this.#marks.push(this.#batchLength + time.length + INFO_PREFIX.length);
    this.#batchLength += time.length + INFO_PREFIX.length + 2 + category.length + line.length;
    this.#scheduled(false);
  }

  flush(): Promise<void> {
    this.#send(false);
    return Promise.resolve();
  }

  flushSync(): void {
    this.#send(true);
  }

  #scheduled(urgent: boolean): void {
    if (urgent || this.#batchLength >= BATCH_CHARS) {
      this.#send(urgent);
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#send(false), BATCH_DELAY_MS);
      Deno.unrefTimer(this.#timer);
    }
  }

  #send(urgent: boolean): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batchLength === 0) return;
    const text = this.#batch.join("");
    const marks = this.#marks;
    this.#batch = [];
    this.#batchLength = 0;
    this.#marks = [];
    this.#forward({ stream: this.#stream, text, marks, urgent });
  }
}

const writers = new Set<LineWriter>();

function batchedSink(writer: LineWriter, formatter: TextFormatter): Sink & AsyncDisposable {
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

function allWriters(): Set<LineWriter> {
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
