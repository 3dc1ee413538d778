/**
 * Who may write: HTTP Basic authentication (RFC 7617) against bcrypt hashes from an htpasswd
 * file (`--auth-file`) or the command line (`--auth`), for the requests of `--auth-scope`.
 *
 * Order of the checks, all before any body is read and before a worker is taken:
 * 1. `covers`: does the request need credentials? (scope × path; a CORS preflight never does)
 * 2. the credentials' syntax (http/basic_auth.ts): none or malformed → 401 with the challenge;
 * 3. the brute-force limit: one token of the client address's bucket is spent per attempt and
 *    given back when it succeeds, so only failures count; none left → 429 with Retry-After;
 * 4. the cache of verified credentials (an HMAC under a per-process random key → expiry), so a
 *    client uploading again and again pays bcrypt once per `authCacheTtlMs`;
 * 5. bcrypt, in the password checker's thread (bounded queue; full → 503 with Retry-After).
 *
 * Invariants:
 * - A password is never logged, never stored in clear, and never a cache key in clear.
 * - Whether a user exists does not show in the timing: an unknown user's password is checked
 *   against a dummy hash of the most common cost in the store, so it costs what a wrong one
 *   costs; the cache only ever answers for credentials that were right.
 * - The limit is checked before the cache, so a client out of attempts cannot go on guessing
 *   cheaply against the cache.
 */

import bcrypt from "bcryptjs";
import { createHmac, randomBytes } from "node:crypto";
import type { ServerConfig } from "../config.ts";
import { type Credentials, requestCredentials, WWW_AUTHENTICATE } from "../http/basic_auth.ts";
import { isPreflight } from "../http/cors.ts";
import type { FieldList } from "../http/fields.ts";
import { HttpError } from "../http/status.ts";
import { addressKey, type AddressLimiter, RateLimiter } from "../handlers/rate_limit.ts";
import { UPLOAD_PATH } from "../handlers/router.ts";
import { isHiddenPath } from "../handlers/site_root.ts";
import { log, ThrottledWarning } from "../log.ts";
import { asciiJson } from "./access_log.ts";
import { bcryptCost, HtpasswdError, parseHtpasswd } from "./htpasswd.ts";
import { PasswordChecker, type PasswordVerifier } from "./password_check.ts";

/** `--auth-scope`: `upload` asks for credentials on the upload path only, `all` everywhere. */
export type AuthScope = "upload" | "all";
export const AUTH_SCOPES: readonly AuthScope[] = ["upload", "all"];

/** A user and the bcrypt hash of their password. */
export interface AuthUser {
  user: string;
  hash: string;
}

/** What a request is, as far as the decision goes. */
export interface AuthRequest {
  method: string;
  fields: FieldList;
}

/**
 * Whether a request for `path` (decoded) needs credentials under `options.scope`: with `upload`, every
 * request to the upload path (whatever its method, as an nginx `location` with `auth_basic`);
 * with `all`, every request. Never a CORS preflight: it carries no credentials by design (Fetch
 * §4.8), and a 401 to it would fail the real request before it is sent.
 */
export function needsCredentials(
  request: AuthRequest,
  path: string,
  options: { scope: AuthScope },
): boolean {
  if (options.scope !== "all" && path !== UPLOAD_PATH) return false;
  return !isPreflight(request);
}

/**
 * Successful verifications, bounded in number and age. A key is an HMAC-SHA-256, under a key
 * made at random for this process, of the user, the stored hash and the password, so neither
 * the password nor anything that can be checked against it offline is held, and a changed hash
 * never matches an old entry. Least recently used entries go first.
 */
export class CredentialCache {
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly #key = randomBytes(32);
  /** digest → when it expires (epoch ms); Map order is use order. */
  readonly #entries = new Map<string, number>();

