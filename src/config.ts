/**
 * ServerConfig: every tunable of the server, with its default and the reason for it.
 *
 * Invariant: nothing else in the server hard-codes a limit or a timeout; it reads it from here.
 * Units are part of every name (`Ms`, `Bytes`, `Seconds`).
 */

export const SERVER_NAME = "denohttpd";
export const SERVER_VERSION = "0.1.0";

export interface ServerConfig {
  /** TCP port; 0 asks the OS for a free one (tests do this). */
  port: number;
  /** Address to bind; also accepted as a Host value beside localhost and 127.0.0.1. */
  host: string;
  /** Folder that is served; uploads go to `<root>/uploads` unless `uploads` says otherwise. */
  root: string;
  /** Requests served at once (reading the body, reading the file, writing the response). */
  poolSize: number;
  /** Requests allowed to wait for a worker before new ones get 503. */
  queueLimit: number;
  /** Seconds a client is told to wait in `Retry-After` when the queue is full. */
  retryAfterSeconds: number;
  /** Request line + header fields, CRLFs included. nginx and Node default to 8 KiB–16 KiB. */
  maxHeadBytes: number;
  /** Header fields in one request; Apache and h11 use 100. */
  maxHeaderCount: number;
  /** Request bodies (JSON uploads). nginx's client_max_body_size is 1 MiB; uploads here are small. */
  maxBodyBytes: number;
  /** Idle time allowed between requests on a persistent connection (advertised in Keep-Alive). */
  idleTimeoutMs: number;
  /** A request head must be complete this long after its first byte (Node: 60 s; nginx: 60 s). */
  headTimeoutMs: number;
  /**
   * A whole request body must arrive within this time of its head. Bodies are bounded by
   * maxBodyBytes (8 KiB), so this is a minimum rate too: a drip-feeding client cannot hold a
   * worker for long. (nginx's client_body_timeout, 60 s, bounds each read instead.)
   */
  bodyTimeoutMs: number;
  /** Each response write must make progress within this time (nginx send_timeout: 60 s). */
  writeTimeoutMs: number;
  /** Requests served on one connection before it is closed (nginx keepalive_requests). */
  maxRequestsPerConnection: number;
  /** Bytes read from a file per chunk when streaming; measured, see README "Benchmarks". */
  fileChunkBytes: number;
  /** Memory for small files kept ready to send. */
  fileCacheBytes: number;
  /** A cached file is confirmed by a stat at most this often; changes seen by the watcher on
   * the root drop it at once. 0 confirms every hit. */
  fileCacheValidMs: number;
  /** `--strict-types`: only the original five types are served; anything else gets 415. */
  strictTypes: boolean;
  /** `--cache-control`: the Cache-Control value of file responses (200, 206, 304), or null. */
  cacheControl: string | null;
  /**
   * Content codings (README "Compression"): compressible cached files also in brotli and gzip,
   * and precompressed `.br`/`.gz` siblings used; `--no-compression` turns both off.
   */
  compression: boolean;
  /** Files smaller than this are never compressed. */
  compressMinBytes: number;
  /** A coded variant is kept only when at least this fraction smaller than the file. */
  compressMinSaving: number;
  /** Brotli quality (0–11) of files up to `brotliBestMaxBytes`... */
  brotliBestQuality: number;
  brotliBestMaxBytes: number;
  /** ...and of larger cached files. */
  brotliQuality: number;
  /** gzip level (1–9). */
  gzipLevel: number;
  /** `--listing`: a folder without index.html gets an HTML listing instead of 403. */
  listing: boolean;
  /** `--list-uploads`: the uploads folder gets a listing too (with or without `--listing`). */
  listUploads: boolean;
  /** On SIGINT/SIGTERM, requests in flight get this long to finish. */
  shutdownGraceMs: number;
  /** How often the worker snapshot is logged; 0 turns it off. */
  snapshotIntervalMs: number;
  /** Lowest log level printed in the error log. */
  logLevel: LogLevelName;
  /** The error log's file; null: stderr. */
  errorLog: string | null;
  /** The access log's file; null: with the error log; "off": none. */
  accessLog: string | null;
  /** The access log's line format. */
  logFormat: AccessFormat;
  /** Bytes all stored uploads may take together; beyond that uploads get 507. */
  uploadsMaxBytes: number;
  /** Bytes that must stay free on the uploads file system after an upload; else 507. */
  minFreeBytes: number;
  /** Uploads per second per client address (token bucket); 0 turns the limit off. */
  uploadRatePerSecond: number;
  /** Uploads one address may send at once before the rate applies (the bucket's size). */
  uploadBurst: number;
  /** After a response that ends the connection, how long without input before the close. */
  lingerIdleMs: number;
  /** ...and how long lingering may take at most, whatever the client sends... */
  lingerMaxMs: number;
  /** ...and how much input it discards at most. */
  lingerMaxBytes: number;
  /**
   * `--allow-host`: Host names accepted beside localhost, 127.0.0.1 and `host`, lower-case;
   * `name` means `name:<port>`, `name:port` that port (and bare `name` for 80 or 443); `*`
   * turns the Host check off.
   */
  allowHosts: readonly string[];
  /** `--cors`: origins (canonical `scheme://host[:port]`, `null`, or `*`) that may read responses. */
  corsOrigins: readonly string[];
  /** `Access-Control-Max-Age` of a preflight's answer: how long a browser may reuse it. */
  corsMaxAgeSeconds: number;
  /** `--uploads`: the folder uploads are saved in; null means `<root>/uploads`. */
  uploads: string | null;
  /** `--tls-cert`: the certificate chain (PEM, leaf first); with `tlsKey`, HTTPS is served. */
  tlsCert: string | null;
  /** `--tls-key`: the private key (PEM) of the certificate's leaf. */
  tlsKey: string | null;
  /**
   * `--https-port`: HTTPS on this port beside plain HTTP on `port`; null: with a certificate,
   * `port` itself speaks TLS.
   */
  httpsPort: number | null;
  /** `--redirect-http`: the plain listener answers every request 308 to its https:// URL. */
  redirectHttp: boolean;
  /** `--hsts`: `Strict-Transport-Security: max-age=N` on every HTTPS response; null: none. */
  hstsSeconds: number | null;
  /** A TCP connection to the TLS port must complete its handshake within this time. */
  tlsHandshakeTimeoutMs: number;
  /**
   * Connections handshaking, or given up at the timeout but still held open by a silent peer
   * (Deno cannot close those, see tls_listener.ts), at most; beyond it no new one is accepted.
   */
  tlsMaxPendingHandshakes: number;
  /** Watch the certificate and key files and reload the pair when they change. */
  tlsWatchFiles: boolean;
  /** After a change to either file, how long they must stay quiet before the pair is read. */
  tlsReloadDebounceMs: number;
  /** Failed handshakes are summarised in one info line at most this often (each is debug). */
  tlsFailureSummaryMs: number;
  /** `--auth-file`: an htpasswd file of bcrypt hashes, read at start-up; null: none. */
  authFile: string | null;
  /** `--auth USER:PASSWORD`: users given on the command line, their passwords already hashed. */
  authUsers: readonly AuthUser[];
  /** `--auth-scope`: which requests need credentials (when there are users at all). */
  authScope: AuthScope;
  /** `--auth-insecure`: credentials allowed over plain HTTP on a non-loopback address. */
  authInsecure: boolean;
  /** bcrypt cost of the `--auth` passwords, hashed at start-up. */
  authBcryptCost: number;
  /** Failed logins one client address may have at once before the limit applies. */
  authFailureBurst: number;
  /** Failed logins per minute per client address after the burst; beyond, 429. 0: no limit. */
  authFailuresPerMinute: number;
  /** Verified credentials remembered (an LRU of HMACs); 0: bcrypt for every request. */
  authCacheEntries: number;
  /** How long a verification is remembered. */
  authCacheTtlMs: number;
  /** Password checks queued or running at once; beyond, 503. */
  authMaxPendingChecks: number;
  /** `--metrics`: `GET /metrics` answers the Prometheus text exposition. */
  metrics: boolean;
  /** `--metrics-allow`: peer address ranges (CIDR) that may read /metrics; others get 403. */
  metricsAllow: readonly string[];
  /**
   * `--trust-proxy`: peer address ranges (CIDR) whose `Forwarded` / `X-Forwarded-For` name the
   * client (the access log's address, the upload rate's key).
   */
  trustProxy: readonly string[];
  /**
   * `--drain`: once a stop is asked for, how long the server goes on serving (every response
   * closing its connection) while `/healthz` answers 503, before it stops accepting.
   */
  drainMs: number;
  /**
   * `--threads`: listener threads (Deno workers, each with its own listener on the port, shared
   * with SO_REUSEPORT); 1 serves on the main thread alone. Each thread serves a share of the
   * pool; the queue's bound is one for all (see threads.ts).
   */
  threads: number;
}

