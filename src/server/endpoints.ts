/**
 * The server's own endpoints, answered without a worker (connection.ts asks here before it
 * takes one): `GET`/`HEAD /healthz` always, `GET`/`HEAD /metrics` with `--metrics`.
 *
 * Invariants:
 * - Nothing here waits (no file, no body, no worker), so a balancer's probe and a scrape are
 *   answered while every worker is busy and the queue is full.
 * - `/healthz` is `200 ok` while serving and `503` (with Retry-After; the connection then
 *   closes) from the moment a stop is asked for, through the drain window and the grace period.
 * - `/metrics` answers only a TCP peer in `--metrics-allow`, never by a forwarded address.
 * - Other methods on these paths, and `/metrics` without `--metrics`, are the router's.
 */

import { EXPOSITION_CONTENT_TYPE } from "../http/exposition.ts";
import { HttpError } from "../http/status.ts";
import type { Exchange, Reply } from "../handlers/reply.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { ServerState } from "./state.ts";

export const HEALTH_PATH = "/healthz";
export const METRICS_PATH = "/metrics";

const ENCODER = new TextEncoder();
const OK_BODY = ENCODER.encode("ok\n");
/** A probe or a scrape reports the moment: no cache may answer for the server. */
const NO_STORE: readonly [string, string] = ["Cache-Control", "no-store"];

/** The reply of an own endpoint, or null when `ex` is for the router. */
export function ownReply(ex: Exchange, server: ServerState): Reply | null {
  const { method } = ex.head;
  if (method !== "GET" && method !== "HEAD") return null;
  if (ex.path === HEALTH_PATH) return health(server);
  if (ex.path === METRICS_PATH && server.metrics !== null) {
    return metrics(ex, server, server.metrics);
  }
  return null;
}

function health(server: ServerState): Reply {
  if (server.shuttingDown) {
    throw new HttpError(503, "shutting down", [
      ["Retry-After", String(server.config.retryAfterSeconds)],
      NO_STORE,
    ]);
  }
  return {
    status: 200,
    fields: [["Content-Type", "text/plain; charset=utf-8"], NO_STORE],
    length: OK_BODY.length,
    body: OK_BODY,
  };
}

function metrics(ex: Exchange, server: ServerState, counters: ServerMetrics): Reply {
  if (!server.metricsAllowed.includes(ex.peer)) {
    throw new HttpError(403, "metrics not served to this address (--metrics-allow)");
  }
  const pool = server.pool.snapshot();
  const { cache } = server.site.root;
  const text = counters.render({
    connectionsOpen: server.connections.size,
    poolBusy: pool.busy,
    poolSize: pool.size,
    queueLength: pool.queued,
    cacheHits: cache.hits,
    cacheMisses: cache.misses,
    uploads: server.site.uploads.results,
    // Needs no permission: the runtime reads its own memory statistics.
    residentBytes: Deno.memoryUsage().rss,
    startTimeSeconds: performance.timeOrigin / 1000,
  });
  const body = ENCODER.encode(text);
  return {
    status: 200,
    fields: [["Content-Type", EXPOSITION_CONTENT_TYPE], NO_STORE],
    length: body.length,
    body,
  };
}
