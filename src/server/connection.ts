/**
 * One client connection: read → parse → dispatch → write, repeated while it persists.
 *
 * Invariants:
 * - A connection holds a worker only from the moment its request head is complete until its
 *   response is written; idle time and head reading cost no worker.
 * - Responses go out in request order (one request at a time per connection, RFC 9112 §9.3.2).
 * - Every HttpError, wherever thrown, is turned into a response here, by `#errorReply`, and
 *   `keepAliveAfter` alone decides whether the connection survives an exchange; a response
 *   that ends the connection without a request to answer goes out through `#refuse`.
 * - Timeouts are deadlines checked by the server's sweeper, which calls `expire`.
 */

import { type ParseEvent, type RequestHead, RequestParser } from "../http/parser.ts";
import { corsFields } from "../http/cors.ts";
import { concatBytes } from "../http/bytes.ts";
import { type AddressRanges, forwardedFor } from "../http/forwarded.ts";
import { checkHost, targetAuthority } from "../http/host.ts";
import { keepAliveAfter } from "../http/persistence.ts";
import { CONTINUE_BYTES, encodeResponse, serializeHead } from "../http/response.ts";
import { HttpError } from "../http/status.ts";
import { decodePath, parseTarget, targetScheme } from "../http/target.ts";
import { httpsRedirect } from "../handlers/redirect.ts";
import { errorReply, type Exchange, type Reply } from "../handlers/reply.ts";
import { checkMethod, route } from "../handlers/router.ts";
import { connInfo, log, plain } from "../log.ts";
import { ownReply } from "./endpoints.ts";
import type { Endpoint } from "./endpoint.ts";
import { PoolClosedError } from "./pool.ts";
import type { ServerState } from "./state.ts";

export type ConnState = "new" | "reading" | "active" | "idle" | "closed";
/**
 * What a deadline guards: the first request, a head, the idle time between requests, a body a
 * handler is reading ("body": answered 408), a body drained after its response ("drain": closed
 * without a word, the request was answered), a write, the lingering close.
 */
type DeadlineKind = "first" | "head" | "idle" | "body" | "drain" | "write" | "linger";

/**
 * Bytes asked of the socket per read, and each connection's initial buffer. A request head
 * usually arrives in one read; the buffer grows only for larger input. Every idle connection
 * holds its buffer in a pending read: 4 KiB instead of 16 KiB took the RSS of 1000 idle
 * connections from +40 MiB to +29 MiB (README "Benchmarks").
 */
const READ_BYTES = 4 * 1024;
/** Bytes discarded per read while lingering. */
const LINGER_READ_BYTES = 16 * 1024;
/**
 * At a stop, a connection accepted this recently that has sent nothing yet is left to send its
 * request: a proxy writes it right after connecting, and closing the connection under it fails
 * that request (a reset; nginx's "upstream prematurely closed connection", a 502 for a POST).
 */
const FIRST_REQUEST_GRACE_MS = 1_000;

/** The peer went away (EOF, reset, or our own timeout) while a request was in progress. */
class PeerGone extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PeerGone";
  }
}

