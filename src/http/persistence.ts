/**
 * Whether a connection persists after a response (RFC 9112 §9.3, §9.6; RFC 9110 §10.1.1): one
 * pure decision, made once per exchange, so every rule that can end a connection is in one table.
 *
 * Invariant: the answer is `true` only when the request asked to persist and nothing about the
 * exchange, the connection or the server forbids it.
 */

/** What the decision depends on, gathered by the connection after the handler has answered. */
export interface ExchangeOutcome {
  /** Persistence as the request asked for it (version default and `Connection`). */
  requested: boolean;
  /** The status of the response about to be sent. */
  status: number;
  /** Requests served on this connection, this one included. */
  requestsServed: number;
  /** The server's per-connection request limit (nginx keepalive_requests). */
  maxRequests: number;
  /** The server has begun to stop: this response is the connection's last. */
  stopping: boolean;
  /**
   * The request has body bytes the handler did not read, and the client was asked to wait for
   * `100 Continue`, which was never sent: it may never send them, so the server cannot wait.
   */
  continuePending: boolean;
}

/**
 * Statuses after which the request stream cannot be trusted (framing or limits broken: 400,
 * 413, 414, 431; a deadline passed: 408; an expectation refused: 417), or the server is
 * refusing work (5xx), so the connection ends.
 */
export function statusEndsConnection(status: number): boolean {
  return status === 400 || status === 408 || status === 413 || status === 414 ||
    status === 417 || status === 431 || status >= 500;
}

/** True when the connection may carry another request after this response. */
export function keepAliveAfter(outcome: ExchangeOutcome): boolean {
  return outcome.requested &&
    !outcome.stopping &&
    outcome.requestsServed < outcome.maxRequests &&
    !statusEndsConnection(outcome.status) &&
    !outcome.continuePending;
}
