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
 * - With several listener threads (`--threads`) each thread's counters live in its own region
 *   of one SharedArrayBuffer, written by that thread alone (no atomic operation on the request
 *   path), and `render` sums the regions of all threads: /metrics served by any thread reports
 *   the whole server. A thread's gauges (connections, pool, queue, cache) reach the others as
 *   it last published them (`publish`, every 100 ms and at every scrape it serves); its upload
 *   counters are written in its region as they change.
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

const REQUEST_CELLS = METRIC_METHODS.length * STATUSES;
const BUCKET_CELLS = DURATION_BOUNDS.length + 1;
/** Where each part of a thread's region starts, in cells (Float64). */
const TOTALS_AT = REQUEST_CELLS + BUCKET_CELLS;
const GAUGES_AT = TOTALS_AT + 2;
const GAUGE_CELLS = 6;
const UPLOADS_AT = GAUGES_AT + GAUGE_CELLS;
const REGION_CELLS = UPLOADS_AT + UPLOAD_RESULTS.length;

/** Several threads' counters in one SharedArrayBuffer (see `ServerMetrics.bytesFor`). */
export interface SharedMetrics {
  buffer: SharedArrayBuffer;
  /** This thread's region, 0-based. */
  thread: number;
  threads: number;
  /** When the process started (the main thread's), Unix time in seconds. */
  startTimeSeconds: number;
}

export class ServerMetrics {
  /** Bytes of the SharedArrayBuffer `threads` threads' counters need. */
  static bytesFor(threads: number): number {
    return REGION_CELLS * 8 * threads;
  }

  /** Every thread's region (one, without threads); this thread's is `#cells`. */
  readonly #regions: readonly Float64Array[];
  readonly #cells: Float64Array;
  /** Requests by method × status: `counts[method * 500 + status - 100]`. */
  readonly #requests: Float64Array;
  /** Observations per duration bucket; the last one is above the last bound. */
  readonly #buckets: Float64Array;
  /** [sum of durations in seconds, response body bytes] */
  readonly #totals: Float64Array;
  readonly #shared: SharedMetrics | null;