export class Connection {
  readonly id: number;
  readonly peer: string;
  /** The peer's IP address. */
  readonly #peerAddress: string;
  /** The trusted proxies (`--trust-proxy`) when the peer is one of them, else null. */
  readonly #proxies: AddressRanges | null;
  /** The client of the exchange in progress: the peer, or whom a trusted proxy named. */
  #client: string;
  state: ConnState = "new";
  /** Epoch ms after which the sweeper expires this connection; 0 = no deadline. */
  deadline = 0;
  #deadlineKind: DeadlineKind = "idle";
  #expired: DeadlineKind | null = null;
  readonly #conn: Deno.Conn;
  readonly #server: ServerState;
  /** The listener's scheme and what follows from it (Host check, HSTS, redirect). */
  readonly #endpoint: Endpoint;
  /** The authority the request in progress named (absolute-form or Host); null: none. */
  #authority: string | null = null;
  readonly #parser: RequestParser;
  #requests = 0;
  #headStartedAt = 0;
  #continueSent = false;
  #lingering = false;
  /** When lingering must end whatever the peer sends (see `#linger`, `closeIfIdle`). */
  #lingerGiveUpAt = 0;
  /** The request being served, until its exchange is over. */
  #current: RequestHead | null = null;
  /** The current exchange has had its response (written whole, or a 408 from the sweeper). */
  #answered = false;
  /** The peer's FIN was read: nothing unread is left in the socket. */
  #peerClosed = false;
  #hostNote = "";
  /** The last authority this connection's Host check accepted, and its note. */
  #hostAccepted: string | null = null;
  #acceptedNote = "";
  /** The exchange in progress: when its head was complete, its worker, its wait for one. */
  #exchangeStartedAt = 0;
  #worker = 0;
  #queuedMs = 0;
  /** The user the exchange in progress authenticated as, if it had to. */
  #user: string | undefined = undefined;
  #closed = false;
  #fate = "closed by peer";
  readonly #openedAt = Date.now();
  /**
   * Whether debug lines are wanted, asked once per connection: asking LogTape costs more per
   * request than parsing the head (the level is set at start-up).
   */
  readonly #debug = log.conn.isEnabledFor("debug");
  readonly #debugAccess = log.access.isEnabledFor("debug");
  readonly #debugPool = log.pool.isEnabledFor("debug");

