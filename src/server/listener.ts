/**
 * The running server: start-up checks, the accept loop, timers, and graceful stop.
 *
 * Invariants:
 * - Accept errors never end the loop while running; they back off (5 ms doubling to 1 s).
 * - Deadlines of all connections are enforced by one sweeper timer, not a timer per read.
 * - `stop()` stops accepting, closes idle connections, lets requests in flight finish until
 *   `shutdownGraceMs`, then closes the rest; it resolves once every connection is gone.
 */

import type { ServerConfig } from "../config.ts";
import { allowedHosts } from "../http/host.ts";
import { FileCache } from "../handlers/file_cache.ts";
import { cleanLeftovers } from "../handlers/upload.ts";
import { log } from "../log.ts";
import { Connection } from "./connection.ts";
import { WorkerPool } from "./pool.ts";
import { ServerState } from "./state.ts";
import { staticRoot } from "../handlers/site_root.ts";

const SWEEP_INTERVAL_MS = 250;

/** A start-up problem with a one-line explanation for the operator. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

export interface ShutdownSummary {
  connections: number;
  requests: number;
  /** Connections still busy at the deadline and closed anyway. */
  forced: number;
  uptimeMs: number;
}

export interface RunningServer {
  readonly hostname: string;
  readonly port: number;
  readonly state: ServerState;
  stop(): Promise<ShutdownSummary>;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const started = Date.now();
  let rootReal: string;
  try {
    rootReal = await Deno.realPath(config.root);
    if (!(await Deno.stat(rootReal)).isDirectory) throw new Error("not a directory");
  } catch (error) {
    throw new StartupError(`cannot serve root "${config.root}": ${reason(error)}`);
  }
  const uploadsDir = `${rootReal}/uploads`;
  try {
    await Deno.mkdir(uploadsDir, { recursive: true });
    const removed = await cleanLeftovers(uploadsDir);
    if (removed > 0) {
      log.server.warn("removed {removed} partial upload(s) left by an earlier crash", { removed });
    }
  } catch (error) {
    throw new StartupError(`cannot use uploads folder "${uploadsDir}": ${reason(error)}`);
  }

  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: config.host, port: config.port, transport: "tcp" });
  } catch (error) {
    throw new StartupError(`cannot listen on ${config.host}:${config.port}: ${reason(error)}`);
  }
  const addr = listener.addr as Deno.NetAddr;
  const pool = new WorkerPool(config.poolSize, config.queueLimit);
  const cache = new FileCache(config.fileCacheBytes);
  const cacheFallback = (error: unknown) => {
    log.server.warn(
      "cannot watch {root} for changes ({error}); every cached file is confirmed by a stat",
      { root: rootReal, error: reason(error) },
    );
  };
  if (config.fileCacheValidMs > 0) {
    try {
      cache.watch(rootReal, config.fileCacheValidMs, cacheFallback);
    } catch (error) {
      cacheFallback(error);
    }
  }
  const state = new ServerState(config, {
    pool,
    site: { root: staticRoot(config, { real: rootReal, cache, uploads: uploadsDir }), uploadsDir },
    allowedHosts: allowedHosts(config.host, addr.port),
  });

  const shown = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  log.server.info(
    "denohttpd listening on http://{address}:{port}/ serving {root} with {pool} workers (queue {queue}); press Ctrl+C to stop",
    {
      address: shown,
      port: addr.port,
      root: rootReal,
      pool: config.poolSize,
      queue: config.queueLimit,
    },
  );

  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const conn of state.connections) {
      if (conn.deadline !== 0 && now >= conn.deadline) conn.expire();
    }
  }, SWEEP_INTERVAL_MS);
  Deno.unrefTimer(sweeper);

  const snapshot = () => {
    const s = pool.snapshot();
    log.pool.info(
      "snapshot: workers busy {busy}/{size}, queued {queued}, open connections {open}, requests served {requests}",
      { ...s, open: state.connections.size, requests: state.stats.requests },
    );
  };
  const snapshotTimer = config.snapshotIntervalMs > 0
    ? setInterval(snapshot, config.snapshotIntervalMs)
    : 0;
  if (snapshotTimer !== 0) Deno.unrefTimer(snapshotTimer);

  const acceptLoop = (async () => {
    let backoffMs = 5;
    let nextId = 1;
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (state.stopping) return;
        if (error instanceof Deno.errors.BadResource) return;
        log.server.warn("accept failed ({error}); retrying in {backoffMs} ms", {
          error: reason(error),
          backoffMs,
        });
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 1000);
        continue;
      }
      backoffMs = 5;
      if (state.stopping) {
        conn.close();
        continue;
      }
      try {
        conn.setNoDelay(true);
      } catch {
        // Not fatal: the peer may already be gone.
      }
      state.stats.connections++;
      const connection = new Connection(nextId++, conn, state);
      state.connections.add(connection);
      connection.serve();
    }
  })();

  let stopping: Promise<ShutdownSummary> | null = null;
  const stop = (): Promise<ShutdownSummary> => {
    stopping ??= (async () => {
      state.stopping = true;
      log.server.info("stopping: no new connections; {open} open, {busy} request(s) in flight", {
        open: state.connections.size,
        busy: pool.busy,
      });
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      await acceptLoop;
      for (const conn of state.connections) conn.closeIfIdle();
      const deadline = Date.now() + config.shutdownGraceMs;
      while (state.connections.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        for (const conn of state.connections) conn.closeIfIdle();
      }
      const forced = state.connections.size;
      for (const conn of [...state.connections]) conn.forceClose();
      pool.close();
      cache.close();
      clearInterval(sweeper);
      if (snapshotTimer !== 0) clearInterval(snapshotTimer);
      const summary: ShutdownSummary = {
        connections: state.stats.connections,
        requests: state.stats.requests,
        forced,
        uptimeMs: Date.now() - started,
      };
      snapshot();
      log.server.info(
        "stopped after {uptimeMs} ms: {connections} connection(s), {requests} request(s) served, {forced} closed at the deadline",
        { ...summary },
      );
      return summary;
    })();
    return stopping;
  };

  return { hostname: addr.hostname, port: addr.port, state, stop };
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return "not permitted by the sandbox (check --allow-read / --allow-write / --allow-net)";
  }
  if (error instanceof Deno.errors.NotFound) return "no such file or directory";
  if (error instanceof Deno.errors.AddrInUse) return "address already in use";
  return error instanceof Error ? error.message : String(error);
}
