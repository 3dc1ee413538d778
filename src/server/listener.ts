/**
 * The running server: the engine that serves any listener, and its graceful stop.
 *
 * `startServer` = `prepareSite` (startup.ts) + `openEndpoints` (endpoint.ts: plain HTTP, HTTPS,
 * or both as one listener group) + `serve`; `serve` takes any `Deno.Listener` (TCP or TLS)
 * without knowing which, like Go's `Server.Serve`; what a connection must know about its
 * listener (the scheme, for Host, HSTS and the redirect) it reads as data from ServerState.
 *
 * Invariants:
 * - Accept failures never end the loop while running (accept.ts decides how soon to retry).
 * - Deadlines of all connections are enforced by one sweeper timer, not a timer per read.
 * - `stop()` first drains for `drainMs` (0 by default): it goes on accepting and serving, but
 *   `/healthz` answers 503 and every response closes its connection, so a balancer that probes
 *   takes the server out of rotation, and persistent clients reconnect elsewhere, before any
 *   connection is refused. A second `stop()` ends the drain at once. Then it stops accepting,
 *   answers requests still waiting for a worker `503` at once (after a drain: serves them within
 *   the grace, refusing only those still waiting at its end), closes idle connections (one
 *   accepted under a second ago that has sent nothing yet first gets to send its request), lets
 *   requests in flight finish until `shutdownGraceMs`, then closes the rest; it resolves once
 *   every connection has ended and logged its last line.
 * - With listener threads (threads.ts) each thread runs `serve` on its own listener; what the
 *   stop reports goes to the main thread (`ServeOptions.report`), which logs it once for all.
 */

import type { ServerConfig } from "../config.ts";
import { AddressRanges } from "../http/forwarded.ts";
import { log } from "../log.ts";
import { acceptLoop } from "./accept.ts";
import { Connection } from "./connection.ts";
import { type Endpoint, type OpenedEndpoints, openEndpoints } from "./endpoint.ts";
import { ServerMetrics } from "./metrics.ts";
import { type PoolSnapshot, WorkerPool } from "./pool.ts";
import { ServerState } from "./state.ts";
import { logAcceptedHosts, type PreparedSite, prepareSite } from "./startup.ts";
import { CertificateReloader, type LoadedPair, validityWarning } from "./tls.ts";
import { canSharePort, type HandshakeStatus } from "./tls_listener.ts";

const SWEEP_INTERVAL_MS = 250;
/** After the deadline, how long connections closed by force get to log their last lines. */
const LAST_LINES_MS = 1_000;
/** At the deadline after a drain, how long the refusals of requests still queued get. */
const LAST_REFUSALS_MS = 50;

export interface ShutdownSummary {
  connections: number;
  requests: number;
  /** Responses written whole. */
  served: number;
  /** Requests waiting for a worker when the stop began, answered 503. */
  refused: number;
  /** Exchanges cut short at the deadline. */
  cut: number;
  /** Connections still busy at the deadline and closed anyway. */
  forced: number;
  uptimeMs: number;
}

/** The pool's snapshot with the connections open, requests read and connections lost. */
export interface EngineSnapshot extends PoolSnapshot {
  open: number;
  requests: number;
  /** Connections lost before they could be accepted. */
  lost: number;
}

/** What the stop says, and where: the log by default (`LOG_REPORT`). */
export interface StopReport {
  /** The drain window (`--drain`) begins. */
  draining(seconds: number): void;
  /** The stop proper begins: connections open and requests in flight. */
  stopping(open: number, busy: number): void;
  /** The stop is over; every connection has logged its last line. */
  stopped(summary: ShutdownSummary, snapshot: EngineSnapshot): void;
}

export const LOG_REPORT: StopReport = {
  draining: (seconds) => {
    log.server.info(
      "draining for {seconds} s: /healthz answers 503, responses close their connections, new ones still accepted; stop again to end the drain now",
      { seconds },
    );
  },
  stopping: (open, busy) => {
    log.server.info("stopping: no new connections; {open} open, {busy} request(s) in flight", {
      open,
      busy,
    });
  },
  stopped: (summary, snapshot) => {
    logSnapshot(snapshot);
    log.server.info(
      "stopped after {uptimeMs} ms: {connections} connection(s), {requests} request(s); {served} response(s) served, {refused} refused at the stop, {cut} cut at the deadline ({forced} connection(s) closed at the deadline)",
      { ...summary },
    );
  },
};

/** The periodic (and final) snapshot line. */
export function logSnapshot(s: EngineSnapshot): void {
  log.pool.info(
    "snapshot: workers busy {busy}/{size}, queued {queued}, open connections {open}, requests served {requests}, connections lost before accept {lost}",
    { ...s },
  );
}

export interface ServeOptions {
  /** The first connection id (default 1) and the step to the next (default 1). */
  firstId?: number;
  idStep?: number;
  /** Where the stop's lines go (default: the log). */
  report?: StopReport;
}