  constructor(id: number, conn: Deno.Conn, server: ServerState) {
    this.id = id;
    this.#conn = conn;
    this.#server = server;
    this.#endpoint = server.endpointOf(conn);
    this.#parser = new RequestParser(server.limits, READ_BYTES);
    const addr = conn.remoteAddr as Deno.NetAddr;
    this.#peerAddress = addr.hostname;
    this.#client = addr.hostname;
    const proxies = server.trustedProxies;
    this.#proxies = proxies !== null && proxies.includes(addr.hostname) ? proxies : null;
    this.peer = addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`;
  }

  /** Serves requests until the connection ends; never throws. */
  async serve(): Promise<void> {
    connInfo(`conn#${this.id} open from ${this.peer}`);
    try {
      await this.#loop();
    } catch (error) {
      // When we closed the socket ourselves (timeout, shutdown) the fate is already set.
      if (!this.#closed) this.#fate = describeFailure(error, this.#expired);
      if (!(error instanceof PeerGone) && !(error instanceof Deno.errors.ConnectionReset)) {
        // One line; the stack only at debug, so a failing disk cannot flood the log.
        log.server.error("conn#{id} failed: {error}", { id: this.id, error: describe(error) });
        log.server.debug("conn#{id} failure: {error}", { id: this.id, error });
      }
    } finally {
      this.#close();
      connInfo(`conn#${this.id} closed after ${this.#requests} request(s): ${this.#fate}`);
    }
  }

  /** Called by the sweeper once `deadline` has passed. */
  expire(): void {
    if (this.#closed) return;
    const kind = this.#deadlineKind;
    this.#expired = kind;
    this.deadline = 0;
    // A lingering connection keeps the fate of the response that ended it.
    if (kind !== "linger") {
      this.#fate = kind === "first"
        ? "closed: no request within the head timeout"
        : `closed: ${kind} timeout`;
    }
    if (kind === "head" || kind === "body") {
      // RFC 9110 §15.5.9: tell a slow client why, then close; never wait on it (the loop's
      // read is still pending, so there is no lingering here). A body too slow is the answer
      // to its request, logged with it.
      const request = kind === "body" ? this.#current : null;
      if (request !== null) this.#answered = true;
      this.#refuse(new HttpError(408, `${kind} too slow`), false, request).catch(() => {})
        .finally(() => this.#close());
    } else {
      this.#close();
    }
  }

  /**
   * Shutdown: closes the connection now if it is between requests. One that is lingering goes
   * on until its peer closes, but for no more than `lingerIdleMs` from now, so its last
   * response is not reset and a trickling peer cannot hold the stop.
   */
  closeIfIdle(): void {
    if (this.#lingering) {
      const hurry = Date.now() + this.#server.config.lingerIdleMs;
      if (hurry < this.#lingerGiveUpAt) {
        this.#lingerGiveUpAt = hurry;
        if (this.deadline > hurry) this.deadline = hurry;
      }
      return;
    }
    if (
      this.state === "idle" ||
      (this.state === "new" && Date.now() - this.#openedAt >= FIRST_REQUEST_GRACE_MS)
    ) {
      this.#fate = "closed for shutdown";
      this.#close();
    }
  }

  /** Shutdown deadline passed: closes whatever it is doing. */
  forceClose(): void {
    if (this.#closed) return;
    if (this.#current !== null && !this.#answered) this.#server.stats.cut++;
    this.#fate = "closed at shutdown deadline";
    this.#close();
  }

  #setState(next: ConnState): void {
    if (next === this.state) return;
    this.state = next;
    if (this.#debug) log.conn.debug("conn#{id} {state}", { id: this.id, state: next });
  }

  async #loop(): Promise<void> {
    for (;;) {
      let event: ParseEvent;
      try {
        event = this.#parser.next();
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        // The head could not be parsed: answer without a request context, then close.
        this.#fate = `closed after ${error.status}`;
        await this.#refuse(error, true, null);
        return;
      }
      if (event.kind === "need-more") {
        const started = this.#parser.headStarted;
        // Between requests at a stop: closed; a new connection still gets its first request.
        if (!started && this.#server.stopping && this.#requests > 0) {
          this.#fate = "closed for shutdown";
          return;
        }
        let kind: DeadlineKind;
        let until: number;
        if (started) {
          if (this.#headStartedAt === 0) this.#headStartedAt = Date.now();
          kind = "head";
          until = this.#headStartedAt + this.#server.config.headTimeoutMs;
          this.#setState("reading");
        } else if (this.#requests === 0) {
          // A new connection must start its first request as promptly as any head completes;
          // one that never sends a byte is closed silently, like nginx does.
          kind = "first";
          until = Date.now() + this.#server.config.headTimeoutMs;
        } else {
          kind = "idle";
          until = Date.now() + this.#server.config.idleTimeoutMs;
          this.#setState("idle");
        }
        if (!await this.#read(kind, until)) {
          if (started) this.#fate = "closed by peer mid-head";
          return;
        }
        if (this.#headStartedAt === 0 && this.#parser.headStarted) {
          this.#headStartedAt = Date.now();
        }
        continue;
      }
      if (event.kind !== "head") throw new Error(`unexpected ${event.kind} event between requests`);
      this.#headStartedAt = 0;
      if (!await this.#handle(event.head)) return;
    }
  }

  /** Serves one request; returns whether the connection persists. */
  #handle(head: RequestHead): Promise<boolean> {
    const server = this.#server;
    this.#requests++;
    server.stats.requests++;
    this.#continueSent = false;
    this.#setState("active");
    this.#exchangeStartedAt = performance.now();
    this.#worker = 0;
    this.#queuedMs = 0;
    this.#user = undefined;
    this.#client = this.#proxies === null
      ? this.#peerAddress
      : forwardedFor(head.fields, this.#proxies) ?? this.#peerAddress;
    this.#current = head;
    this.#answered = false;
    return this.#exchange(head);
  }

  /**
   * The exchange of `head`: the answer, its write, and what the connection does after it; the
   * request is current until it ends.
   */
  async #exchange(head: RequestHead): Promise<boolean> {
    const server = this.#server;
    try {
      let worker = 0;
      let reply: Reply;
      try {
        let ex: Exchange;
        try {
          ex = this.#precheck(head);
        } finally {
          // On arrival, so a request in progress or queued is visible when debugging.
          if (this.#debugAccess) {
            log.access.debug(
              plain(
                `conn#${this.id} ${head.method} ${head.target} HTTP/1.${head.minor} (${this.#hostNote})`,
              ),
            );
          }
        }
        // /healthz and /metrics take no worker and no credentials: a balancer's probe and a
        // scrape are answered even with every worker busy and the queue full (endpoints.ts).
        const own = ownReply(ex, server);
        // Credentials, where asked for, before any body is read and without a worker: a 401 with
        // 100-continue pending ends the connection (persistence.ts), else the body is drained.
        const auth = server.site.auth;
        // A listener that only redirects to HTTPS never asks for credentials: they would cross
        // in clear, and the redirect is all it answers anyway.
        if (
          own === null && auth !== null && this.#endpoint.redirectToPort === null &&
          auth.covers(head, ex.path)
        ) {
          this.#user = await auth.authenticate(head.fields, this.#client);
        }
        const taken = own === null ? server.pool.acquire() : 0;
        if (taken === null) {
          if (server.stopping) throw new PoolClosedError();
          throw new HttpError(503, "request queue full", [
            ["Retry-After", String(server.config.retryAfterSeconds)],
          ]);
        }
        if (typeof taken === "number") {
          worker = taken;
        } else {
          server.noteQueued(this.id);
          const since = Date.now();
          worker = await taken;
          const waited = Date.now() - since;
          // At least 1: a wait is noted even when it took less than a millisecond.
          this.#queuedMs = Math.max(1, waited);
          if (this.#debugPool) {
            log.pool.debug(
              plain(`worker #${worker} took queued conn#${this.id} after ${waited} ms`),
            );
          }
        }
        this.#worker = worker;
        // A plain listener that redirects to HTTPS answers everything with the redirect (after the
        // checks above), but /healthz and /metrics (answered before, own endpoints).
        const redirectTo = this.#endpoint.redirectToPort;
        if (own !== null) {
          reply = own;
        } else if (redirectTo !== null) {
          reply = httpsRedirect(ex, this.#authority ?? this.#localAuthority(), redirectTo);
        } else {
          // A cached file is answered synchronously: no extra turn of the event loop.
          const routed = route(ex, server.site);
          reply = routed instanceof Promise ? await routed : routed;
        }
      } catch (error) {
        if (error instanceof PeerGone) {
          if (worker !== 0) server.pool.release(worker);
          // Unless the sweeper has answered it (408) and logged that already.
          if (!this.#answered) this.#logExchange(head, null, 0, `aborted: ${error.message}`);
          throw error;
        }
        reply = this.#errorReply(error);
      }

      // Decided once the handler has answered, so a stop that began meanwhile makes this
      // response the connection's last.
      const keepAlive = keepAliveAfter({
        requested: head.keepAlive,
        status: reply.status,
        requestsServed: this.#requests,
        maxRequests: server.config.maxRequestsPerConnection,
        // While draining too: persistent clients reconnect, and a balancer routes them elsewhere.
        stopping: server.shuttingDown,
        // RFC 9110 §10.1.1: a client told to wait for 100 Continue may never send the body the
        // handler did not read, so the connection cannot wait for it to be drained.
        continuePending: this.#parser.inBody && head.expect === "100-continue" &&
          !this.#continueSent && head.contentLength !== 0,
      });
      try {
        await this.#sendReply(head, reply, keepAlive);
        this.#answered = true;
      } finally {
        if (worker !== 0) server.pool.release(worker);
      }

      if (!keepAlive) {
        this.#fate = reply.status >= 400 ? `closed after ${reply.status}` : "closed as asked";
        await this.#linger();
        return false;
      }
      try {
        if (this.#parser.inBody) {
          // The end of an empty or fully read body is at hand: no read, no promise.
          const event = this.#parser.next();
          if (event.kind !== "end") await this.#drainBody();
        }
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        // The response is already out; bad framing in the unread body can only end the connection.
        this.#fate = `closed: ${error.message} in the unread body (${error.status})`;
        await this.#linger();
        return false;
      }
      this.#fate = "closed by peer";
      return true;
    } finally {
      this.#current = null;
    }
  }

  /**
   * The checks that need no worker: method, target form, Host, expectation, path safety (the
   * credentials follow in `#exchange`, being asynchronous).
   */
  #precheck(head: RequestHead): Exchange {
    this.#hostNote = "host not checked";
    checkMethod(head.method);
    const target = parseTarget(head.method, head.target);
    // RFC 9112 §3.2.2: an absolute-form target's authority replaces the Host field; without a
    // port it names its own scheme's default port.
    const { scheme, allowedHosts } = this.#endpoint;
    const authority = target.authority === null
      ? head.host
      : targetAuthority(target.authority, targetScheme(head.target) ?? scheme, scheme);
    this.#authority = authority;
    if (authority === null) {
      this.#hostNote = "no Host, HTTP/1.0";
    } else {
      // A persistent connection sends the same Host every time: checked once.
      if (authority !== this.#hostAccepted) {
        this.#hostNote = `host ${authority} rejected`;
        checkHost(authority, allowedHosts);
        this.#hostAccepted = authority;
        this.#acceptedNote = `host ${authority} accepted`;
      }
      this.#hostNote = this.#acceptedNote;
    }
    // RFC 9110 §10.1.1: 100-continue is the only expectation defined.
    if (head.expect !== null && head.expect !== "100-continue") {
      throw new HttpError(417, "unsupported expectation");
    }
    const path = target.rawPath === "*" ? "*" : decodePath(target.rawPath);
    return {
      head,
      path,
      client: this.#client,
      peer: this.#peerAddress,
      readBody: () => this.#readBody(head),
    };
  }

  /** The one place an error becomes a response: an HttpError as it says, anything else a 500. */
  #errorReply(error: unknown): Reply {
    if (error instanceof HttpError) return errorReply(error);
    if (error instanceof PoolClosedError) {
      // A request still waiting for a worker when the stop began: refused at once, not left
      // to sit through the grace period and be cut.
      this.#server.stats.refusedAtStop++;
      return errorReply(
        new HttpError(503, "server stopping", [
          ["Retry-After", String(this.#server.config.retryAfterSeconds)],
        ]),
      );
    }
    log.server.error("conn#{id} internal error: {error}", { id: this.id, error: describe(error) });
    log.server.debug("conn#{id} internal error: {error}", { id: this.id, error });
    return errorReply(new HttpError(500, "internal error"));
  }

  /**
   * Sends `error` as the connection's last response when there is no request to answer (a head
   * that could not be parsed, a head or body too slow); with `linger`, then drains input so the
   * response is not lost to a reset.
   */
  async #refuse(error: HttpError, linger: boolean, request: RequestHead | null): Promise<void> {
    await this.#sendReply(request, this.#errorReply(error), false);
    if (linger) await this.#linger();
  }

  /** The address the client connected to, as an authority: for a request without Host. */
  #localAuthority(): string {
    const { hostname, port } = this.#conn.localAddr as Deno.NetAddr;
    return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
  }

  /** The whole request body (the parser bounds it by maxBodyBytes). */
  async #readBody(head: RequestHead): Promise<Uint8Array> {
    if (head.expect === "100-continue" && !this.#continueSent) {
      this.#continueSent = true;
      if (this.#parser.buffered === 0) await this.#write(CONTINUE_BYTES);
    }
    const parts: Uint8Array[] = [];
    const until = Date.now() + this.#server.config.bodyTimeoutMs;
    for (;;) {
      const event = this.#parser.next();
      if (event.kind === "end") break;
      if (event.kind === "body") {
        parts.push(event.data.slice());
      } else if (event.kind === "need-more" && !await this.#read("body", until)) {
        throw new PeerGone("closed by peer mid-body");
      }
    }
    return concatBytes(parts);
  }

  /** Discards the rest of a request body so the next pipelined request parses. */
  async #drainBody(): Promise<void> {
    const until = Date.now() + this.#server.config.bodyTimeoutMs;
    while (this.#parser.inBody) {
      const event = this.#parser.next();
      if (event.kind === "need-more" && !await this.#read("drain", until)) {
        throw new PeerGone("closed by peer mid-body");
      }
    }
  }

  /** Writes `reply` to `request` (null: its head could not be parsed) and logs the exchange. */
  async #sendReply(request: RequestHead | null, reply: Reply, keepAlive: boolean): Promise<void> {
    const keepAliveValue = keepAlive ? this.#server.keepAliveValue : null;
    const withBody = request?.method !== "HEAD";
    const body = reply.body;
    const progress = { sent: 0 };
    // Every response to an allowed Origin gets its CORS fields here, errors too (a refused head
    // still has its fields); none without --cors or an Origin (but `Vary: Origin`, a common
    // field under a policy). Such a response is not the memoised one: serialised afresh.
    const asked = request ?? this.#parser.refusedHead;
    const cors = asked === null ? null : corsFields(this.#server.site.cors, asked);
    // The endpoint's own fields (HSTS over TLS) go on every response it sends, refusals too.
    const added = this.#endpoint.fields;
    let fields = cors === null ? reply.fields : [...reply.fields, ...cors];
    if (added.length > 0) fields = [...fields, ...added];
    try {
      if (
        reply.memo !== undefined && cors === null && added.length === 0 &&
        body instanceof Uint8Array
      ) {
        await this.#write(
          reply.memo.encode(
            reply.status,
            reply.fields,
            body,
            keepAliveValue,
            withBody,
            this.#server.commonHead,
          ),
        );
        if (withBody) progress.sent = body.length;
      } else {
        const head = serializeHead(reply.status, fields, {
          contentLength: reply.length,
          keepAlive: keepAliveValue,
          common: this.#server.commonHead,
        });
        if (!withBody || body === null) {
          await this.#write(encodeResponse(head, null));
        } else if (body instanceof Uint8Array) {
          await this.#write(encodeResponse(head, body));
          progress.sent = body.length;
        } else {
          await this.#write(encodeResponse(head, null));
          await this.#streamFile(body, reply.length, this.#worker, progress);
        }
      }
    } catch (error) {
      const fate = `aborted: ${describeFailure(error, this.#expired)}`;
      this.#logExchange(request, reply, progress.sent, fate);
      throw error;
    } finally {
      if (body !== null && !(body instanceof Uint8Array)) body.close();
    }
    this.#server.stats.responses++;
    this.#logExchange(request, reply, progress.sent, keepAlive ? "keep-alive" : "close");
  }

  /**
   * One access record per exchange, like nginx's access log, also for one cut short. `request`
   * null: no complete head (a refusal); `reply` null: the request ended before any response
   * (e.g. the client left mid-body).
   */
  #logExchange(request: RequestHead | null, reply: Reply | null, sent: number, fate: string): void {
    const now = performance.now();
    this.#server.recordExchange({
      timeMs: Date.now(),
      conn: this.id,
      client: request === null ? this.#peerAddress : this.#client,
      request,
      hostNote: request === null ? "" : this.#hostNote,
      status: reply?.status ?? 0,
      bytes: sent,
      durationMs: request === null ? 0 : now - this.#exchangeStartedAt,
      worker: request === null ? 0 : this.#worker,
      queuedMs: request === null ? 0 : this.#queuedMs,
      fate,
      note: reply?.note,
      user: request === null ? undefined : this.#user,
    });
  }

  /** Sends exactly `length` bytes of `file` in worker-sized chunks; memory stays flat. */
  async #streamFile(
    file: Deno.FsFile,
    length: number,
    worker: number,
    progress: { sent: number },
  ): Promise<void> {
    const chunk = this.#server.fileBuffer(worker);
    while (progress.sent < length) {
      const want = Math.min(chunk.length, length - progress.sent);
      const n = await file.read(chunk.subarray(0, want));
      if (n === null) {
        // The file shrank after its Content-Length went out: the framing can't be honoured.
        throw new PeerGone("file shrank while streaming; connection aborted");
      }
      await this.#write(chunk.subarray(0, n));
      progress.sent += n;
    }
  }

