/**
 * What every connection of one running server shares: config, pool, site, open connections.
 *
 * Invariant: built once per server by listener.ts; connections read it and touch only
 * `connections` (their own entry), `stats` and the per-worker file buffers.
 */

import type { ServerConfig } from "../config.ts";
import { corsCommonFields } from "../http/cors.ts";
import type { ParserLimits } from "../http/parser.ts";
import { commonLines } from "../http/response.ts";
import type { Site } from "../handlers/router.ts";
import type { Connection } from "./connection.ts";
import type { WorkerPool } from "./pool.ts";
import { log, plain, writeAccess } from "../log.ts";
import type { AccessRecord } from "./access_log.ts";
import type { AddressRanges } from "../http/forwarded.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { Endpoint } from "./endpoint.ts";

/** Under sustained load most requests queue briefly; one warning a second says so. */
const SATURATION_WARNING_INTERVAL_MS = 1_000;

export interface ServerStats {
  connections: number;
  requests: number;
  /** Connections reset or aborted before they could be accepted. */
  lostBeforeAccept: number;
  /** Responses written whole. */
  responses: number;
  /** Requests still waiting for a worker when the stop began, answered 503. */
  refusedAtStop: number;
  /** Exchanges cut short at the shutdown deadline. */
  cut: number;
}

export class ServerState {
  readonly config: ServerConfig;
  readonly pool: WorkerPool;
  readonly site: Site;
  /** Host values served (see http/host.ts); null with `--allow-host '*'`. */
  readonly allowedHosts: ReadonlySet<string> | null;
  readonly limits: ParserLimits;
  /** The Keep-Alive field value (RFC 2068 §19.7.1.1), e.g. `timeout=30, max=100`. */
  readonly keepAliveValue: string;
  /** Field lines every response of this server carries (HeadOptions.common). */
  readonly commonHead: string;
  readonly connections = new Set<Connection>();
  readonly stats: ServerStats = {
    connections: 0,
    requests: 0,
    lostBeforeAccept: 0,
    responses: 0,
    refusedAtStop: 0,
    cut: 0,
  };
  /** `--metrics`: the exchange counters, and who may read them; null when off. */
  readonly metrics: ServerMetrics | null;
  readonly metricsAllowed: AddressRanges;
  /** `--trust-proxy`: peers whose forwarding fields name the client; null when none. */
  readonly trustedProxies: AddressRanges | null;
  /** A stop was asked for and the drain window (`--drain`) is running; still accepting. */
  draining = false;
  /** The stop proper: no new connections, queued requests refused. */
  stopping = false;
  /** The endpoints served, by port; the first one also stands for any port not listed. */
  readonly #endpoints: ReadonlyMap<number, Endpoint>;
  readonly #firstEndpoint: Endpoint;
  readonly #buffers: Uint8Array[] = [];
  #queuedSinceWarning = 0;
  #lastWarningAt = 0;

  constructor(
    config: ServerConfig,
    parts: {
      pool: WorkerPool;
      site: Site;
      allowedHosts: ReadonlySet<string> | null;
      metrics?: ServerMetrics | null;
      metricsAllowed: AddressRanges;
      trustedProxies?: AddressRanges | null;
      /** The listeners' endpoints (plain HTTP on `config.port` when none are given). */
      endpoints?: readonly Endpoint[];
    },
  ) {
    this.config = config;
    this.pool = parts.pool;
    this.site = parts.site;
    this.allowedHosts = parts.allowedHosts;
    this.metrics = parts.metrics ?? null;
    this.metricsAllowed = parts.metricsAllowed;
    this.trustedProxies = parts.trustedProxies ?? null;
    const endpoints = parts.endpoints ?? [{
      scheme: "http",
      port: config.port,
      allowedHosts: parts.allowedHosts,
      fields: [],
      redirectToPort: null,
    }];
    this.#endpoints = new Map(endpoints.map((endpoint) => [endpoint.port, endpoint]));
    this.#firstEndpoint = endpoints[0] as Endpoint;
    this.limits = {
      maxHeadBytes: config.maxHeadBytes,
      maxHeaderCount: config.maxHeaderCount,
      maxBodyBytes: config.maxBodyBytes,
    };
    this.commonHead = commonLines(corsCommonFields(parts.site.cors));
    this.keepAliveValue = `timeout=${
      Math.floor(config.idleTimeoutMs / 1000)
    }, max=${config.maxRequestsPerConnection}`;
  }

  /**
   * A request of connection `connId` had to queue for a worker: warns "pool saturated" with a
   * snapshot, at most once per SATURATION_WARNING_INTERVAL_MS, counting the requests between.
   */
  noteQueued(connId: number): void {
    this.#queuedSinceWarning++;
    const now = Date.now();
    if (now - this.#lastWarningAt < SATURATION_WARNING_INTERVAL_MS) return;
    const s = this.pool.snapshot();
    const since = this.#lastWarningAt === 0
      ? ""
      : `; ${this.#queuedSinceWarning} request(s) queued in the last ${
        ((now - this.#lastWarningAt) / 1000).toFixed(1)
      } s`;
    log.pool.warn(plain(
      `pool saturated, queuing conn#${connId} (${s.queued}/${this.pool.queueLimit} waiting, ` +
        `${s.busy}/${s.size} busy, ${this.connections.size} connections open)${since}`,
    ));
    this.#lastWarningAt = now;
    this.#queuedSinceWarning = 0;
  }

  /** The end of one exchange: its counters (`--metrics`) and its access line. */
  recordExchange(record: AccessRecord): void {
    this.metrics?.record(record);
    writeAccess(record);
  }

  /** From the moment a stop is asked for: draining, then stopping. */
  get shuttingDown(): boolean {
    return this.draining || this.stopping;
  }

  /** The endpoint `conn` arrived on, found by the port it was accepted on. */
  endpointOf(conn: Deno.Conn): Endpoint {
    if (this.#endpoints.size === 1) return this.#firstEndpoint;
    const port = (conn.localAddr as Deno.NetAddr).port;
    return this.#endpoints.get(port) ?? this.#firstEndpoint;
  }

  /** The streaming buffer owned by `worker` (allocated on first use, then reused). */
  fileBuffer(worker: number): Uint8Array {
    let buffer = this.#buffers[worker];
    if (buffer === undefined) {
      buffer = new Uint8Array(this.config.fileChunkBytes);
      this.#buffers[worker] = buffer;
    }
    return buffer;
  }
}
