/**
 * Command line → ServerConfig: `[port] [host] [pool]` positionals like the original
 * `server.py 8000 0.0.0.0 20`, named flags beside them, and --help.
 *
 * Invariant: every bad argument becomes a CliError with a one-line message; main.ts prints it
 * and exits with status 2. Nothing here touches the network or the file system.
 */

import { parseArgs } from "node:util";
import { ACCESS_FORMATS, type AccessFormat } from "./server/access_log.ts";
import {
  DEFAULT_CONFIG,
  LOG_LEVELS,
  type LogLevelName,
  SERVER_NAME,
  SERVER_VERSION,
  type ServerConfig,
} from "./config.ts";
import { ANY_ORIGIN, canonicalOrigin } from "./http/cors.ts";
import { formatCidr, parseCidr } from "./http/forwarded.ts";
import { canonicalAllowedHost, isLoopbackAddress } from "./http/host.ts";
import bcrypt from "bcryptjs";
import { AUTH_SCOPES, type AuthScope } from "./server/auth.ts";

export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

export type CliResult =
  | { kind: "run"; config: ServerConfig }
  | { kind: "help"; text: string }
  | { kind: "version"; text: string };

export const USAGE = `${SERVER_NAME} ${SERVER_VERSION}: an HTTP/1.1 server for resources/

Usage: deno task start [port] [host] [pool] [options]

Positionals (the order of the original server.py):
  port                 TCP port (default ${DEFAULT_CONFIG.port}; 0 picks a free one)
  host                 address to bind (default ${DEFAULT_CONFIG.host})
  pool                 requests served at once (default ${DEFAULT_CONFIG.poolSize})

Options:
  --port N             same as the positional port
  --host ADDR          same as the positional host
  --pool N             same as the positional pool
  --queue N            requests that may wait for a worker before 503 (default ${DEFAULT_CONFIG.queueLimit})
  --root DIR           folder to serve (default ${DEFAULT_CONFIG.root}; must be inside --allow-read)
  --strict-types       serve only .html, .txt, .png, .jpg, .jpeg (anything else 415)
  --cache-control VALUE
                       send Cache-Control: VALUE with files (default: none)
  --no-compression     send files as they are: no brotli or gzip of cached text files, no
                       precompressed .br/.gz siblings (default: both, for clients asking)
  --listing            list folders without index.html (default: 403)
  --list-uploads       list the uploads folder too (default: 403, even with --listing)
  --max-head BYTES     request line + headers limit (default ${DEFAULT_CONFIG.maxHeadBytes})
  --max-body BYTES     request body limit (default ${DEFAULT_CONFIG.maxBodyBytes})
  --log-level LEVEL    debug, info, warning or error (default ${DEFAULT_CONFIG.logLevel})
  --access-log FILE    access lines to FILE (appended; default: with the error log), or off
  --error-log FILE     the error log to FILE (appended; default: stderr)
  --log-format FORMAT  access lines as text, combined (nginx's default format) or json
                       (default ${DEFAULT_CONFIG.logFormat})
  --uploads-max-bytes BYTES
                       space all stored uploads may take, in 4 KiB blocks (default 1G);
                       beyond it 507; 0 sets no bound
  --min-free-bytes BYTES
                       space that must stay free on the uploads disk (default 64M); else 507;
                       0 turns the check off
  --upload-rate N/s    uploads per second per client address, bursts of 2N (default ${DEFAULT_CONFIG.uploadRatePerSecond}/s);
                       beyond it 429 with Retry-After; 0 turns the limit off
  --uploads DIR        folder uploads are saved in (default <root>/uploads; must be inside
                       --allow-write and --allow-read)
  --allow-host NAME    also serve requests whose Host is NAME (with the server's port) or
                       NAME:PORT (a proxy's); repeatable; '*' turns the Host check off
                       (unsafe: pages of any site can then reach the server by DNS rebinding)
  --cors ORIGIN        let pages of ORIGIN (scheme://host[:port]) read responses, preflights
                       answered; repeatable; '*' for any origin but null
  --metrics            serve GET /metrics in the Prometheus text format (default: off)
  --metrics-allow CIDR peers that may read /metrics (repeatable; replaces the default
                       127.0.0.0/8 and ::1; others get 403)
  --trust-proxy CIDR   take the client address from Forwarded / X-Forwarded-For of peers in
                       CIDR (repeatable; default: none, always the peer's address)
  --drain SECONDS      on stop, go on serving for SECONDS while /healthz answers 503 and every
                       response closes its connection, then stop (default 0: stop at once)
  --threads N|auto     serve in N listener threads sharing the port (auto: one per CPU, at
                       most the pool); each serves a share of the pool (default 1; needs
                       --unstable-net and --allow-read of the program, see start:threads)
  --auth-file FILE     users and bcrypt hashes (made with htpasswd -B); requests in
                       --auth-scope need one of them (HTTP Basic), else 401
  --auth USER:PASSWORD a user for quick use (repeatable; hashed at start, but visible in the
                       process list: prefer --auth-file)
  --auth-scope SCOPE   upload (requests to /upload) or all (every request) (default ${DEFAULT_CONFIG.authScope})
  --auth-insecure      allow credentials over plain HTTP on a non-loopback address
  --tls-cert FILE      serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key
  --tls-key FILE       the certificate's private key (PEM)
  --https-port N       HTTPS on N, plain HTTP stays on the port (default: the port speaks TLS)
  --redirect-http      with --https-port: answer every plain HTTP request 308 to https://
  --hsts SECONDS       send Strict-Transport-Security: max-age=SECONDS on HTTPS responses
  -h, --help           show this help
  -V, --version        show the version
`;

const OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  pool: { type: "string" },
  queue: { type: "string" },
  root: { type: "string" },
  "strict-types": { type: "boolean" },
  "cache-control": { type: "string" },
  "no-compression": { type: "boolean" },
  listing: { type: "boolean" },
  "list-uploads": { type: "boolean" },
  "max-head": { type: "string" },
  "max-body": { type: "string" },
  "log-level": { type: "string" },
  "access-log": { type: "string" },
  "error-log": { type: "string" },
  "log-format": { type: "string" },
  "uploads-max-bytes": { type: "string" },
  "min-free-bytes": { type: "string" },
  "upload-rate": { type: "string" },
  uploads: { type: "string" },
  "allow-host": { type: "string", multiple: true },
  cors: { type: "string", multiple: true },
  metrics: { type: "boolean" },
  "metrics-allow": { type: "string", multiple: true },
  "trust-proxy": { type: "string", multiple: true },
  drain: { type: "string" },
  threads: { type: "string" },
  "auth-file": { type: "string" },
  auth: { type: "string", multiple: true },
  "auth-scope": { type: "string" },
  "auth-insecure": { type: "boolean" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "https-port": { type: "string" },
  "redirect-http": { type: "boolean" },
  hsts: { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

export function parseCli(argv: readonly string[]): CliResult {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(firstLine(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help", text: USAGE };
  if (values.version) return { kind: "version", text: `${SERVER_NAME} ${SERVER_VERSION}` };
  if (positionals.length > 3) {
    throw new CliError(`too many arguments: expected at most [port] [host] [pool]`);
  }
  const [portArg, hostArg, poolArg] = positionals;
  const config: ServerConfig = { ...DEFAULT_CONFIG };
  config.port = integer("port", pick("port", portArg, values.port), 0, 65535) ?? config.port;
  config.host = pick("host", hostArg, values.host) ?? config.host;
  if (config.host.trim() === "" || /\s/.test(config.host)) {
    throw new CliError(`invalid host "${config.host}"`);
  }
  config.poolSize = integer("pool", pick("pool", poolArg, values.pool), 1, 10_000) ??
    config.poolSize;
  config.queueLimit = integer("queue", values.queue, 0, 1_000_000) ?? config.queueLimit;
  config.maxHeadBytes = integer("max-head", values["max-head"], 256, 1 << 20) ??
    config.maxHeadBytes;
  config.maxBodyBytes = integer("max-body", values["max-body"], 0, 1 << 30) ??
    config.maxBodyBytes;
  if (values.root !== undefined) {
    if (values.root === "") throw new CliError("--root must not be empty");
    config.root = values.root;
  }
  if (values["strict-types"]) config.strictTypes = true;
  if (values["cache-control"] !== undefined) {
    config.cacheControl = fieldValue("cache-control", values["cache-control"]);
  }
  if (values["no-compression"]) config.compression = false;
  if (values.listing) config.listing = true;
  if (values["list-uploads"]) config.listUploads = true;
  if (values["log-level"] !== undefined) {
    const level = values["log-level"] as LogLevelName;
    if (!LOG_LEVELS.includes(level)) {
      throw new CliError(`invalid --log-level "${level}": use ${LOG_LEVELS.join(", ")}`);
    }
    config.logLevel = level;
  }
  if (values["access-log"] !== undefined) {
    config.accessLog = logFile("access-log", values["access-log"], true);
  }
  if (values["error-log"] !== undefined) {
    config.errorLog = logFile("error-log", values["error-log"], false);
  }
  if (values["log-format"] !== undefined) {
    const format = values["log-format"] as AccessFormat;
    if (!ACCESS_FORMATS.includes(format)) {
      throw new CliError(`invalid --log-format "${format}": use ${ACCESS_FORMATS.join(", ")}`);
    }
    config.logFormat = format;
  }
  config.uploadsMaxBytes = byteSize("uploads-max-bytes", values["uploads-max-bytes"]) ??
    config.uploadsMaxBytes;
  config.minFreeBytes = byteSize("min-free-bytes", values["min-free-bytes"]) ??
    config.minFreeBytes;
  if (values["upload-rate"] !== undefined) {
    config.uploadRatePerSecond = rate("upload-rate", values["upload-rate"]);
    config.uploadBurst = Math.max(1, Math.ceil(2 * config.uploadRatePerSecond));
  }
  if (values.uploads !== undefined) {
    if (values.uploads === "") throw new CliError("--uploads must not be empty");
    config.uploads = values.uploads;
  }
  if (values["allow-host"] !== undefined) {
    config.allowHosts = values["allow-host"].map((text) => {
      const name = canonicalAllowedHost(text);
      if (name !== null) return name;
      throw new CliError(
        `invalid --allow-host ${JSON.stringify(text)}: expected a name or address, optionally ` +
          "with :PORT (e.g. myhost.lan, 192.168.1.5, proxy.example:443), or '*'",
      );
    });
  }
  if (values.cors !== undefined) {
    config.corsOrigins = values.cors.map((text) => {
      const origin = text === ANY_ORIGIN ? text : canonicalOrigin(text);
      if (origin !== null) return origin;
      throw new CliError(
        `invalid --cors ${JSON.stringify(text)}: expected an origin scheme://host[:port] ` +
          "without a path (e.g. https://app.example, http://localhost:3000), null, or '*'",
      );
    });
  }
  if (values.metrics) config.metrics = true;
  if (values["metrics-allow"] !== undefined) {
    config.metricsAllow = values["metrics-allow"].map((text) => cidr("metrics-allow", text));
  }
  if (values["trust-proxy"] !== undefined) {
    config.trustProxy = values["trust-proxy"].map((text) => cidr("trust-proxy", text));
  }
  if (values.drain !== undefined) {
    config.drainMs = Math.round(seconds("drain", values.drain, 3600) * 1000);
  }
  if (values.threads !== undefined) {
    config.threads = threads(values.threads, config.poolSize, navigator.hardwareConcurrency);
  }
  tls(config, values);
  if (values["auth-file"] !== undefined) {
    if (values["auth-file"] === "") throw new CliError("--auth-file must not be empty");
    config.authFile = values["auth-file"];
  }
  if (values["auth-scope"] !== undefined) {
    const scope = values["auth-scope"] as AuthScope;
    if (!AUTH_SCOPES.includes(scope)) {
      throw new CliError(`invalid --auth-scope "${scope}": use ${AUTH_SCOPES.join(" or ")}`);
    }
    config.authScope = scope;
  }
  if (values["auth-insecure"]) config.authInsecure = true;
  const inline = values.auth ?? [];
  checkAuthTransport(config, {
    users: config.authFile !== null || inline.length > 0,
    scopeGiven: values["auth-scope"] !== undefined,
  });
  // Last: hashing takes a moment, and a refused command line should not wait for it.
  if (inline.length > 0) config.authUsers = inline.map((t) => inlineUser(t, config.authBcryptCost));
  return { kind: "run", config };
}

/**
 * `--auth USER:PASSWORD` → the user and a bcrypt hash of the password, so the configuration
 * never holds it in clear. Error messages never repeat the value.
 */
function inlineUser(text: string, cost: number): { user: string; hash: string } {
  const colon = text.indexOf(":");
  const user = colon < 0 ? "" : text.slice(0, colon);
  // deno-lint-ignore no-control-regex
  if (user === "" || /[\x00-\x1f\x7f]/.test(text)) {
    throw new CliError(
      "invalid --auth: expected USER:PASSWORD (a user name without control characters, a colon, then the password)",
    );
  }
  return { user, hash: bcrypt.hashSync(text.slice(colon + 1), cost) };
}

/**
 * Credentials only where they cannot be read on the way: over TLS, on a loopback address, or
 * when `--auth-insecure` says the operator knows (Basic credentials are base64, not secret).
 */
export function checkAuthTransport(
  config: ServerConfig,
  given: { users: boolean; scopeGiven: boolean },
): void {
  if (!given.users) {
    if (given.scopeGiven) {
      throw new CliError("--auth-scope needs users: --auth-file FILE or --auth USER:PASSWORD");
    }
    return;
  }
  // Over TLS only when no plain listener takes requests: --https-port keeps plain HTTP on the
  // port unless --redirect-http turns it into redirects.
  const tlsOnly = config.tlsCert !== null && (config.httpsPort === null || config.redirectHttp);
  if (tlsOnly || isLoopbackAddress(config.host) || config.authInsecure) return;
  throw new CliError(
    `credentials over plain HTTP on ${config.host} would cross the network readable by anyone on the way: ` +
      "serve over TLS (--tls-cert and --tls-key), listen on loopback only (--host 127.0.0.1), or pass --auth-insecure",
  );
}

/** An address range in canonical form (`10.0.0.0/8`); a bare address is a range of one. */
function cidr(name: string, text: string): string {
  const range = parseCidr(text);
  if (range === null) {
    throw new CliError(
      `invalid --${name} ${JSON.stringify(text)}: expected an address or ADDRESS/PREFIX ` +
        "(e.g. 10.0.0.0/8, 192.0.2.7, fd00::/8)",
    );
  }
  return formatCidr(range);
}

/** The most listener threads: far more than cores on any machine a server runs on. */
const MAX_THREADS = 256;

/**
 * `--threads N|auto`: N from 1 to MAX_THREADS, at most the pool (each thread serves a share of
 * it, at least one worker); `auto`: one per CPU (`cpus`), at most the pool.
 */
export function threads(text: string, poolSize: number, cpus: number): number {
  if (text === "auto") return Math.max(1, Math.min(cpus, poolSize, MAX_THREADS));
  const value = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!(value >= 1 && value <= MAX_THREADS)) {
    throw new CliError(
      `invalid --threads "${text}": expected a number of threads from 1 to ${MAX_THREADS}, or auto`,
    );
  }
  if (value > poolSize) {
    throw new CliError(
      `--threads ${value} is more than the pool (${poolSize}): each thread serves a share of it, at least one worker (raise --pool)`,
    );
  }
  return value;
}

/** Seconds, whole or with a fraction, from 0 to `max`. */
function seconds(name: string, text: string, max: number): number {
  const value = /^[0-9]+(\.[0-9]+)?$/.test(text) ? Number(text) : NaN;
  if (!(value >= 0 && value <= max)) {
    throw new CliError(`invalid --${name} "${text}": expected seconds from 0 to ${max}`);
  }
  return value;
}

/**
 * The TLS flags: a certificate and its key go together, and the flags that only mean something
 * with HTTPS (a second port, the redirect, HSTS) need them. The files are read at start-up.
 */
function tls(
  config: ServerConfig,
  values: {
    "tls-cert"?: string;
    "tls-key"?: string;
    "https-port"?: string;
    "redirect-http"?: boolean;
    hsts?: string;
  },
): void {
  const cert = values["tls-cert"];
  const key = values["tls-key"];
  if (cert !== undefined) config.tlsCert = pemFile("tls-cert", cert);
  if (key !== undefined) config.tlsKey = pemFile("tls-key", key);
  if (key !== undefined && cert === undefined) {
    throw new CliError("--tls-key needs --tls-cert (the certificate chain the key belongs to)");
  }
  if (cert !== undefined && key === undefined) {
    throw new CliError("--tls-cert needs --tls-key (the certificate's private key)");
  }
  const withTls = cert !== undefined;
  for (const flag of ["https-port", "redirect-http", "hsts"] as const) {
    if (values[flag] !== undefined && !withTls) {
      throw new CliError(`--${flag} needs --tls-cert and --tls-key`);
    }
  }
  config.httpsPort = integer("https-port", values["https-port"], 0, 65535) ?? null;
  if (config.httpsPort !== null && config.httpsPort !== 0 && config.httpsPort === config.port) {
    throw new CliError(
      `--https-port ${config.httpsPort} is also the port: plain HTTP and HTTPS need one each`,
    );
  }
  if (values["redirect-http"]) {
    if (config.httpsPort === null) {
      throw new CliError(
        "--redirect-http needs --https-port: without it the port speaks TLS and there is no " +
          "plain HTTP to redirect",
      );
    }
    config.redirectHttp = true;
  }
  // RFC 6797 §6.1.1: delta-seconds; 0 tells a browser to forget the policy.
  config.hstsSeconds = integer("hsts", values.hsts, 0, 2 ** 31 - 1) ?? null;
}

/** A certificate or key file's path (read at start-up, where a missing file is reported). */
function pemFile(name: string, text: string): string {
  // deno-lint-ignore no-control-regex
  if (text === "" || /[\x00-\x1f]/.test(text)) {
    throw new CliError(`invalid --${name} ${JSON.stringify(text)}: expected a file path`);
  }
  return text;
}

/** A log file's path; `off` turns the access log off. */
function logFile(name: string, text: string, offAllowed: boolean): string {
  if (offAllowed && text === "off") return "off";
  // deno-lint-ignore no-control-regex
  if (text === "" || /[\x00-\x1f]/.test(text)) {
    throw new CliError(`invalid --${name} ${JSON.stringify(text)}: expected a file path`);
  }
  return text;
}

const BYTE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  K: 2 ** 10,
  M: 2 ** 20,
  G: 2 ** 30,
  T: 2 ** 40,
};

/** A size in bytes: digits with an optional K, M, G or T (powers of 1024), as nginx writes them. */
function byteSize(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^([0-9]+)([KMGT]?)$/i.exec(text);
  if (match === null) {
    throw new CliError(`invalid --${name} "${text}": expected bytes, e.g. 1048576, 512M or 2G`);
  }
  const value = Number(match[1]) * (BYTE_UNITS[(match[2] as string).toUpperCase()] as number);
  if (!Number.isSafeInteger(value)) throw new CliError(`invalid --${name} "${text}": too large`);
  return value;
}

/** `N/s` (N may have a fraction), or `0` for no limit. */
function rate(name: string, text: string): number {
  if (text === "0") return 0;
  const match = /^([0-9]+(?:\.[0-9]+)?)\/s$/.exec(text);
  const value = match === null ? NaN : Number(match[1]);
  if (!(value > 0) || value > 1_000_000) {
    throw new CliError(`invalid --${name} "${text}": expected N/s (e.g. 50/s), or 0 for no limit`);
  }
  return value;
}

/** A value given as positional or flag, refusing two different ones. */
function pick(name: string, positional?: string, flag?: string): string | undefined {
  if (positional !== undefined && flag !== undefined && positional !== flag) {
    throw new CliError(`${name} given twice (positional "${positional}" and --${name} "${flag}")`);
  }
  return flag ?? positional;
}

function integer(name: string, text: string | undefined, min: number, max: number) {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text)) throw new CliError(`invalid ${name} "${text}": expected a number`);
  const value = Number(text);
  if (value < min || value > max) {
    throw new CliError(`invalid ${name} ${text}: expected ${min} to ${max}`);
  }
  return value;
}

/**
 * A value that goes verbatim into a response header: visible ASCII and spaces only (RFC 9110
 * §5.5), so it can never end the field or the head early; surrounding spaces are dropped.
 */
function fieldValue(name: string, text: string): string {
  const value = text.trim();
  if (value === "") throw new CliError(`--${name} must not be empty`);
  if (!/^[\x20-\x7e]+$/.test(value)) {
    throw new CliError(`invalid --${name}: only visible ASCII and spaces, no control characters`);
  }
  return value;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}