  async #read(kind: DeadlineKind, until: number): Promise<boolean> {
    this.#deadlineKind = kind;
    this.deadline = until;
    let n: number | null;
    try {
      n = await this.#conn.read(this.#parser.spare(READ_BYTES));
    } catch (error) {
      // RFC 9112 §9.8: a TLS client may close without close_notify; the framing tells a cut-off
      // message apart, so this ends the connection as a FIN does.
      if (!(error instanceof Deno.errors.UnexpectedEof)) {
        throw new PeerGone(describeFailure(error, this.#expired));
      }
      n = null;
    } finally {
      this.deadline = 0;
    }
    if (n === null) {
      this.#peerClosed = true;
      return false;
    }
    this.#parser.commit(n);
    return true;
  }

  /**
   * Writes `bytes` whole, each write under the write deadline. Not an async function: the usual
   * case, one write that takes everything, costs one promise (the socket's) and its handler.
   */
  #write(bytes: Uint8Array): Promise<void> {
    this.#deadlineKind = "write";
    this.deadline = Date.now() + this.#server.config.writeTimeoutMs;
    return this.#conn.write(bytes).then(
      (n) => {
        this.deadline = 0;
        if (n < bytes.length) return this.#write(bytes.subarray(n));
      },
      (error) => {
        this.deadline = 0;
        throw new PeerGone(describeFailure(error, this.#expired));
      },
    );
  }

  /**
   * Ends the connection the way nginx's lingering close does: the write side is shut after the
   * last response byte (the peer sees FIN after it), then input is read and discarded until the
   * peer closes, sends nothing for `lingerIdleMs`, or `lingerMaxMs` pass. Closing a socket with
   * unread input makes the kernel send a reset, which destroys response bytes not yet
   * acknowledged; by then the peer has had every chance to take them. Holds no worker.
   */
  async #linger(): Promise<void> {
    if (this.#closed || this.#peerClosed) return;
    this.#lingering = true;
    const { lingerIdleMs, lingerMaxMs, lingerMaxBytes } = this.#server.config;
    try {
      await this.#conn.closeWrite();
      this.#lingerGiveUpAt = Date.now() + lingerMaxMs;
      if (this.#server.stopping) this.#lingerGiveUpAt = Date.now() + lingerIdleMs;
      const sink = new Uint8Array(LINGER_READ_BYTES);
      for (let drained = 0; drained < lingerMaxBytes;) {
        this.#deadlineKind = "linger";
        this.deadline = Math.min(this.#lingerGiveUpAt, Date.now() + lingerIdleMs);
        const n = await this.#conn.read(sink);
        if (n === null) break;
        drained += n;
      }
    } catch {
      // The peer is gone or the linger deadline passed; either way we are closing.
    } finally {
      this.deadline = 0;
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.deadline = 0;
    this.#setState("closed");
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime.
    }
    this.#server.connections.delete(this);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

function describeFailure(error: unknown, expired: DeadlineKind | null): string {
  if (expired !== null) return `closed: ${expired} timeout`;
  if (error instanceof PeerGone) return error.message;
  if (error instanceof Deno.errors.ConnectionReset) return "reset by peer";
  if (error instanceof Deno.errors.BrokenPipe) return "peer stopped reading (broken pipe)";
  if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted) {
    return "closed";
  }
  return `closed on error: ${error instanceof Error ? error.message : String(error)}`;
}
