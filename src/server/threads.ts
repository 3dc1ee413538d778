/**
 * `--threads N`: N listener threads (Deno workers running thread_main.ts), each with its own
 * listener on the same port (SO_REUSEPORT: the kernel spreads new connections between them),
 * run by the main thread, which serves nothing itself. It prepares the site once, chooses the
 * ports, writes every thread's log lines, owns the signals, and says once for all threads what a
 * single-threaded server says: where it listens, the periodic snapshot, the stop and its
 * summary, certificate reloads.
 *
 * What the threads share and what they split:
 * - Shared exactly (SharedArrayBuffer + Atomics): the storage bound of the uploads folder
 *   (UploadSpace), the upload rate and the failed-login limit per address (SharedRateLimiter),
 *   the /metrics counters (ServerMetrics regions, summed by whichever thread is scraped).
 * - Shared too: the bound of the queue (`--queue`), one count of the requests waiting in all
 *   threads (WorkerPool), taken only when a request must wait; each thread keeps the FIFO order
 *   of the requests it accepted.
 * - Split: the pool (`--pool`) into consecutive shares, one per thread (`share`), so at most
 *   `--pool` requests are served at once; a request waits for a worker of the thread that
 *   accepted its connection. The password checks at once (`authMaxPendingChecks`) likewise, each
 *   thread with its own checker thread; the cache of verified credentials is per thread.
 * - Once, on the main thread, before any thread accepts: the removal of temporary uploads a
 *   crash left and the measurement of the uploads folder; reading the certificate pair.
 *
 * Invariants:
 * - A thread that cannot start stops the start: the others are ended, one line is logged, and
 *   the exit status is the thread's (1, or 2 for unusable input).
 * - `stop()` reaches every thread; it resolves when all have stopped, each having sent every
 *   line first, and then logs one snapshot and one summary of all of them.
 */

import type { ServerConfig } from "../config.ts";
import { SharedRateLimiter } from "../handlers/rate_limit.ts";
import { UploadSpace } from "../handlers/upload_store.ts";
import { writeForwarded } from "../log.ts";
import { endpointsFor, loadPair, probePorts } from "./endpoint.ts";
import {
  type EngineSnapshot,
  LOG_REPORT,
  logListening,
  logSnapshot,
  logTls,
  type ShutdownSummary,
} from "./listener.ts";
import { ServerMetrics } from "./metrics.ts";
import { prepareSite, StartupError } from "./startup.ts";
import {
  type FromThread,
  type SharedBuffers,
  sumSnapshots,
  type ToThread,
} from "./thread_messages.ts";
import { CertificateReloader, type LoadedPair, type TlsPair } from "./tls.ts";
import { canSharePort } from "./tls_listener.ts";

/** How long a thread gets to answer a snapshot request before the line goes without it. */
const SNAPSHOT_ANSWER_MS = 1_000;

/** The running threads, as main.ts uses a server. */
export interface ThreadedServer {
  readonly hostname: string;
  readonly port: number;
  readonly httpsPort: number | null;
  readonly threads: number;
  /** Reloads the certificate in every thread (one line says how it went). */
  reload(trigger: string): Promise<void>;
  stop(): Promise<ShutdownSummary>;
  /** Resolves with a message if a thread fails while serving (the caller then stops the rest). */
  readonly failed: Promise<string>;
}

/**
 * Why `config.threads` threads cannot run in this process, in one line naming what to add; null
 * when they can. Threads share the port with SO_REUSEPORT, which Deno gives only with
 * `--unstable-net`; and a worker thread loads the program's modules from disk, which the
 * sandbox must let it read (the main thread's modules need no permission, a worker's do).
 */
export function threadsUnavailable(config: Pick<ServerConfig, "threads">): string | null {
  const n = config.threads;
  if (!canSharePort()) {
    return `--threads ${n} needs Deno's --unstable-net (the threads share the port with SO_REUSEPORT): ` +
      "add it before main.ts, as deno task start:threads does";
  }
  const modules = decodeURIComponent(new URL("../", import.meta.url).pathname).replace(/\/$/, "");
  if (Deno.permissions.querySync({ name: "read", path: modules }).state !== "granted") {
    const cwd = Deno.cwd();
    const shown = modules.startsWith(`${cwd}/`) ? modules.slice(cwd.length + 1) : modules;
    return `--threads ${n} needs read access to the program's modules (${shown}), which each thread loads: ` +
      `add it to --allow-read (e.g. --allow-read=resources,${shown}), as deno task start:threads does`;
  }
  return null;
}