import type { AccessFormat } from "./server/access_log.ts";
import type { AuthScope, AuthUser } from "./server/auth.ts";

export type LogLevelName = "debug" | "info" | "warning" | "error";
export const LOG_LEVELS: readonly LogLevelName[] = ["debug", "info", "warning", "error"];

export const DEFAULT_CONFIG: Readonly<ServerConfig> = {
  port: 8080,
  host: "127.0.0.1",
  root: "resources",
  // The original design's thread pool size.
  poolSize: 10,
  queueLimit: 200,
  retryAfterSeconds: 1,
  maxHeadBytes: 8192,
  maxHeaderCount: 100,
  maxBodyBytes: 8192,
  idleTimeoutMs: 30_000,
  // Shorter than nginx/Node's 60 s: a head is a few hundred bytes, and a slow head holds memory.
  headTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  writeTimeoutMs: 30_000,
  maxRequestsPerConnection: 100,
  // 8 KiB reads stream at ~0.15 GB/s in Deno, 1 MiB at ~2 GB/s; 10 workers x 1 MiB stays flat.
  fileChunkBytes: 1 << 20,
  // Holds every file up to 64 KiB of a small site; an async open+read+close per request costs
  // more than the whole rest of the request (README "Benchmarks").
  fileCacheBytes: 16 << 20,
  // A stat per hit would cost a quarter of the small-file throughput; the watcher reports
  // changes within milliseconds, and this bounds staleness where it cannot (network mounts).
  fileCacheValidMs: 1_000,
  // A browser needs stylesheets, scripts, fonts and images with their real types to show a
  // site; the original table (415 for everything else) stays one flag away.
  strictTypes: false,
  // None, as from nginx and Deno's file server: clients revalidate with the ETag and
  // Last-Modified every file carries. How long a site may be cached is the operator's call.
  cacheControl: null,
  // On: every browser asks for br and gzip, and text shrinks to a third or less. Only cached
  // files are compressed, once, so a hit costs what an uncompressed one does.
  compression: true,
  // Below a few hundred bytes the saving is a handful of bytes, inside the same TCP segment;
  // nginx's gzip_min_length is 20, Akamai's 860, Cloudflare's 48.
  compressMinBytes: 256,
  // A variant saving less than this is not worth its memory and the Vary it brings.
  compressMinSaving: 0.05,
  // Compression runs on the event loop when a file is cached (README "Compression"), once per
  // file and change. Measured here on the worst text (two letters at random): brotli's best
  // quality took 23 ms at 16 KiB and 120 ms at 64 KiB, so it is kept for files up to 4 KiB
  // (a few ms); above, quality 5 takes at most 6 ms at 64 KiB for 5-15% more bytes. gzip's
  // level 9 took 84 ms at 64 KiB, level 6 2 ms for the same size.
  brotliBestQuality: 11,
  brotliBestMaxBytes: 4 * 1024,
  brotliQuality: 5,
  gzipLevel: 6,
  // Off, as nginx's autoindex: what a folder holds is published only when asked for.
  listing: false,
  // Off even with --listing: the uploads are what clients sent, and their names (with the time
  // of each upload) are not for every visitor to enumerate.
  listUploads: false,
  shutdownGraceMs: 10_000,
  snapshotIntervalMs: 60_000,
  logLevel: "info",
  // stderr, as a service manager (systemd, a container runtime) expects.
  errorLog: null,
  accessLog: null,
  // Readable by people; `combined` is what log tools read (nginx's default), `json` what log
  // pipelines ingest.
  logFormat: "text",
  // 131,072 uploads at the 8 KiB body limit: far more than a person sends, and a bound on what
  // anyone who can reach the port can make the server write.
  uploadsMaxBytes: 1 << 30,
  // Leaves room for the logs and everything else on the same file system.
  minFreeBytes: 64 << 20,
  // No person or browser page comes near 50 documents a second; a flood is held to it, and the
  // storage bound stops it in the end. The burst lets a batch of 100 through at once.
  uploadRatePerSecond: 50,
  uploadBurst: 100,
  // nginx's lingering_timeout is 5 s and lingering_time 30 s; a client that has stopped sending
  // for 2 s has nothing left in flight, so the close cannot reset it.
  lingerIdleMs: 2_000,
  lingerMaxMs: 30_000,
  // Far more than pipelined requests left unread take (5000 GETs are 0.3 MB), far less than
  // what 30 s of a fast link would make the server read and throw away.
  lingerMaxBytes: 4 << 20,
  // Only the names that reach this machine itself; a LAN name or a proxy's public name is the
  // operator's to add. A Host check is what stops DNS rebinding (a foreign page whose name
  // resolves to this machine), so it is never off by default.
  allowHosts: [],
  // None: pages of other origins cannot read responses (the browser's same-origin policy), as
  // from nginx, Python's http.server and Deno's file server unless configured.
  corsOrigins: [],
  // Ten minutes: Chromium's cap was 600 s for years (now 7200 s), Firefox allows a day; short
  // enough that a changed --cors reaches open pages soon, long enough to spare a preflight
  // before every upload.
  corsMaxAgeSeconds: 600,
  // The original design's resources/uploads, inside the root, so `deno task start`'s
  // --allow-write=resources/uploads covers it.
  uploads: null,
  // Plain HTTP unless a certificate is given: a local development server has none.
  tlsCert: null,
  tlsKey: null,
  httpsPort: null,
  // Off: redirecting is a choice about the whole site, and a plain-only client (a health check,
  // curl without -L) would get nothing but 308s.
  redirectHttp: false,
  // Off: a browser that has seen the field refuses plain HTTP to the name for max-age seconds,
  // a commitment the operator makes, not the server (RFC 6797 §14.1 warns of the same).
  hstsSeconds: null,
  // As headTimeoutMs: a handshake is two round trips and a few KiB, well within 10 s on a slow
  // mobile link; nginx allows 60 s (ssl_handshake_timeout), but a stalled handshake holds a
  // socket and memory, never a worker, and a scanner opening many should not keep them long.
  tlsHandshakeTimeoutMs: 10_000,
  // A real client finishes in a round trip, so a thousand at once is far more than a small
  // server sees (the kernel's accept backlog is 511); it bounds the sockets silent peers can pin
  // to a thousand of the process's descriptors, which file serving needs too.
  tlsMaxPendingHandshakes: 1_000,
  // On: renewal tools (certbot, acme.sh) replace the files; watching two files costs one inotify
  // watch each, and SIGHUP stays the way to reload where watching is not possible.
  tlsWatchFiles: true,
  // A renewal writes the certificate and the key one after the other; a quiet second lets both
  // land before the pair is read, and a new certificate is never urgent to the second.
  tlsReloadDebounceMs: 1_000,
  // A port scanner or a client speaking plain HTTP to the TLS port fails a handshake each time;
  // a line per failure would flood the log (they are debug lines), one a minute still shows it.
  tlsFailureSummaryMs: 60_000,
  // No users: nothing asks for credentials, as the original design.
  authFile: null,
  authUsers: [],
  // "Who may write": reading the site stays open, as on a public static site; `all` for a
  // private one.
  authScope: "upload",
  // Off: Basic credentials are only base64, so over plain HTTP beyond loopback anyone on the
  // path reads them; that is the operator's explicit call.
  authInsecure: false,
  // bcryptjs's default and `htpasswd -B -C 10`: about 65 ms per check here, in the checker's
  // thread, and the cache spares it for repeated requests.
  authBcryptCost: 10,
  // A person mistyping a password a few times never meets the limit; a guesser from one
  // address gets 10 tries a minute (14,400 a day) instead of thousands a second.
  authFailureBurst: 10,
  authFailuresPerMinute: 10,
  // A few hundred users or browsers at once; each entry is a 44-character HMAC and a number.
  authCacheEntries: 256,
  // Apache's mod_authn_socache keeps a verification 300 s (AuthnCacheTimeout): an uploading
  // client pays bcrypt once per five minutes, and credentials are not remembered for longer.
  authCacheTtlMs: 300_000,
  // At cost 10, 32 checks are about 2 s of one thread's work: more waiting than that only
  // delays every login; a flood of passwords is refused at once instead (503).
  authMaxPendingChecks: 32,
  // Off, as nginx's stub_status: how busy the server is, and its memory, are the operator's to
  // publish.
  metrics: false,
  // Loopback only: a Prometheus or agent on this machine (or an SSH tunnel); any other network
  // is the operator's to open, as nginx's `allow 127.0.0.1; deny all;` in front of stub_status.
  metricsAllow: ["127.0.0.0/8", "::1/128"],
  // None: whoever sends a request writes its forwarding fields, so trusted from any peer they
  // would let every client pick its address in the log and a fresh upload budget per request.
  trustProxy: [],
  // None, as nginx, Go's Shutdown and Deno.serve: a stop (Ctrl+C in a terminal) begins at once.
  // Behind a balancer that probes /healthz, its probe interval times its failure threshold.
  drainMs: 0,
  // One, as before: a thread per core is the operator's choice (`auto`), since the pool and the
  // checks at once are then split between threads and the sandbox must let the threads load the
  // program (README "Threads").
  threads: 1,
};