export interface RunningServer {
  readonly hostname: string;
  /** The port `--port` names (HTTPS on it when it speaks TLS). */
  readonly port: number;
  /** The port HTTPS is served on (`port` itself, or `--https-port`); null without TLS. */
  readonly httpsPort: number | null;
  readonly state: ServerState;
  /**
   * Reloads what can be reloaded without a restart (the TLS certificate); `trigger` names why
   * in the log. Never throws: a failure is logged and what was in use stays.
   */
  reload(trigger: string): Promise<void>;
  /** The HTTPS listener's handshakes now; null without TLS. */
  handshakes(): HandshakeStatus | null;
  /** Workers, queue, connections and requests now. */
  snapshot(): EngineSnapshot;
  stop(): Promise<ShutdownSummary>;
}

export interface StartOptions {
  /**
   * Puts another listener in front of the one opened (same address): bench/engine.ts drives the
   * whole engine with scripted connections this way, without sockets.
   */
  wrapListener?: (listener: Deno.Listener) => Deno.Listener;
}

export async function startServer(
  config: ServerConfig,
  options: StartOptions = {},
): Promise<RunningServer> {
  const prepared = await prepareSite(config);
  let opened: OpenedEndpoints;
  try {
    opened = await openEndpoints(config);
  } catch (error) {
    prepared.close();
    throw error;
  }
  const { endpoints, https } = opened;
  const listener = options.wrapListener?.(opened.listener) ?? opened.listener;
  const state = engineState(config, prepared, endpoints, {
    pool: new WorkerPool(config.poolSize, config.queueLimit),
    metrics: config.metrics ? new ServerMetrics() : null,
  });
  logListening(config, {
    hostname: (listener.addr as Deno.NetAddr).hostname,
    endpoints,
    root: prepared.site.root.real,
  });
  const running = serve(listener, state, prepared);
  if (https === null) return running;

  const reloader = new CertificateReloader(https.listener, {
    certPath: config.tlsCert as string,
    keyPath: config.tlsKey as string,
  }, https.pair);
  logTls(config, endpoints, https);
  if (config.tlsWatchFiles && canSharePort()) reloader.watch(config.tlsReloadDebounceMs);
  return {
    ...running,
    httpsPort: https.listener.addr.port,
    reload: (trigger) => reloader.reload(trigger),
    handshakes: () => https.listener.status,
    stop: () => {
      reloader.close();
      return running.stop();
    },
  };
}

/** The state one engine's connections share: its pool and counters, the site, the endpoints. */
export function engineState(
  config: ServerConfig,
  prepared: PreparedSite,
  endpoints: readonly Endpoint[],
  parts: { pool: WorkerPool; metrics: ServerMetrics | null },
): ServerState {
  return new ServerState(config, {
    pool: parts.pool,
    site: prepared.site,
    allowedHosts: (endpoints[0] as Endpoint).allowedHosts,
    endpoints,
    metrics: parts.metrics,
    metricsAllowed: AddressRanges.parse(config.metricsAllow),
    trustedProxies: config.trustProxy.length > 0 ? AddressRanges.parse(config.trustProxy) : null,
  });
}

/**
 * The start-up lines: where the server listens, what it serves, with how many workers (and
 * threads, when more than one), which Host values, metrics and trusted proxies.
 */
export function logListening(
  config: ServerConfig,
  info: { hostname: string; endpoints: readonly Endpoint[]; root: string; threads?: number },
): void {
  const { hostname, endpoints } = info;
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  const threads = info.threads ?? 1;
  log.server.info(
    "denohttpd listening on {urls} serving {root} with {pool} workers (queue {queue}){threads}; press Ctrl+C to stop",
    {
      urls: endpoints.map((e) => `${e.scheme}://${shown}:${e.port}/`).join(" and "),
      root: info.root,
      pool: config.poolSize,
      queue: config.queueLimit,
      threads: threads === 1 ? "" : ` in ${threads} threads`,
    },
  );
  logAcceptedHosts(config, unionOf(endpoints.map((e) => e.allowedHosts)));
  if (config.metrics) {
    log.server.info("metrics at /metrics for peers in {ranges}", {
      ranges: config.metricsAllow.join(", "),
    });
  }
  if (config.trustProxy.length > 0) {
    log.server.info("client addresses from Forwarded / X-Forwarded-For of peers in {ranges}", {
      ranges: config.trustProxy.join(", "),
    });
  }
}

/** The start-up lines about HTTPS: the certificate, how to reload it, redirect and HSTS. */
export function logTls(
  config: ServerConfig,
  endpoints: readonly Endpoint[],
  https: { pair: LoadedPair },
): void {
  const reload = canSharePort()
    ? config.tlsWatchFiles ? "reloaded on SIGHUP and when the files change" : "reloaded on SIGHUP"
    : "not reloadable without --unstable-net (restart to change it)";
  const redirect = endpoints.find((e) => e.redirectToPort !== null);
  log.server.info(
    "TLS certificate {description}; {reload}; handshake timeout {timeoutMs} ms{redirect}{hsts}",
    {
      description: https.pair.description,
      reload,
      timeoutMs: config.tlsHandshakeTimeoutMs,
      redirect: redirect === undefined
        ? ""
        : `; plain HTTP on port ${redirect.port} answers 308 to https on port ${redirect.redirectToPort}`,
      hsts: config.hstsSeconds === null
        ? ""
        : `; Strict-Transport-Security: max-age=${config.hstsSeconds}`,
    },
  );
  const warning = validityWarning(https.pair);
  if (warning !== null) log.server.warn("TLS: {warning}", { warning });
}