/** One listener thread, as the main thread sees it. */
class ThreadHandle {
  readonly index: number;
  readonly worker: Worker;
  readonly ready = Promise.withResolvers<void>();
  readonly stopping = Promise.withResolvers<{ open: number; busy: number }>();
  readonly stopped = Promise.withResolvers<
    { summary: ShutdownSummary; snapshot: EngineSnapshot } | null
  >();
  readonly #answers = new Map<number, (message: FromThread | null) => void>();
  #nextId = 1;
  #gone = false;

  constructor(index: number, onFailure: (message: string) => void) {
    this.index = index;
    this.worker = new Worker(new URL("./thread_main.ts", import.meta.url), {
      type: "module",
      name: `denohttpd thread ${index + 1}`,
    });
    this.worker.onmessage = (event: MessageEvent) => this.#receive(event.data as FromThread);
    this.worker.onerror = (event: ErrorEvent) => {
      // An uncaught error ends the thread (not the process): it is reported, and the caller
      // stops the others.
      event.preventDefault();
      const message = `thread ${index + 1} failed: ${event.message}`;
      this.#end();
      this.ready.reject(new StartupError(message));
      onFailure(message);
    };
    // Unhandled rejections while it starts are reported by `ready`.
    this.ready.promise.catch(() => {});
  }

  send(message: ToThread): void {
    if (!this.#gone) this.worker.postMessage(message);
  }

  /** Sends a request with a fresh id; resolves with the answer, or null after `timeoutMs`. */
  ask(
    make: (id: number) => ToThread,
    timeoutMs: number,
  ): Promise<FromThread | null> {
    if (this.#gone) return Promise.resolve(null);
    const id = this.#nextId++;
    const { promise, resolve } = Promise.withResolvers<FromThread | null>();
    const timer = timeoutMs > 0 ? setTimeout(() => resolve(null), timeoutMs) : undefined;
    this.#answers.set(id, (answer) => {
      clearTimeout(timer);
      resolve(answer);
    });
    this.send(make(id));
    return promise.finally(() => this.#answers.delete(id));
  }

  terminate(): void {
    this.#end();
    this.worker.terminate();
  }

  #receive(message: FromThread): void {
    switch (message.type) {
      case "log":
        writeForwarded(message.lines);
        break;
      case "ready":
        this.ready.resolve();
        break;
      case "failed":
        this.ready.reject(new StartupError(message.message, { exitStatus: message.exitStatus }));
        break;
      case "stopping":
        this.stopping.resolve({ open: message.open, busy: message.busy });
        break;
      case "stopped":
        this.stopped.resolve({ summary: message.summary, snapshot: message.snapshot });
        break;
      case "reloaded":
      case "snapshot":
        this.#answers.get(message.id)?.(message);
        break;
    }
  }

  /** The thread is gone: nothing more will come from it. */
  #end(): void {
    this.#gone = true;
    this.stopping.resolve({ open: 0, busy: 0 });
    this.stopped.resolve(null);
    for (const answer of this.#answers.values()) answer(null);
  }
}

/**
 * Starts `config.threads` listener threads on the ports `config` names (see the module
 * comment). Throws StartupError as `startServer` does.
 */
