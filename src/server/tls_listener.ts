/**
 * The HTTPS listener: a `Deno.Listener` whose `accept()` yields TLS connections with their
 * handshake complete, so the engine serves them as it serves any connection and never learns
 * about TLS. ALPN offers `http/1.1` only. Each connection's small writes are coalesced
 * (coalescing_conn.ts), since a Deno TLS connection cannot set TCP_NODELAY.
 *
 * Invariants:
 * - Handshakes run concurrently, beside the accept loop: a client that stalls mid-handshake
 *   delays no other connection. Until its handshake finishes a connection is not handed to the
 *   engine, so it holds no worker and no engine connection, only its socket.
 * - A handshake not finished within `handshakeTimeoutMs` is given up: counted, never served.
 *   Deno (2.9) cannot close a TLS connection mid-handshake: `TlsConn.close()` frees the handle
 *   but the runtime keeps the socket until the peer sends or closes (node:tls in Deno behaves
 *   the same). So a given-up connection is kept track of ("held by its peer") until the peer
 *   acts, then closed; and at most `maxPendingHandshakes` connections may be handshaking or
 *   held at once: beyond that the listener stops accepting (new clients wait in the kernel's
 *   backlog) until one ends, so silent peers cannot use up the process's file descriptors.
 * - A failed handshake (a timeout, plain HTTP sent to the port, a client that refuses the
 *   certificate or leaves) is counted and logged at debug with its peer; one info line per
 *   `failureSummaryMs` sums up those of that period, and none is logged when there were none.
 * - `reload(pair)` gives new connections a new certificate without a restart. Deno cannot re-key
 *   a listener, so a second listener is opened on the same address and port (SO_REUSEPORT), the
 *   accept loop moves to it, and the old one is closed. Connections accepted from the old one,
 *   mid-handshake or established, keep its certificate and run to their end. Linux resets the
 *   connections still queued in the old listener (not yet accepted) when it closes, unless
 *   net.ipv4.tcp_migrate_req is 1, which moves them to the new one (README "HTTPS").
 * - An accept failure is handed to the caller unchanged (accept.ts decides how soon to retry);
 *   the underlying listener is asked again only at the caller's next `accept()`.
 */

import { log } from "../log.ts";
import { CoalescingConn } from "./coalescing_conn.ts";
import type { TlsPair } from "./tls.ts";

/** The only protocol spoken over TLS (RFC 7301); a client offering only h2 is refused. */
const ALPN = ["http/1.1"];

/**
 * Whether a listener can share its port (SO_REUSEPORT), which is what reloading needs. In Deno
 * 2.9 `reusePort` is unstable: without `--unstable-net`, asking for it ends the process, so the
 * flag is checked first. `Deno.listenDatagram` exists exactly when `--unstable-net` is given.
 */
export function canSharePort(): boolean {
  return "listenDatagram" in Deno;
}

export interface HttpsListenOptions {
  hostname: string;
  port: number;
  /**
   * The port is already chosen and shared with other listeners of this process (listener
   * threads, SO_REUSEPORT): bind it sharing at once, with no probe. Needs port sharing.
   */
  joinPort?: boolean;
  pair: TlsPair;
  handshakeTimeoutMs: number;
  failureSummaryMs: number;
  maxPendingHandshakes: number;
}

/** What the listener knows about handshakes right now. */
export interface HandshakeStatus {
  /** Handshakes in progress, within their deadline. */
  handshaking: number;
  /** Given up at the deadline, the socket still held open by a silent peer. */
  held: number;
  /** Handshakes that failed (timeouts included) since the listener opened. */
  failed: number;
  /** Handshakes completed since the listener opened. */
  completed: number;
}

/** Why a handshake failed, as counted. */
type FailureKind = "timed out" | "not TLS" | "closed by the client" | "TLS error";

/** Thrown by `reload` when this process cannot open a second listener on the port. */
export class ReloadUnavailableError extends Error {
  constructor() {
    super(
      "reloading needs Deno's --unstable-net (a second listener on the port, SO_REUSEPORT); " +
        "restart the server to use the new certificate, or start it with deno task start:tls",
    );
    this.name = "ReloadUnavailableError";
  }
}

/**
 * Opens the HTTPS listener. With port sharing available the port is first bound without it, so
 * that a port in use is still refused (two servers sharing one port would split its clients),
 * and so that port 0 picks a free port; the TLS listener then shares that port with its
 * successors only.
 */
