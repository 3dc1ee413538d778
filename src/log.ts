/**
 * Logging setup: the one module that knows the logging library (LogTape).
 *
 * Every line carries an RFC 3339 UTC timestamp, the level and the category, and goes to
 * stderr. Lines are gathered and written together (see `StderrWriter`), never dropped unless
 * stderr stops taking output altogether. Until `setupLogging` runs (as in in-process tests)
 * loggers are silent.
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
 * logged at once, later ones at most once per interval, each line saying how many like it were
 * folded into it since the last.
 */
export class ThrottledWarning {
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #lastAt = -Infinity;
  #folded = 0;

  constructor(logger: Logger, intervalMs = 1_000) {
    this.#logger = logger;
    this.#intervalMs = intervalMs;
  }

  warn(message: string): void {
    const now = Date.now();
    if (now - this.#lastAt < this.#intervalMs) {
      this.#folded++;
      return;
    }
    const folded = this.#folded === 0
      ? ""
      : ` (${this.#folded} more like it since the last report)`;
    this.#logger.warn(plain(message + folded));
    this.#lastAt = now;
    this.#folded = 0;
  }
}

export async function setupLogging(level: LogLevelName): Promise<void> {
  const formatter = getTextFormatter({ timestamp: rfc3339, value: "bare" });
  await configure({
    sinks: { stderr: batchedStderrSink(formatter) },
    loggers: [
      { category: ["denohttpd"], sinks: ["stderr"], lowestLevel: level },
      { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
    ],
  });
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

/** A batch is written once it holds this many characters... */
const BATCH_CHARS = 64 * 1024;
/** ...or this long after its first line, whichever comes first. */
const BATCH_DELAY_MS = 50;
/** Characters allowed to wait while stderr does not take them (a stuck pipe); see below. */
const BACKLOG_CHARS = 16 * 1024 * 1024;
/** How soon a write that stderr refused (non-blocking and full) is tried again. */
const RETRY_MS = 10;
/** At exit, how long waiting lines may take to be written before the process goes anyway. */
const EXIT_FLUSH_MS = 2_000;

/**
 * Gathers formatted lines and writes them to stderr a batch at a time, one asynchronous write
 * in flight: an access line per request costs a string append, not a write each, and a slow
 * reader of stderr never stalls the server.
 *
 * Invariants: lines go out in order; nothing is dropped while fewer than BACKLOG_CHARS wait.
 * Beyond that (stderr stuck for good) further lines are counted and dropped, and a warning
 * with the count is written once stderr moves again: memory stays bounded and the server
 * keeps serving. Warnings and errors are written at once, the rest at most BATCH_DELAY_MS late.
 */
class StderrWriter {
  readonly #encoder = new TextEncoder();
  #batch = "";
  #dropped = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #writing: Promise<void> | null = null;
  #closed = false;

  add(line: string, urgent: boolean): void {
    if (this.#closed) return;
    if (this.#batch.length + line.length > BACKLOG_CHARS) {
      this.#dropped++;
      return;
    }
    this.#batch += line;
    if (urgent || this.#batch.length >= BATCH_CHARS) {
      this.#start();
    } else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#start(), BATCH_DELAY_MS);
      // Pending lines alone do not keep the process alive; `flush` (on exit) writes them.
      Deno.unrefTimer(this.#timer);
    }
  }

  /**
   * Resolves once everything added so far is written, or after `timeoutMs` if stderr does not
   * take it (so a stuck pipe cannot hold the process at exit).
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
    const text = this.#take();
    if (text === "") return;
    try {
      const bytes = this.#encoder.encode(text);
      for (let offset = 0; offset < bytes.length;) {
        offset += Deno.stderr.writeSync(bytes.subarray(offset));
      }
    } catch {
      // Nowhere left to report to.
    }
  }

  #start(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#writing !== null || (this.#batch === "" && this.#dropped === 0)) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = null;
    });
  }

  /** The waiting text, preceded by a warning if lines had to be dropped. */
  #take(): string {
    let text = this.#batch;
    this.#batch = "";
    if (this.#dropped > 0) {
      text = `${rfc3339(Date.now())} [WRN] denohttpd·log: ${this.#dropped} log line(s) ` +
        `dropped: stderr did not take output for too long\n${text}`;
      this.#dropped = 0;
    }
    return text;
  }

  async #drain(): Promise<void> {
    for (;;) {
      const text = this.#take();
      if (text === "") return;
      const bytes = this.#encoder.encode(text);
      for (let offset = 0; offset < bytes.length;) {
        try {
          offset += await Deno.stderr.write(bytes.subarray(offset));
        } catch (error) {
          if (!(error instanceof Deno.errors.WouldBlock)) {
            // stderr is gone (closed pipe): nothing can be reported any more.
            this.#closed = true;
            this.#batch = "";
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        }
      }
    }
  }
}

function batchedStderrSink(formatter: TextFormatter): Sink & AsyncDisposable {
  const writer = new StderrWriter();
  // An uncaught error ends the process without disposing; write what waits first.
  globalThis.addEventListener("error", () => writer.flushSync());
  globalThis.addEventListener("unhandledrejection", () => writer.flushSync());
  const sink = (record: LogRecord) => {
    const urgent = record.level === "warning" || record.level === "error" ||
      record.level === "fatal";
    writer.add(formatter(record), urgent);
  };
  return Object.assign(sink, { [Symbol.asyncDispose]: () => writer.flush(EXIT_FLUSH_MS) });
}

/** Flushes buffered lines; call before the process exits. */
export async function flushLogging(): Promise<void> {
  await dispose();
}
