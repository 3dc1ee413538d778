/**
 * A listener thread (`--threads`, see threads.ts): the program of one Deno worker. It runs the
 * same engine as a single-threaded server (`serve` of listener.ts) on a listener of its own,
 * bound to the port every thread shares (SO_REUSEPORT), with its share of the pool, and one
 * bound of the queue for all threads.
 *
 * Invariants:
 * - It writes nothing itself: its log lines go to the main thread in batches (log.ts), which
 *   writes them; it owns no signal (the main thread forwards stops and reloads).
 * - Connection ids are `thread + 1 + k * threads` (k = 0, 1, …): unique across threads, and
 *   the id says which thread served it.
 * - Its stop's counts go to the main thread, which logs one summary for all threads; its last
 *   message is `stopped`, sent after every line it logged.
 */

import { flushLogging, setupLogging } from "../log.ts";
import { SharedRateLimiter } from "../handlers/rate_limit.ts";
import { UploadSpace } from "../handlers/upload_store.ts";
import { type OpenedEndpoints, openEndpoints } from "./endpoint.ts";
import {
  type EngineSnapshot,
  engineState,
  type RunningServer,
  serve,
  type ShutdownSummary,
} from "./listener.ts";
import { ServerMetrics } from "./metrics.ts";
import { WorkerPool } from "./pool.ts";
import { prepareSite, StartupError } from "./startup.ts";
import { type FromThread, share, type ThreadInit, type ToThread } from "./thread_messages.ts";

/** How often the thread's gauges are published for the other threads' /metrics. */
const PUBLISH_MS = 100;

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(message: FromThread, transfer?: Transferable[]): void;
  close(): void;
};

function post(message: FromThread): void {
  scope.postMessage(message);
}

let server: RunningServer | null = null;
let opened: OpenedEndpoints | null = null;
let stopping = false;
/** Resolves when the main thread asks for the stop. */
const stopAsked = Promise.withResolvers<void>();

scope.onmessage = (event: MessageEvent) => {
  const message = event.data as ToThread;
  switch (message.type) {
    case "init":
      start(message).catch((error) => {
        const failed: FromThread = error instanceof StartupError
          ? { type: "failed", message: error.message, exitStatus: error.exitStatus }
          : {
            type: "failed",
            message: error instanceof Error ? error.message : String(error),
            exitStatus: 1,
          };
        // What it logged so far (nothing, usually) goes first.
        flushLogging().finally(() => post(failed));
      });
      break;
    case "stop":
      stop();
      break;
    case "reload":
      try {
        const https = opened?.https ?? null;
        if (https === null) throw new Error("no HTTPS listener");
        https.listener.reload(message.pair);
        post({ type: "reloaded", id: message.id, error: null });
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        post({ type: "reloaded", id: message.id, error: text });
      }
      break;
    case "snapshot":
      if (server !== null) post({ type: "snapshot", id: message.id, snapshot: server.snapshot() });
      break;
  }
};

async function start(init: ThreadInit): Promise<void> {
  const { thread, threads, shared } = init;
  // The main thread logs the periodic snapshot for all threads, and watches the certificate.
  const config = { ...init.config, snapshotIntervalMs: 0, tlsWatchFiles: false };
  await setupLogging({
    level: config.logLevel,
    errorLog: config.errorLog,
    accessLog: config.accessLog,
    accessFormat: config.logFormat,
    // The batch's buffer is moved, not copied again.
    forward: (lines) => scope.postMessage({ type: "log", lines }, [lines.bytes.buffer]),
  });
  const metrics = shared.metrics === null ? null : new ServerMetrics({
    buffer: shared.metrics,
    thread,
    threads,
    startTimeSeconds: init.startTimeSeconds,
  });
  const prepared = await prepareSite(config, {
    thread: {
      space: new UploadSpace(shared.space),
      freeSpaceKnown: init.freeSpaceKnown,
      uploadRate: shared.uploadRate === null
        ? null
        : new SharedRateLimiter(config.uploadRatePerSecond, config.uploadBurst, shared.uploadRate),
      authFailures: shared.authFailures === null ? null : new SharedRateLimiter(
        config.authFailuresPerMinute / 60,
        config.authFailureBurst,
        shared.authFailures,
      ),
      authMaxPendingChecks: Math.max(1, share(config.authMaxPendingChecks, threads, thread).size),
      uploadResults: metrics?.uploadCounters() ?? null,
    },
  });
  try {
    opened = await openEndpoints(config, { pair: init.pair ?? undefined, shared: init.ports });
  } catch (error) {
    prepared.close();
    throw error;
  }
  const workers = share(config.poolSize, threads, thread);
  const state = engineState(config, prepared, opened.endpoints, {
    pool: new WorkerPool(
      workers.size,
      config.queueLimit,
      workers.first + 1,
      new Int32Array(shared.queued),
    ),
    metrics,
  });
  const last: { summary: ShutdownSummary; snapshot: EngineSnapshot }[] = [];
  server = serve(opened.listener, state, prepared, {
    firstId: thread + 1,
    idStep: threads,
    report: {
      // The main thread says it once for all threads.
      draining: () => {},
      stopping: (open, busy) => post({ type: "stopping", open, busy }),
      stopped: (summary, snapshot) => {
        last.push({ summary, snapshot });
      },
    },
  });
  if (metrics !== null) {
    const { cache } = prepared.site.root;
    const publish = () => {
      const pool = state.pool.snapshot();
      metrics.publish({
        connectionsOpen: state.connections.size,
        poolBusy: pool.busy,
        poolSize: pool.size,
        queueLength: pool.queued,
        cacheHits: cache.hits,
        cacheMisses: cache.misses,
        uploads: state.site.uploads.results,
        residentBytes: 0,
        startTimeSeconds: init.startTimeSeconds,
      });
    };
    publish();
    const timer = setInterval(publish, PUBLISH_MS);
    Deno.unrefTimer(timer);
    stopAsked.promise.then(() => clearInterval(timer));
  }
  post({ type: "ready" });
  await stopAsked.promise;
  await server.stop();
  // Every line first, then the counts: the main thread's summary comes after them.
  await flushLogging();
  const report = last[0];
  if (report !== undefined) post({ type: "stopped", ...report });
  scope.close();
}

function stop(): void {
  if (stopping) {
    // A second stop ends the drain at once.
    server?.stop();
    return;
  }
  stopping = true;
  stopAsked.resolve();
}