/** The Host values of every endpoint together (for the log), or null if any accepts all. */
function unionOf(sets: readonly (ReadonlySet<string> | null)[]): ReadonlySet<string> | null {
  if (sets.includes(null)) return null;
  return new Set(sets.flatMap((set) => [...(set as ReadonlySet<string>)]));
}

/** Serves `listener` with the engine until `stop()`; `site` is released at the stop. */
export function serve(
  listener: Deno.Listener,
  state: ServerState,
  site: PreparedSite,
  options: ServeOptions = {},
): RunningServer {
  const started = Date.now();
  const { config, pool } = state;
  const addr = listener.addr as Deno.NetAddr;
  const report = options.report ?? LOG_REPORT;

  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const conn of state.connections) {
      if (conn.deadline !== 0 && now >= conn.deadline) conn.expire();
    }
  }, SWEEP_INTERVAL_MS);
  Deno.unrefTimer(sweeper);

  const snapshot = (): EngineSnapshot => ({
    ...pool.snapshot(),
    open: state.connections.size,
    requests: state.stats.requests,
    lost: state.stats.lostBeforeAccept,
  });
  const snapshotTimer = config.snapshotIntervalMs > 0
    ? setInterval(() => logSnapshot(snapshot()), config.snapshotIntervalMs)
    : 0;
  if (snapshotTimer !== 0) Deno.unrefTimer(snapshotTimer);

  let nextId = options.firstId ?? 1;
  const idStep = options.idStep ?? 1;
  const serving = new Set<Promise<void>>();
  const accepting = acceptLoop(listener, {
    stopping: () => state.stopping,
    onConnection: (conn) => {
      if ("setNoDelay" in conn) {
        try {
          (conn as Deno.TcpConn).setNoDelay(true);
        } catch {
          // Not fatal: the peer may already be gone.
        }
      }
      state.stats.connections++;
      const connection = new Connection(nextId, conn, state);
      nextId += idStep;
      state.connections.add(connection);
      const done = connection.serve();
      serving.add(done);
      done.finally(() => serving.delete(done));
    },
    onLostConnection: (error) => {
      state.stats.lostBeforeAccept++;
      if (log.conn.isEnabledFor("debug")) {
        log.conn.debug("a connection was lost before it could be accepted ({error})", {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    },
  });

  accepting.then(() => {
    if (!state.stopping) log.server.error("the listener closed; no new connections are accepted");
  });

  let stopping: Promise<ShutdownSummary> | null = null;
  let endDrain: (() => void) | null = null;
  const stop = (): Promise<ShutdownSummary> => {
    if (stopping !== null) {
      endDrain?.();
      return stopping;
    }
    stopping = (async () => {
      const drained = config.drainMs > 0;
      if (drained) {
        state.draining = true;
        report.draining(config.drainMs / 1000);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, config.drainMs);
          endDrain = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        endDrain = null;
        state.draining = false;
      }
      state.stopping = true;
      report.stopping(state.connections.size, pool.busy);
      try {
        listener.close();
      } catch {
        // Already closed.
      }
      await accepting;
      // Without a drain, requests queued for a worker get 503 + Retry-After + Connection: close
      // now. After one, a balancer sent them while the listener was open, believing them
      // served: they are, within the grace; only those still waiting at its end are refused.
      if (!drained) pool.close();
      for (const conn of state.connections) conn.closeIfIdle();
      const deadline = Date.now() + config.shutdownGraceMs;
      while (state.connections.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        for (const conn of state.connections) conn.closeIfIdle();
      }
      if (drained && pool.queued > 0) {
        pool.close();
        // Their 503s go out before the connections are closed.
        await new Promise((resolve) => setTimeout(resolve, LAST_REFUSALS_MS));
      }
      const forced = state.connections.size;
      for (const conn of [...state.connections]) conn.forceClose();
      // Every connection logs its access and close lines before the summary.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...serving]),
        new Promise((resolve) => timer = setTimeout(resolve, LAST_LINES_MS)),
      ]);
      clearTimeout(timer);
      site.close();
      clearInterval(sweeper);
      if (snapshotTimer !== 0) clearInterval(snapshotTimer);
      const { stats } = state;
      const summary: ShutdownSummary = {
        connections: stats.connections,
        requests: stats.requests,
        served: Math.max(0, stats.responses - stats.refusedAtStop),
        refused: stats.refusedAtStop,
        cut: stats.cut,
        forced,
        uptimeMs: Date.now() - started,
      };
      report.stopped(summary, snapshot());
      return summary;
    })();
    return stopping;
  };

  return {
    hostname: addr.hostname,
    port: addr.port,
    httpsPort: null,
    state,
    reload: () => Promise.resolve(),
    handshakes: () => null,
    snapshot,
    stop,
  };
}