  constructor(maxEntries: number, ttlMs: number) {
    this.maxEntries = maxEntries;
    this.ttlMs = ttlMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The cache key of these credentials (NUL separates: it is in none of the three). */
  digest(user: string, hash: string, password: string): string {
    return createHmac("sha256", this.#key).update(`${user}\0${hash}\0${password}`).digest("base64");
  }

  /** True when `digest` was verified within the last `ttlMs`. */
  has(digest: string, now = Date.now()): boolean {
    const expires = this.#entries.get(digest);
    if (expires === undefined) return false;
    this.#entries.delete(digest);
    if (now >= expires) return false;
    this.#entries.set(digest, expires);
    return true;
  }

  add(digest: string, now = Date.now()): void {
    this.#entries.delete(digest);
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(digest, now + this.ttlMs);
  }
}

export interface AuthenticatorOptions {
  scope: AuthScope;
  /** Where bcrypt runs (another thread, bounded). */
  checker: PasswordVerifier;
  /** Failed attempts per client address; null: no limit. */
  failures: AddressLimiter | null;
  /** Verified credentials; null: every request pays bcrypt. */
  cache: CredentialCache | null;
  /** `Retry-After` of a 503 when the checker's queue is full. */
  retryAfterSeconds: number;
}

/** Log lines about failed logins: the first at once, then at most one a second. */
const failureWarning = new ThrottledWarning(log.server);
const limitWarning = new ThrottledWarning(log.server);
const busyWarning = new ThrottledWarning(log.server);

/** The longest part of a client's user name shown in the log. */
const SHOWN_USER_CHARS = 64;

export class Authenticator {
  readonly scope: AuthScope;
  readonly #users: ReadonlyMap<string, string>;
  readonly #dummyHash: string;
  readonly #options: AuthenticatorOptions;

  constructor(users: ReadonlyMap<string, string>, options: AuthenticatorOptions) {
    if (users.size === 0) throw new RangeError("no users");
    this.#users = users;
    this.#options = options;
    this.scope = options.scope;
    this.#dummyHash = bcrypt.hashSync(randomBytes(18).toString("base64"), typicalCost(users));
  }

  /** Users known (for the start-up log). */
  get users(): number {
    return this.#users.size;
  }

  /** See `needsCredentials`; on the upload scope, a request elsewhere costs two comparisons. */
  covers(request: AuthRequest, path: string): boolean {
    return needsCredentials(request, path, this.#options);
  }

  /**
   * The user whose credentials `fields` carry, or an HttpError: 401 (none, malformed, wrong),
   * 429 (too many failures from `client`), 503 (too many passwords being checked at once).
   */
  async authenticate(fields: FieldList, client: string): Promise<string> {
    const credentials: Credentials = requestCredentials(fields);
    if (credentials.kind === "none") throw unauthorized("no credentials");
    if (credentials.kind === "malformed") {
      throw unauthorized(`malformed credentials (${credentials.reason})`);
    }
    const { user, password } = credentials;
    const { failures, cache, checker } = this.#options;
    // Per address, an IPv6 client per /64, as the upload rate.
    const key = failures === null ? client : addressKey(client);
    if (failures !== null) {
      const waitSeconds = failures.take(key);
      if (waitSeconds > 0) {
        limitWarning.warn(`too many failed logins from ${client}; answering 429`);
        // RFC 6585 §4, as for the upload rate.
        throw new HttpError(429, "too many failed logins", [["Retry-After", String(waitSeconds)]]);
      }
    }
    const stored = this.#users.get(user);
    const digest = stored === undefined || cache === null
      ? null
      : cache.digest(user, stored, password);
    if (digest !== null && cache !== null && cache.has(digest)) {
      failures?.refund(key);
      return user;
    }
    const checking = checker.check(password, stored ?? this.#dummyHash);
    if (checking === null) {
      failures?.refund(key);
      busyWarning.warn(
        `${checker.maxPending} passwords already being checked; answering 503 to ${client}`,
      );
      throw new HttpError(503, "password checks saturated", [
        ["Retry-After", String(this.#options.retryAfterSeconds)],
      ]);
    }
    let ok: boolean;
    try {
      ok = await checking;
    } catch (error) {
      failures?.refund(key);
      throw error;
    }
    if (ok && stored !== undefined) {
      if (digest !== null) cache?.add(digest);
      failures?.refund(key);
      return user;
    }
    // An unknown name is not repeated: it may be a password typed into the name field.
    failureWarning.warn(
      stored === undefined
        ? `failed login from ${client} (no such user)`
        : `failed login from ${client} as ${
          asciiJson(user.slice(0, SHOWN_USER_CHARS))
        } (wrong password)`,
    );
    throw unauthorized("wrong user or password");
  }

  /** Ends the password checker's thread. */
  close(): void {
    this.#options.checker.close();
  }
}

function unauthorized(message: string): HttpError {
  // RFC 9110 §15.5.2: a 401 carries a challenge for the target resource.
  return new HttpError(401, message, [WWW_AUTHENTICATE]);
}

/** The most common bcrypt cost among `users` (ties: the higher), for the dummy hash. */
export function typicalCost(users: ReadonlyMap<string, string>): number {
  const counts = new Map<number, number>();
  for (const hash of users.values()) {
    const cost = bcryptCost(hash);
    counts.set(cost, (counts.get(cost) ?? 0) + 1);
  }
  let best = 10;
  let bestCount = 0;
  for (const [cost, count] of counts) {
    if (count > bestCount || (count === bestCount && cost > best)) {
      best = cost;
      bestCount = count;
    }
  }
  return best;
}

/** Why authentication cannot be set up (start-up turns it into its one line, exit status 1). */
export class AuthSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AuthSetupError";
  }
}

/**
 * The authenticator of `config` (null without `--auth-file` or `--auth`): reads and checks the
 * password file, which must not be one the server would serve (inside the root `rootReal` and
 * not hidden), merges the `--auth` users, and starts the password checker's thread.
 */
export async function prepareAuth(
  config: ServerConfig,
  rootReal: string,
  options: {
    /** The failed-login limit to count in (a listener thread's: shared by all threads). */
    failures?: AddressLimiter | null;
    /** Checks at once (a listener thread's share of `authMaxPendingChecks`). */
    maxPendingChecks?: number;
  } = {},
): Promise<Authenticator | null> {
  if (config.authFile === null && config.authUsers.length === 0) return null;
  const users = new Map<string, string>();
  if (config.authFile !== null) {
    const file = config.authFile;
    let real: string;
    let bytes: Uint8Array;
    try {
      real = await Deno.realPath(file);
      bytes = await Deno.readFile(real);
    } catch (error) {
      throw new AuthSetupError(`cannot read --auth-file "${file}": ${readFailure(error, config)}`);
    }
    if (real.startsWith(`${rootReal}/`) && !isHiddenPath(real.slice(rootReal.length))) {
      throw new AuthSetupError(
        `--auth-file "${file}" is inside the served root, so anyone could download it: ` +
          "move it out of the root (or give it a name starting with a dot, which is never served)",
      );
    }
    try {
      for (const [user, hash] of parseHtpasswd(bytes)) users.set(user, hash);
    } catch (error) {
      if (!(error instanceof HtpasswdError)) throw error;
      throw new AuthSetupError(`--auth-file "${file}": ${error.message}`);
    }
  }
  for (const { user, hash } of config.authUsers) {
    if (users.has(user)) {
      throw new AuthSetupError(
        `user ${JSON.stringify(user)} is given twice (--auth, and --auth or --auth-file)`,
      );
    }
    users.set(user, hash);
  }
  return new Authenticator(users, {
    scope: config.authScope,
    checker: new PasswordChecker(options.maxPendingChecks ?? config.authMaxPendingChecks),
    failures: options.failures !== undefined
      ? options.failures
      : config.authFailuresPerMinute > 0
      ? new RateLimiter(config.authFailuresPerMinute / 60, config.authFailureBurst)
      : null,
    cache: config.authCacheEntries > 0
      ? new CredentialCache(config.authCacheEntries, config.authCacheTtlMs)
      : null,
    retryAfterSeconds: config.retryAfterSeconds,
  });
}

/** Why the password file cannot be read, with the permission to add when the sandbox is why. */
function readFailure(error: unknown, config: ServerConfig): string {
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return `outside the sandbox's --allow-read scope (add it, e.g. --allow-read=${config.root},${config.authFile})`;
  }
  if (error instanceof Deno.errors.NotFound) return "no such file";
  return error instanceof Error ? error.message : String(error);
}