export function openHttpsListener(options: HttpsListenOptions): HttpsListener {
  const share = canSharePort();
  let port = options.port;
  if (share && !options.joinPort) {
    const probe = Deno.listen({ hostname: options.hostname, port, transport: "tcp" });
    port = (probe.addr as Deno.NetAddr).port;
    probe.close();
  }
  const listener = Deno.listenTls({
    hostname: options.hostname,
    port,
    cert: options.pair.cert,
    key: options.pair.key,
    alpnProtocols: ALPN,
    reusePort: share,
  });
  return new HttpsListener(listener, { ...options, port, share });
}

export class HttpsListener implements Deno.Listener {
  readonly #hostname: string;
  readonly #port: number;
  readonly #share: boolean;
  readonly #handshakeTimeoutMs: number;
  readonly #maxPending: number;
  #current: Deno.TlsListener;
  #closed = false;
  #referenced = true;
  /** Connections whose handshake is complete, waiting for `accept()`. */
  readonly #ready: Deno.TlsConn[] = [];
  /** An accept failure for the next `accept()` to throw. */
  #failure: { error: unknown } | null = null;
  #wake: (() => void) | null = null;
  #pumping = false;
  /** Connections mid-handshake, within their deadline. */
  readonly #handshaking = new Set<Deno.TlsConn>();
  /** Connections given up at the deadline whose socket their silent peer still holds. */
  readonly #held = new Set<Deno.TlsConn>();
  /** Resumes the pump once fewer than maxPendingHandshakes are handshaking or held. */
  #resume: (() => void) | null = null;
  #pausedWarned = false;
  readonly #summaryTimer: ReturnType<typeof setInterval>;
  #summaryStartedAt = Date.now();
  #completed = 0;
  readonly #failed = new Map<FailureKind, number>();
  #completedTotal = 0;
  #failedTotal = 0;