  constructor(shared: SharedMetrics | null = null) {
    this.#shared = shared;
    if (shared === null) {
      this.#regions = [new Float64Array(REGION_CELLS)];
    } else {
      this.#regions = Array.from(
        { length: shared.threads },
        (_, t) => new Float64Array(shared.buffer, t * REGION_CELLS * 8, REGION_CELLS),
      );
    }
    this.#cells = this.#regions[shared?.thread ?? 0] as Float64Array;
    this.#requests = this.#cells.subarray(0, REQUEST_CELLS);
    this.#buckets = this.#cells.subarray(REQUEST_CELLS, TOTALS_AT);
    this.#totals = this.#cells.subarray(TOTALS_AT, GAUGES_AT);
  }

  /**
   * Upload counters kept in this thread's region, for `Uploads.results`: with threads, what
   * the other threads' scrapes add up as it happens.
   */
  uploadCounters(): Record<UploadResult, number> {
    const cells = this.#cells;
    const counters = {} as Record<UploadResult, number>;
    UPLOAD_RESULTS.forEach((result, i) => {
      Object.defineProperty(counters, result, {
        enumerable: true,
        get: () => cells[UPLOADS_AT + i] as number,
        set: (value: number) => {
          cells[UPLOADS_AT + i] = value;
        },
      });
    });
    return counters;
  }

  /** Writes this thread's gauges where the other threads' scrapes read them. */
  publish(snapshot: MetricsSnapshot): void {
    const cells = this.#cells;
    cells[GAUGES_AT] = snapshot.connectionsOpen;
    cells[GAUGES_AT + 1] = snapshot.poolBusy;
    cells[GAUGES_AT + 2] = snapshot.poolSize;
    cells[GAUGES_AT + 3] = snapshot.queueLength;
    cells[GAUGES_AT + 4] = snapshot.cacheHits;
    cells[GAUGES_AT + 5] = snapshot.cacheMisses;
  }

  /** Counts one exchange. */
  record(r: AccessRecord): void {
    const method = r.request === null ? OTHER : methodIndex(r.request.method);
    let status = r.status === 0 ? NO_RESPONSE_STATUS : r.status;
    if (status < FIRST_STATUS || status >= FIRST_STATUS + STATUSES) status = 599;
    const cell = method * STATUSES + status - FIRST_STATUS;
    this.#requests[cell] = (this.#requests[cell] as number) + 1;
    const totals = this.#totals;
    totals[1] = (totals[1] as number) + r.bytes;
    const seconds = r.durationMs / 1000;
    totals[0] = (totals[0] as number) + seconds;
    let bucket = 0;
    while (bucket < DURATION_BOUNDS.length && seconds > (DURATION_BOUNDS[bucket] as number)) {
      bucket++;
    }
    this.#buckets[bucket] = (this.#buckets[bucket] as number) + 1;
  }

  /**
   * The whole exposition: these counters and `snapshot`; with threads, every thread's counters
   * and gauges added up (this thread's gauges from `snapshot`).
   */
  render(snapshot: MetricsSnapshot): string {
    const sum = this.#shared === null ? this.#cells : this.#sumOfThreads(snapshot);
    const requests = sum.subarray(0, REQUEST_CELLS);
    const totals = sum.subarray(TOTALS_AT, GAUGES_AT);
    const all: MetricsSnapshot = this.#shared === null ? snapshot : {
      connectionsOpen: sum[GAUGES_AT] as number,
      poolBusy: sum[GAUGES_AT + 1] as number,
      poolSize: sum[GAUGES_AT + 2] as number,
      queueLength: sum[GAUGES_AT + 3] as number,
      cacheHits: sum[GAUGES_AT + 4] as number,
      cacheMisses: sum[GAUGES_AT + 5] as number,
      uploads: Object.fromEntries(
        UPLOAD_RESULTS.map((result, i) => [result, sum[UPLOADS_AT + i] as number]),
      ) as Record<UploadResult, number>,
      // One process: its memory is the same whichever thread reads it.
      residentBytes: snapshot.residentBytes,
      startTimeSeconds: this.#shared.startTimeSeconds,
    };
    return render(all, requests, sum.subarray(REQUEST_CELLS, TOTALS_AT), totals);
  }

  /** Every region added up, after publishing this thread's gauges from `snapshot`. */
  #sumOfThreads(snapshot: MetricsSnapshot): Float64Array {
    this.publish(snapshot);
    const sum = new Float64Array(REGION_CELLS);
    for (const region of this.#regions) {
      for (let i = 0; i < REGION_CELLS; i++) sum[i] = (sum[i] as number) + (region[i] as number);
    }
    return sum;
  }
}

/** The exposition of `snapshot` and the exchange counters. */
function render(
  snapshot: MetricsSnapshot,
  requests: Float64Array,
  buckets: Float64Array,
  totals: Float64Array,
): string {
  const out = new Exposition();
  out.family(
    "http_requests_total",
    "counter",
    "Requests answered, by method (other: unregistered or unreadable) and status code (499: no response sent).",
  );
  for (let m = 0; m < METRIC_METHODS.length; m++) {
    for (let s = 0; s < STATUSES; s++) {
      const n = requests[m * STATUSES + s] as number;
      if (n === 0) continue;
      out.sample("http_requests_total", [
        ["method", METRIC_METHODS[m] as string],
        ["code", String(FIRST_STATUS + s)],
      ], n);
    }
  }
  out.family("http_response_bytes_total", "counter", "Response body bytes written.")
    .sample("http_response_bytes_total", [], totals[1] as number);
  out.family(
    "http_request_duration_seconds",
    "histogram",
    "Time from a complete request head to the last response byte (0 for a refused head).",
  ).histogram("http_request_duration_seconds", DURATION_BOUNDS, buckets, totals[0] as number);
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
