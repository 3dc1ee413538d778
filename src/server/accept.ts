/**
 * The accept loop: takes connections off any `Deno.Listener` (TCP today, TLS tomorrow) and hands
 * each to the engine, until the listener closes.
 *
 * Invariants:
 * - A failure that belongs to one connection (it was reset or aborted before it could be
 *   accepted, a firewall refused it) costs only that connection: the loop retries at once.
 *   Port scanners and load-balancer health checks reset connections all the time.
 * - Only resource exhaustion (out of descriptors, buffers or memory) backs off, 5 ms doubling
 *   to 1 s, and the back-off resets at the next accepted connection; retrying at once would
 *   spin while nothing can succeed.
 * - A failure of any other kind is logged and retried after a short pause.
 */

import { log, ThrottledWarning } from "../log.ts";

/** errno names that mean the process or the system ran out of something (accept(2)). */
const EXHAUSTION: ReadonlySet<string> = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/**
 * errno names of failures that concern only the connection being accepted: accept(2) on Linux
 * passes pending network errors of the new socket through (ENETDOWN, EPROTO, ENOPROTOOPT,
 * EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP, ENETUNREACH), ECONNABORTED for a connection
 * reset in the queue, EPERM when a firewall rule refuses it; ENOTCONN and ECONNRESET come from
 * reading the peer's address of a connection already reset.
 */
const PER_CONNECTION: ReadonlySet<string> = new Set([
  "ECONNABORTED",
  "ECONNRESET",
  "ENOTCONN",
  "EPERM",
  "EPROTO",
  "ENOPROTOOPT",
  "ENETDOWN",
  "ENETUNREACH",
  "EHOSTDOWN",
  "EHOSTUNREACH",
  "ENONET",
  "EOPNOTSUPP",
  "ETIMEDOUT",
]);

export type AcceptFailure = "closed" | "exhausted" | "connection" | "other";

const BACKOFF_MIN_MS = 5;
const BACKOFF_MAX_MS = 1_000;
/** The pause after a failure of an unknown kind, so a persistent one cannot spin the CPU. */
const OTHER_PAUSE_MS = 5;

/** What an accept failure means for the loop. */
export function classifyAcceptFailure(error: unknown): AcceptFailure {
  // A closed listener is BadResource; Interrupted (EINTR) is worth another try.
  if (error instanceof Deno.errors.BadResource) return "closed";
  if (
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.NotConnected
  ) {
    return "connection";
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (EXHAUSTION.has(code)) return "exhausted";
    if (PER_CONNECTION.has(code)) return "connection";
  }
  return "other";
}

export interface AcceptHooks {
  /** True once the server is stopping: the loop ends at the next failure or connection. */
  stopping(): boolean;
  /** A new connection to serve. */
  onConnection(conn: Deno.Conn): void;
  /** A connection lost before it could be accepted (counted; logged at debug). */
  onLostConnection(error: unknown): void;
}

/** Accepts until the listener is closed; never throws. */
export async function acceptLoop(listener: Deno.Listener, hooks: AcceptHooks): Promise<void> {
  // Both repeat while the cause lasts: one line, then a summary a second.
  const exhausted = new ThrottledWarning(log.server);
  const other = new ThrottledWarning(log.server);
  let backoffMs = BACKOFF_MIN_MS;
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (hooks.stopping()) return;
      const kind = classifyAcceptFailure(error);
      if (kind === "closed") return;
      if (kind === "connection") {
        hooks.onLostConnection(error);
        continue;
      }
      const pauseMs = kind === "exhausted" ? backoffMs : OTHER_PAUSE_MS;
      const why = error instanceof Error ? error.message : String(error);
      (kind === "exhausted" ? exhausted : other).warn(
        `accept failed (${why}); retrying in ${pauseMs} ms`,
      );
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
      if (kind === "exhausted") backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
      continue;
    }
    backoffMs = BACKOFF_MIN_MS;
    if (hooks.stopping()) {
      conn.close();
      continue;
    }
    hooks.onConnection(conn);
  }
}
