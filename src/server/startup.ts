/**
 * Start-up: what must be ready before the first connection is accepted — the site (root,
 * uploads folder, leftovers from a crash, the file cache) and the listening socket.
 *
 * Invariant: every failure here is a StartupError with a one-line reason for the operator;
 * main.ts prints it and exits with its status (1, or 2 for unusable input). Nothing here serves
 * a request.
 */

import type { ServerConfig } from "../config.ts";
import { FileCache } from "../handlers/file_cache.ts";
import { staticRoot } from "../handlers/site_root.ts";
import { corsPolicy } from "../http/cors.ts";
import { isLoopbackAddress, isWildcardAddress } from "../http/host.ts";
import type { Site } from "../handlers/router.ts";
import { type AddressLimiter, RateLimiter } from "../handlers/rate_limit.ts";
import { type UploadResult, uploadResults } from "../handlers/upload.ts";
import { UploadSpace, UploadStore } from "../handlers/upload_store.ts";
import { log } from "../log.ts";
import { AuthSetupError, prepareAuth } from "./auth.ts";

/** A start-up problem with a one-line explanation for the operator. */
export class StartupError extends Error {
  /**
   * The sandbox refused the root or the uploads folder (NotCapable): main.ts adds the
   * `deno run` line that grants them.
   */
  readonly sandboxDenied: boolean;
  /**
   * 1 for a failure of the environment (a port in use, a file that cannot be read); 2 when what
   * the command line names is unusable as it is (a certificate whose key does not match).
   */
  readonly exitStatus: 1 | 2;

  constructor(message: string, options: { sandboxDenied?: boolean; exitStatus?: 1 | 2 } = {}) {
    super(message);
    this.name = "StartupError";
    this.sandboxDenied = options.sandboxDenied ?? false;
    this.exitStatus = options.exitStatus ?? 1;
  }
}

/** Memory for small saved uploads served from a folder outside the root. */
const UPLOADS_CACHE_BYTES = 1 << 20;

export interface PreparedSite {
  site: Site;
  /** Releases what the site holds (the root's watcher). */
  close(): void;
  /** Whether free space on the uploads disk can be measured (see UploadStore.open). */
  freeSpaceKnown: boolean;
}

/**
 * What a listener thread's site shares with the other threads (threads.ts): the count of the
 * uploads folder's space, the per-address limits, its upload counters (in its metrics region).
 * The main thread has prepared the site once (leftovers removed, folder measured, warnings
 * logged); a thread's site only joins it, and logs nothing of its own.
 */
export interface ThreadSite {
  space: UploadSpace;
  freeSpaceKnown: boolean;
  uploadRate: AddressLimiter | null;
  authFailures: AddressLimiter | null;
  /** This thread's share of `authMaxPendingChecks`. */
  authMaxPendingChecks: number;
  uploadResults: Record<UploadResult, number> | null;
}

export interface SiteOptions {
  /** The count of the uploads folder's space to use (the main thread's, shared by the threads). */
  space?: UploadSpace;
  /** Watch the root for changes (the file cache); off for the main thread of threads. */
  watch?: boolean;
  /** A listener thread's site (see ThreadSite). */
  thread?: ThreadSite;
}

/**
 * Resolves the root, makes the uploads folder (`--uploads`, else `<root>/uploads`), removes
 * crash leftovers, sets up the cache.
 */
