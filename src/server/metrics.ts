/**
 * What `GET /metrics` reports (`--metrics`): the counters of every exchange — requests by
 * method and status, response body bytes, durations — kept here, and their rendering, together
 * with the gauges and counters other parts keep (pool, connections, file cache, uploads), in the
 * Prometheus text format.
 *
 * Invariants:
 * - `record` runs for every exchange (from `ServerState.recordExchange`) and allocates nothing
 *   and builds no string: the method's index comes from a switch over the registered methods,
 *   the status is an offset into a typed array, the duration's bucket a scan of 14 bounds.
 * - Label values are bounded: 10 methods (the nine of RFC 9110 and RFC 5789, anything else
 *   `other`) by the statuses 100 to 599; an exchange that ended without a response counts as
 *   499, as the access log writes it.
 * - `render` is pure: it reads only what it is given and these counters.
 */

import { Exposition } from "../http/exposition.ts";
import type { UploadResult } from "../handlers/upload.ts";
import { UPLOAD_RESULTS } from "../handlers/upload.ts";
import { type AccessRecord, NO_RESPONSE_STATUS } from "./access_log.ts";

/** The method label values, in index order; the last is everything else. */
export const METRIC_METHODS: readonly string[] = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
  "other",
];
const OTHER = METRIC_METHODS.length - 1;
const FIRST_STATUS = 100;
const STATUSES = 500; // 100..599

/**
 * Upper bounds of the duration histogram, in seconds: a cached file is answered in well under a
 * millisecond here, a large download or a slow client takes seconds (the write timeout is 30 s).
 */
export const DURATION_BOUNDS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** Everything `render` reports beside the exchange counters, read when /metrics is asked. */
export interface MetricsSnapshot {
  connectionsOpen: number;
  poolBusy: number;
  poolSize: number;
  queueLength: number;
  cacheHits: number;
  cacheMisses: number;
  uploads: Readonly<Record<UploadResult, number>>;
  residentBytes: number;
  /** Unix time at which the process started, in seconds. */
  startTimeSeconds: number;
}

/** The index of `method` in METRIC_METHODS. */
export function methodIndex(method: string): number {
  switch (method) {
    case "GET":
      return 0;
    case "HEAD":
      return 1;
    case "POST":
      return 2;
    case "PUT":
      return 3;
    case "DELETE":
      return 4;
    case "CONNECT":
      return 5;
    case "OPTIONS":
      return 6;
    case "TRACE":
      return 7;
    case "PATCH":
      return 8;
    default:
      return OTHER;
  }
}

export class ServerMetrics {
  /** Requests by method × status: `counts[method * 500 + status - 100]`. */
  readonly #requests = new Float64Array(METRIC_METHODS.length * STATUSES);
  /** Observations per duration bucket; the last one is above the last bound. */
  readonly #buckets = new Float64Array(DURATION_BOUNDS.length + 1);
  #durationSum = 0;
  #bytes = 0;

  /** Counts one exchange. */
  record(r: AccessRecord): void {
    const method = r.request === null ? OTHER : methodIndex(r.request.method);
    let status = r.status === 0 ? NO_RESPONSE_STATUS : r.status;
    if (status < FIRST_STATUS || status >= FIRST_STATUS + STATUSES) status = 599;
    const cell = method * STATUSES + status - FIRST_STATUS;
    this.#requests[cell] = (this.#requests[cell] as number) + 1;
    this.#bytes += r.bytes;
    const seconds = r.durationMs / 1000;
    this.#durationSum += seconds;
    let bucket = 0;
    while (bucket < DURATION_BOUNDS.length && seconds > (DURATION_BOUNDS[bucket] as number)) {
      bucket++;
    }
    this.#buckets[bucket] = (this.#buckets[bucket] as number) + 1;
  }

  /** The whole exposition: these counters and `snapshot`. */
  render(snapshot: MetricsSnapshot): string {
    const out = new Exposition();
    out.family(
      "http_requests_total",
      "counter",
      "Requests answered, by method (other: unregistered or unreadable) and status code (499: no response sent).",
    );
    for (let m = 0; m < METRIC_METHODS.length; m++) {
      for (let s = 0; s < STATUSES; s++) {
        const n = this.#requests[m * STATUSES + s] as number;
        if (n === 0) continue;
        out.sample("http_requests_total", [
          ["method", METRIC_METHODS[m] as string],
          ["code", String(FIRST_STATUS + s)],
        ], n);
      }
    }
    out.family("http_response_bytes_total", "counter", "Response body bytes written.")
      .sample("http_response_bytes_total", [], this.#bytes);
    out.family(
      "http_request_duration_seconds",
      "histogram",
      "Time from a complete request head to the last response byte (0 for a refused head).",
    ).histogram("http_request_duration_seconds", DURATION_BOUNDS, this.#buckets, this.#durationSum);
    out.family("denohttpd_connections_open", "gauge", "Client connections open.")
      .sample("denohttpd_connections_open", [], snapshot.connectionsOpen);
    out.family("denohttpd_pool_busy", "gauge", "Workers serving a request.")
      .sample("denohttpd_pool_busy", [], snapshot.poolBusy);
    out.family("denohttpd_pool_size", "gauge", "Workers in the pool (--pool).")
      .sample("denohttpd_pool_size", [], snapshot.poolSize);
    out.family("denohttpd_queue_length", "gauge", "Requests waiting for a worker.")
      .sample("denohttpd_queue_length", [], snapshot.queueLength);
    out.family("denohttpd_uploads_total", "counter", "Uploads to /upload, by how they ended.");
    for (const result of UPLOAD_RESULTS) {
      out.sample("denohttpd_uploads_total", [["result", result]], snapshot.uploads[result]);
    }
    out.family(
      "denohttpd_cache_hits_total",
      "counter",
      "File lookups answered from the small-file cache.",
    ).sample("denohttpd_cache_hits_total", [], snapshot.cacheHits);
    out.family(
      "denohttpd_cache_misses_total",
      "counter",
      "File lookups the small-file cache could not answer (not cached, changed, or too large).",
    ).sample("denohttpd_cache_misses_total", [], snapshot.cacheMisses);
    out.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
      .sample("process_resident_memory_bytes", [], snapshot.residentBytes);
    out.family(
      "process_start_time_seconds",
      "gauge",
      "Start time of the process since the Unix epoch in seconds.",
    ).sample("process_start_time_seconds", [], snapshot.startTimeSeconds);
    return out.text;
  }
}
