/**
 * The log of an in-process server, in memory: LogTape routed to an array for the test's
 * duration (`await using logs = await captureLogs()`), reset afterwards. Lines read
 * `LEVEL message`, e.g. `info TLS certificate …`, `debug TLS handshake from …`.
 */

import { configure, type LogRecord, reset } from "@logtape/logtape";

export interface CapturedLog extends AsyncDisposable {
  /** Every record logged under "denohttpd" so far, debug included. */
  lines: string[];
}

export async function captureLogs(): Promise<CapturedLog> {
  const lines: string[] = [];
  const sink = (record: LogRecord) => {
    lines.push(`${record.level} ${record.message.map((part) => String(part)).join("")}`);
  };
  await configure({
    reset: true,
    sinks: { memory: sink, none: () => {} },
    loggers: [
      { category: ["denohttpd"], sinks: ["memory"], lowestLevel: "debug" },
      { category: ["logtape", "meta"], sinks: ["none"], lowestLevel: "warning" },
    ],
  });
  return { lines, [Symbol.asyncDispose]: () => reset() };
}
