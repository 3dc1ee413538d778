/**
 * Logging setup: the one module that knows the logging library (LogTape).
 *
 * Every line carries an RFC 3339 UTC timestamp, the level and the category, and goes to
 * stderr. Lines are gathered and written together (see `batchedStderrSink`); none is ever
 * dropped. Until `setupLogging` runs (as in in-process tests) loggers are silent.
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
  return text.includes("{") || text.includes("}")
    ? text.replaceAll("{", "{{").replaceAll("}", "}}")
    : text;
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

/**
 * A sink that appends formatted lines to a batch and writes the batch to stderr in one
 * synchronous write: an access line per request costs a string append, not a write each.
 *
 * Nothing is dropped and memory stays bounded: when stderr cannot keep up (a slow pipe), the
 * write blocks and the server slows down with it, as nginx does with its access log. Warnings
 * and errors are written at once; the rest at most BATCH_DELAY_MS late, and on dispose.
 */
function batchedStderrSink(formatter: TextFormatter): Sink & Disposable {
  const encoder = new TextEncoder();
  let batch = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (batch === "") return;
    const bytes = encoder.encode(batch);
    batch = "";
    try {
      for (let offset = 0; offset < bytes.length;) {
        offset += Deno.stderr.writeSync(bytes.subarray(offset));
      }
    } catch {
      // stderr is gone (closed pipe): there is nowhere left to report anything.
    }
  };
  const sink = (record: LogRecord) => {
    batch += formatter(record);
    if (
      batch.length >= BATCH_CHARS || record.level === "warning" || record.level === "error" ||
      record.level === "fatal"
    ) {
      flush();
    } else if (timer === undefined) {
      timer = setTimeout(flush, BATCH_DELAY_MS);
      // Pending log lines alone do not keep the process alive; dispose flushes them.
      Deno.unrefTimer(timer);
    }
  };
  return Object.assign(sink, { [Symbol.dispose]: flush });
}

/** Flushes buffered lines; call before the process exits. */
export async function flushLogging(): Promise<void> {
  await dispose();
}
