/**
 * What the main thread and the listener threads (`--threads`, threads.ts and thread_main.ts)
 * say to each other, and how the pool and the password checks are split between threads.
 *
 * Invariants:
 * - Messages are plain data (structured clone); what the threads share to the byte (the
 *   uploads folder's space, the per-address limits, the metrics) travels as SharedArrayBuffers
 *   in the first message and is never copied afterwards.
 * - A split gives every thread at least one and the threads together exactly the total (when
 *   the total is at least the number of threads); worker numbers are consecutive across
 *   threads, so every worker of the server has its own number.
 */

import type { ServerConfig } from "../config.ts";
import type { ForwardedLines } from "../log.ts";
import type { BoundPorts } from "./endpoint.ts";
import type { EngineSnapshot, ShutdownSummary } from "./listener.ts";
import type { LoadedPair, TlsPair } from "./tls.ts";

/** The buffers every thread counts in (null where the feature is off). */
export interface SharedBuffers {
  /** The uploads folder's space (UploadSpace). */
  space: SharedArrayBuffer;
  /** Requests waiting for a worker in all threads (one Int32, see WorkerPool). */
  queued: SharedArrayBuffer;
  /** `--upload-rate`'s buckets (SharedRateLimiter). */
  uploadRate: SharedArrayBuffer | null;
  /** The failed-login limit's buckets (SharedRateLimiter). */
  authFailures: SharedArrayBuffer | null;
  /** Every thread's metrics region (ServerMetrics). */
  metrics: SharedArrayBuffer | null;
}

/** The first message to a thread: everything it needs to serve. */
export interface ThreadInit {
  type: "init";
  config: ServerConfig;
  /** This thread, 0-based, and how many there are. */
  thread: number;
  threads: number;
  /** The ports the main thread chose; every thread binds them with SO_REUSEPORT. */
  ports: BoundPorts;
  /** The certificate pair, read and checked once by the main thread; null without TLS. */
  pair: LoadedPair | null;
  /** Whether free space on the uploads disk can be measured (found by the main thread). */
  freeSpaceKnown: boolean;
  shared: SharedBuffers;
  /** When the process started (the main thread's time origin), Unix time in seconds. */
  startTimeSeconds: number;
}

export type ToThread =
  | ThreadInit
  /** Stop gracefully (a second one ends the drain, as a second signal does). */
  | { type: "stop" }
  /** Serve new connections with `pair` (a certificate reload). */
  | { type: "reload"; id: number; pair: TlsPair }
  /** Answer with a snapshot. */
  | { type: "snapshot"; id: number };

export type FromThread =
  | { type: "log"; lines: ForwardedLines }
  /** Listening and serving. */
  | { type: "ready" }
  /** Could not start; the main thread logs `message` once and exits with `exitStatus`. */
  | { type: "failed"; message: string; exitStatus: 1 | 2 }
  /** The stop proper has begun. */
  | { type: "stopping"; open: number; busy: number }
  /** Stopped; every line of the thread was sent before this message. */
  | { type: "stopped"; summary: ShutdownSummary; snapshot: EngineSnapshot }
  | { type: "reloaded"; id: number; error: string | null }
  | { type: "snapshot"; id: number; snapshot: EngineSnapshot };

/** Thread `thread`'s share of `total`: how many, and the index of its first (0-based). */
export function share(
  total: number,
  threads: number,
  thread: number,
): { size: number; first: number } {
  const base = Math.floor(total / threads);
  const extra = total % threads;
  return {
    size: base + (thread < extra ? 1 : 0),
    first: thread * base + Math.min(thread, extra),
  };
}

/** Several threads' snapshots as one. */
export function sumSnapshots(snapshots: readonly EngineSnapshot[]): EngineSnapshot {
  const sum: EngineSnapshot = {
    busy: 0,
    size: 0,
    queued: 0,
    served: 0,
    rejected: 0,
    open: 0,
    requests: 0,
    lost: 0,
  };
  for (const s of snapshots) {
    for (const key of Object.keys(sum) as (keyof EngineSnapshot)[]) sum[key] += s[key];
  }
  return sum;
}