export async function prepareSite(
  config: ServerConfig,
  options: SiteOptions = {},
): Promise<PreparedSite> {
  const { thread } = options;
  // A thread's lines would repeat the main thread's, once per thread.
  const startup: StartupLog = thread === undefined ? log.server : QUIET;
  let rootReal: string;
  try {
    rootReal = await Deno.realPath(config.root);
    if (!(await Deno.stat(rootReal)).isDirectory) throw new Error("not a directory");
  } catch (error) {
    throw new StartupError(`cannot serve root "${config.root}": ${folderReason(error)}`, {
      sandboxDenied: error instanceof Deno.errors.NotCapable,
    });
  }
  let uploadsDir = config.uploads ?? `${rootReal}/uploads`;
  try {
    await Deno.mkdir(uploadsDir, { recursive: true });
    // Named by its real path, like the root, in the log and to handlers.
    uploadsDir = await Deno.realPath(uploadsDir);
  } catch (error) {
    throw new StartupError(`cannot use uploads folder "${uploadsDir}": ${folderReason(error)}`, {
      sandboxDenied: error instanceof Deno.errors.NotCapable,
    });
  }
  const store = new UploadStore(
    uploadsDir,
    {
      maxBytes: config.uploadsMaxBytes,
      minFreeBytes: config.minFreeBytes,
    },
    undefined,
    thread?.space ?? options.space ?? new UploadSpace(),
  );
  let freeSpaceKnown = true;
  if (thread !== undefined) {
    freeSpaceKnown = thread.freeSpaceKnown;
    store.attach(freeSpaceKnown);
  } else {
    try {
      const { removed, freeSpaceChecked } = await store.open();
      freeSpaceKnown = freeSpaceChecked;
      if (removed > 0) {
        log.server.warn("removed {removed} partial upload(s) left by an earlier crash", {
          removed,
        });
      }
      if (!freeSpaceChecked) {
        log.server.warn(
          "cannot measure free space on {dir} (the sandbox needs --allow-sys=statfs); --min-free-bytes is not enforced",
          { dir: uploadsDir },
        );
      }
    } catch (error) {
      throw new StartupError(`cannot use uploads folder "${uploadsDir}": ${folderReason(error)}`, {
        sandboxDenied: error instanceof Deno.errors.NotCapable,
      });
    }
  }

  let auth;
  try {
    auth = await prepareAuth(
      config,
      rootReal,
      thread === undefined ? {} : {
        failures: thread.authFailures,
        maxPendingChecks: thread.authMaxPendingChecks,
      },
    );
  } catch (error) {
    if (error instanceof AuthSetupError) throw new StartupError(error.message);
    throw error;
  }
  if (auth !== null) {
    startup.info("asking for credentials (HTTP Basic) on {what}; {users} user(s)", {
      what: auth.scope === "all" ? "every request" : "uploads (/upload)",
      users: auth.users,
    });
    if (config.tlsCert === null && !isLoopbackAddress(config.host)) {
      startup.warn(
        "--auth-insecure: passwords cross the network readable by anyone on the way (plain HTTP on {host})",
        { host: config.host },
      );
    }
  }

  const cache = new FileCache(config.fileCacheBytes);
  const cacheFallback = (error: unknown) => {
    startup.warn(
      "cannot watch {root} for changes ({error}); every cached file is confirmed by a stat",
      { root: rootReal, error: reason(error) },
    );
  };
  if (config.fileCacheValidMs > 0 && options.watch !== false) {
    try {
      cache.watch(rootReal, config.fileCacheValidMs, cacheFallback);
    } catch (error) {
      cacheFallback(error);
    }
  }
  return {
    site: {
      root: staticRoot(config, { real: rootReal, cache, uploads: uploadsDir }),
      // Saved uploads are served at /uploads/<name> (a 201's Location) from wherever they are.
      uploadsRoot: uploadsDir === `${rootReal}/uploads` ? null : staticRoot(config, {
        real: uploadsDir,
        // Not watched: every hit is confirmed by a stat (uploads are written, rarely hot).
        cache: new FileCache(UPLOADS_CACHE_BYTES),
        uploads: uploadsDir,
      }, { compression: false }),
      uploadsDir,
      uploads: {
        store,
        rate: thread !== undefined
          ? thread.uploadRate
          : config.uploadRatePerSecond > 0
          ? new RateLimiter(config.uploadRatePerSecond, config.uploadBurst)
          : null,
        results: thread?.uploadResults ?? uploadResults(),
      },
      cors: corsPolicy(config.corsOrigins, config.corsMaxAgeSeconds, {
        authorization: auth !== null,
      }),
      auth,
    },
    close: () => {
      cache.close();
      auth?.close();
    },
    freeSpaceKnown,
  };
}

/** What start-up logs through: the server's log, or nothing (see QUIET). */
interface StartupLog {
  info(message: string, properties: Record<string, unknown>): void;
  warn(message: string, properties: Record<string, unknown>): void;
}

/** Says nothing: a thread's start-up lines, which the main thread has already logged. */
const QUIET: StartupLog = {
  info: () => {},
  warn: () => {},
};

/**
 * The TCP listener of `config.host`:`port` (default `config.port`); with `reusePort`, one of
 * several sharing the port (SO_REUSEPORT, the listener threads').
 */
export function openListener(
  config: ServerConfig,
  options: { port?: number; reusePort?: boolean } = {},
): Deno.Listener {
  const port = options.port ?? config.port;
  try {
    return options.reusePort
      ? Deno.listen({ hostname: config.host, port, transport: "tcp", reusePort: true })
      : Deno.listen({ hostname: config.host, port, transport: "tcp" });
  } catch (error) {
    throw new StartupError(`cannot listen on ${config.host}:${port}: ${reason(error)}`);
  }
}

/**
 * Says which Host values are served when that is not obvious: bound to every interface (other
 * machines reach it by names the server cannot know), with `--allow-host` names, or with the
 * check off (a warning: any page can then reach the server through DNS rebinding).
 */
export function logAcceptedHosts(config: ServerConfig, allowed: ReadonlySet<string> | null): void {
  if (allowed === null) {
    log.server.warn(
      "accepting any Host (--allow-host '*'): a page of any site can reach this server by DNS rebinding",
    );
    return;
  }
  const wildcard = isWildcardAddress(config.host);
  if (!wildcard && config.allowHosts.length === 0) return;
  log.server.info("accepting Host {hosts}{hint}", {
    hosts: [...allowed].join(", "),
    hint: wildcard ? "; add LAN names with --allow-host NAME" : "",
  });
}

/** Why a folder cannot be used; main.ts follows a sandbox refusal with the line that grants it. */
function folderReason(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable) {
    return "outside the sandbox's --allow-read / --allow-write scope";
  }
  return reason(error);
}

/** A one-line reason for a start-up failure, naming the sandbox when it is the cause. */
export function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return "not permitted by the sandbox (check --allow-read / --allow-write / --allow-net)";
  }
  if (error instanceof Deno.errors.NotFound) return "no such file or directory";
  if (error instanceof Deno.errors.AddrInUse) return "address already in use";
  return error instanceof Error ? error.message : String(error);
}