export async function startThreads(config: ServerConfig): Promise<ThreadedServer> {
  const n = config.threads;
  const space = new SharedArrayBuffer(UploadSpace.BYTES);
  // Once for all threads: leftovers removed, the folder measured, the start-up warnings logged.
  const prepared = await prepareSite(config, { space: new UploadSpace(space), watch: false });
  const root = prepared.site.root.real;
  const freeSpaceKnown = prepared.freeSpaceKnown;
  const withUsers = prepared.site.auth !== null;
  prepared.close();
  const tls = config.tlsCert !== null && config.tlsKey !== null;
  const pair: LoadedPair | null = tls
    ? await loadPair(config.tlsCert as string, config.tlsKey as string)
    : null;
  const ports = probePorts(config);
  const shared: SharedBuffers = {
    space,
    queued: new SharedArrayBuffer(4),
    uploadRate: config.uploadRatePerSecond > 0
      ? new SharedArrayBuffer(SharedRateLimiter.BYTES)
      : null,
    authFailures: withUsers && config.authFailuresPerMinute > 0
      ? new SharedArrayBuffer(SharedRateLimiter.BYTES)
      : null,
    metrics: config.metrics ? new SharedArrayBuffer(ServerMetrics.bytesFor(n)) : null,
  };

  const failed = Promise.withResolvers<string>();
  let serving = false;
  const threads = Array.from({ length: n }, (_, index) =>
    new ThreadHandle(index, (message) => {
      if (serving) failed.resolve(message);
    }));
  for (const thread of threads) {
    thread.send({
      type: "init",
      config,
      thread: thread.index,
      threads: n,
      ports,
      pair,
      freeSpaceKnown,
      shared,
      startTimeSeconds: performance.timeOrigin / 1000,
    });
  }
  try {
    await Promise.all(threads.map((thread) => thread.ready.promise));
  } catch (error) {
    for (const thread of threads) thread.terminate();
    throw error;
  }
  serving = true;
  const started = Date.now();
  const endpoints = endpointsFor(config, ports);
  logListening(config, { hostname: ports.hostname, endpoints, root, threads: n });

  let reloader: CertificateReloader | null = null;
  if (pair !== null) {
    reloader = new CertificateReloader(
      { reload: (next) => reloadAll(threads, next) },
      { certPath: config.tlsCert as string, keyPath: config.tlsKey as string },
      pair,
    );
    logTls(config, endpoints, { pair });
    if (config.tlsWatchFiles) reloader.watch(config.tlsReloadDebounceMs);
  }

  const snapshotTimer = config.snapshotIntervalMs > 0
    ? setInterval(async () => logSnapshot(await snapshotOf(threads)), config.snapshotIntervalMs)
    : 0;
  if (snapshotTimer !== 0) Deno.unrefTimer(snapshotTimer);

  let stopping: Promise<ShutdownSummary> | null = null;
  const stop = (): Promise<ShutdownSummary> => {
    if (stopping !== null) {
      // A second stop ends the drain at once, in every thread.
      for (const thread of threads) thread.send({ type: "stop" });
      return stopping;
    }
    if (config.drainMs > 0) LOG_REPORT.draining(config.drainMs / 1000);
    for (const thread of threads) thread.send({ type: "stop" });
    reloader?.close();
    if (snapshotTimer !== 0) clearInterval(snapshotTimer);
    stopping = (async () => {
      const begun = await Promise.all(threads.map((thread) => thread.stopping.promise));
      LOG_REPORT.stopping(
        begun.reduce((sum, b) => sum + b.open, 0),
        begun.reduce((sum, b) => sum + b.busy, 0),
      );
      const ends = (await Promise.all(threads.map((thread) => thread.stopped.promise)))
        .filter((end) => end !== null);
      const summary: ShutdownSummary = {
        connections: 0,
        requests: 0,
        served: 0,
        refused: 0,
        cut: 0,
        forced: 0,
        uptimeMs: Date.now() - started,
      };
      for (const { summary: s } of ends) {
        summary.connections += s.connections;
        summary.requests += s.requests;
        summary.served += s.served;
        summary.refused += s.refused;
        summary.cut += s.cut;
        summary.forced += s.forced;
      }
      LOG_REPORT.stopped(summary, sumSnapshots(ends.map((end) => end.snapshot)));
      for (const thread of threads) thread.terminate();
      return summary;
    })();
    return stopping;
  };

  return {
    hostname: ports.hostname,
    port: (endpoints[0] as { port: number }).port,
    httpsPort: tls ? (ports.httpsPort ?? ports.port) : null,
    threads: n,
    reload: (trigger) => reloader?.reload(trigger) ?? Promise.resolve(),
    stop,
    failed: failed.promise,
  };
}

/** Every thread's snapshot as one (a thread that does not answer in time counts as empty). */
async function snapshotOf(threads: readonly ThreadHandle[]): Promise<EngineSnapshot> {
  const answers = await Promise.all(
    threads.map((thread) => thread.ask((id) => ({ type: "snapshot", id }), SNAPSHOT_ANSWER_MS)),
  );
  return sumSnapshots(
    answers.flatMap((answer) => answer?.type === "snapshot" ? [answer.snapshot] : []),
  );
}

/** Gives every thread's HTTPS listener `pair`; throws naming the threads where it failed. */
async function reloadAll(threads: readonly ThreadHandle[], pair: TlsPair): Promise<void> {
  const answers = await Promise.all(
    threads.map((thread) => thread.ask((id) => ({ type: "reload", id, pair }), 0)),
  );
  const problems: string[] = [];
  answers.forEach((answer, i) => {
    const error = answer?.type === "reloaded" ? answer.error : "the thread is gone";
    if (error !== null) problems.push(`thread ${i + 1}: ${error}`);
  });
  if (problems.length === 0) return;
  const reloaded = threads.length - problems.length;
  throw new Error(
    `${problems.join("; ")}${reloaded > 0 ? ` (${reloaded} other thread(s) use the new one)` : ""}`,
  );
}
