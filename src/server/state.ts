/**
 * What every connection of one running server shares: config, pool, site, open connections.
 *
 * Invariant: built once per server by listener.ts; connections read it and touch only
 * `connections` (their own entry), `stats` and the per-worker file buffers.
 */

import type { ServerConfig } from "../config.ts";
import type { ParserLimits } from "../http/parser.ts";
import type { Site } from "../handlers/router.ts";
import type { Connection } from "./connection.ts";
import type { WorkerPool } from "./pool.ts";

export interface ServerStats {
  connections: number;
  requests: number;
}

export class ServerState {
  readonly config: ServerConfig;
  readonly pool: WorkerPool;
  readonly site: Site;
  readonly allowedHosts: ReadonlySet<string>;
  readonly limits: ParserLimits;
  /** The Keep-Alive field value (RFC 2068 §19.7.1.1), e.g. `timeout=30, max=100`. */
  readonly keepAliveValue: string;
  readonly connections = new Set<Connection>();
  readonly stats: ServerStats = { connections: 0, requests: 0 };
  stopping = false;
  readonly #buffers: Uint8Array[] = [];

  constructor(
    config: ServerConfig,
    parts: { pool: WorkerPool; site: Site; allowedHosts: ReadonlySet<string> },
  ) {
    this.config = config;
    this.pool = parts.pool;
    this.site = parts.site;
    this.allowedHosts = parts.allowedHosts;
    this.limits = {
      maxHeadBytes: config.maxHeadBytes,
      maxHeaderCount: config.maxHeaderCount,
      maxBodyBytes: config.maxBodyBytes,
    };
    this.keepAliveValue = `timeout=${
      Math.floor(config.idleTimeoutMs / 1000)
    }, max=${config.maxRequestsPerConnection}`;
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
