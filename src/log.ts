/**
 * Logging setup: the one module that knows the logging library (LogTape).
 *
 * Every line carries an RFC 3339 UTC timestamp, the level and the category, and goes to
 * stderr through a non-blocking buffered sink, so logging never stalls the request path.
 * Until `setupLogging` runs (as in in-process tests) loggers are silent.
 */

import {
  configure,
  dispose,
  getLogger,
  getStreamSink,
  getTextFormatter,
  type Logger,
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
  await configure({
    sinks: {
      stderr: getStreamSink(Deno.stderr.writable, {
        formatter: getTextFormatter({ timestamp: "rfc3339", value: "bare" }),
        nonBlocking: { bufferSize: 256, flushInterval: 50 },
      }),
    },
    loggers: [
      { category: ["denohttpd"], sinks: ["stderr"], lowestLevel: level },
      { category: ["logtape", "meta"], sinks: ["stderr"], lowestLevel: "warning" },
    ],
  });
}

/** Flushes buffered lines; call before the process exits. */
export async function flushLogging(): Promise<void> {
  await dispose();
}