  constructor(
    listener: Deno.TlsListener,
    options: Omit<HttpsListenOptions, "pair" | "joinPort"> & { share: boolean },
  ) {
    this.#current = listener;
    this.#hostname = options.hostname;
    this.#port = options.port;
    this.#share = options.share;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs;
    this.#maxPending = options.maxPendingHandshakes;
    this.#summaryTimer = setInterval(() => this.#summarise(), options.failureSummaryMs);
    Deno.unrefTimer(this.#summaryTimer);
  }

  get addr(): Deno.NetAddr {
    return this.#current.addr;
  }

  get status(): HandshakeStatus {
    return {
      handshaking: this.#handshaking.size,
      held: this.#held.size,
      failed: this.#failedTotal,
      completed: this.#completedTotal,
    };
  }

  /** The next connection whose handshake is complete. */
  async accept(): Promise<Deno.TlsConn> {
    for (;;) {
      if (this.#closed) throw new Deno.errors.BadResource("the HTTPS listener is closed");
      const conn = this.#ready.shift();
      if (conn !== undefined) return conn;
      if (this.#failure !== null) {
        const { error } = this.#failure;
        this.#failure = null;
        throw error;
      }
      const woken = new Promise<void>((resolve) => this.#wake = resolve);
      this.#pump();
      await woken;
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** Accepts from the current listener and starts each handshake, until a failure or close. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#closed && this.#failure === null) {
        // Only handshakes in progress count: one given up (held until its silent peer acts)
        // must not let one client that keeps its sockets open shut the port for good.
        if (this.#handshaking.size >= this.#maxPending) {
          await this.#pause();
          continue;
        }
        const listener = this.#current;
        let conn: Deno.TlsConn;
        try {
          conn = await listener.accept();
        } catch (error) {
          // A reload closed the listener this accept waited on: go on with its successor.
          if (!this.#closed && listener !== this.#current) continue;
          this.#failure = { error };
          break;
        }
        this.#handshake(conn);
      }
    } finally {
      this.#pumping = false;
      this.#notify();
    }
  }

  /** Waits until a handshaking or held connection ends (or the listener closes). */
  async #pause(): Promise<void> {
    if (!this.#pausedWarned) {
      this.#pausedWarned = true;
      log.server.warn(
        "TLS: {pending} connections handshaking (at most {max}); not accepting on port {port} until one ends or times out",
        {
          pending: this.#handshaking.size,
          max: this.#maxPending,
          port: this.#port,
        },
      );
    }
    await new Promise<void>((resolve) => this.#resume = resolve);
  }

  #ended(): void {
    const resume = this.#resume;
    this.#resume = null;
    resume?.();
  }

  #handshake(conn: Deno.TlsConn): void {
    this.#handshaking.add(conn);
    const timer = setTimeout(() => {
      // Closing would free only the handle (see the invariants): keep it until the peer acts.
      if (!this.#handshaking.delete(conn)) return;
      this.#held.add(conn);
      this.#countFailure(conn, "timed out", null);
      this.#ended();
    }, this.#handshakeTimeoutMs);
    Deno.unrefTimer(timer);
    conn.handshake().then(
      () => {
        clearTimeout(timer);
        const inTime = this.#handshaking.delete(conn);
        this.#held.delete(conn);
        this.#ended();
        if (this.#closed || !inTime) {
          close(conn);
          return;
        }
        this.#completed++;
        this.#completedTotal++;
        this.#ready.push(new CoalescingConn(conn));
        this.#notify();
      },
      (error) => {
        clearTimeout(timer);
        const inTime = this.#handshaking.delete(conn);
        this.#held.delete(conn);
        this.#ended();
        close(conn);
        if (inTime && !this.#closed) this.#countFailure(conn, failureKind(error), error);
      },
    );
  }

  #countFailure(conn: Deno.TlsConn, kind: FailureKind, error: unknown): void {
    this.#failedTotal++;
    this.#failed.set(kind, (this.#failed.get(kind) ?? 0) + 1);
    if (log.server.isEnabledFor("debug")) {
      log.server.debug("TLS handshake from {peer} failed ({kind}): {error}", {
        peer: peerOf(conn),
        kind,
        error: kind === "timed out"
          ? `not finished within ${this.#handshakeTimeoutMs} ms`
          : error instanceof Error
          ? error.message
          : String(error),
      });
    }
  }

  #summarise(): void {
    const failed = [...this.#failed.values()].reduce((a, b) => a + b, 0);
    const seconds = Math.round((Date.now() - this.#summaryStartedAt) / 1000);
    if (failed > 0) {
      const kinds = [...this.#failed].map(([kind, n]) => `${n} ${kind}`).join(", ");
      log.server.info(
        "TLS handshakes in the last {seconds} s: {failed} failed ({kinds}), {completed} completed; {handshaking} in progress, {held} given up but held open by their peers (each failure is a debug line)",
        {
          seconds,
          failed,
          kinds,
          completed: this.#completed,
          handshaking: this.#handshaking.size,
          held: this.#held.size,
        },
      );
    }
    if (this.#handshaking.size + this.#held.size < this.#maxPending) this.#pausedWarned = false;
    this.#failed.clear();
    this.#completed = 0;
    this.#summaryStartedAt = Date.now();
  }

  /**
   * Serves new connections with `pair` from now on: opens a listener for it on the same address
   * and port, moves the accept loop to it and closes the old one. Throws when the new listener
   * cannot be opened (the old one then stays), or ReloadUnavailableError without port sharing.
   */
  reload(pair: TlsPair): void {
    if (this.#closed) throw new Deno.errors.BadResource("the HTTPS listener is closed");
    if (!this.#share) throw new ReloadUnavailableError();
    const next = Deno.listenTls({
      hostname: this.#hostname,
      port: this.#port,
      cert: pair.cert,
      key: pair.key,
      alpnProtocols: ALPN,
      reusePort: true,
    });
    if (!this.#referenced) next.unref();
    const old = this.#current;
    this.#current = next;
    // The pump's accept on the old listener now fails, and it goes on with the new one.
    old.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#summaryTimer);
    try {
      this.#current.close();
    } catch {
      // Already closed.
    }
    for (const conn of [...this.#handshaking, ...this.#held]) close(conn);
    this.#handshaking.clear();
    this.#held.clear();
    for (const conn of this.#ready.splice(0)) close(conn);
    this.#ended();
    this.#notify();
  }

  ref(): void {
    this.#referenced = true;
    this.#current.ref();
  }

  unref(): void {
    this.#referenced = false;
    this.#current.unref();
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<Deno.TlsConn> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (error) {
        if (error instanceof Deno.errors.BadResource) return;
        throw error;
      }
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function failureKind(error: unknown): FailureKind {
  if (
    error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.UnexpectedEof ||
    error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionAborted
  ) {
    return "closed by the client";
  }
  // rustls: the first bytes are not a TLS record (e.g. "GET / HTTP/1.1").
  if (
    error instanceof Error && /InvalidContentType|not a TLS|corrupt message/i.test(error.message)
  ) {
    return "not TLS";
  }
  return "TLS error";
}

function peerOf(conn: Deno.Conn): string {
  const { hostname, port } = conn.remoteAddr as Deno.NetAddr;
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

function close(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}
