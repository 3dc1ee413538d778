/**
 * What a handler gets (Exchange) and gives back (Reply); the connection does all the I/O.
 *
 * Invariant: a handler never writes to the socket. A Reply's `length` is the Content-Length of
 * the representation, also for HEAD, where the connection sends no body.
 */

import type { RequestHead } from "../http/parser.ts";
import type { Field, ResponseMemo } from "../http/response.ts";
import { errorBody } from "../http/response.ts";
import { type HttpError, statusText } from "../http/status.ts";

export interface Exchange {
  head: RequestHead;
  /** The decoded, path-safe path ("/" already mapped by the router where needed). */
  path: string;
  /**
   * The client's address (IP, without port): the connection's peer, or the address a trusted
   * proxy forwarded (`--trust-proxy`).
   */
  client: string;
  /** The connection's peer address (IP, without port), whatever a proxy says. */
  peer: string;
  /** Reads the whole body (at most maxBodyBytes), sending 100 Continue first if asked for. */
  readBody(): Promise<Uint8Array>;
}

export interface Reply {
  status: number;
  fields: Field[];
  length: number;
  /** Bytes to send, an open file to stream `length` bytes from, or nothing. */
  body: Uint8Array | Deno.FsFile | null;
  /** Extra words for the access log (e.g. the saved upload's name). */
  note?: string;
  /** Set when this exact reply (status, fields, bytes body) repeats: its encodings are reused. */
  memo?: ResponseMemo;
}

/** A short text reply naming the status, with the error's extra fields (Allow, Retry-After). */
export function errorReply(error: HttpError): Reply {
  const body = errorBody(error.status);
  return {
    status: error.status,
    fields: [["Content-Type", "text/plain; charset=utf-8"], ...error.headers],
    length: body.length,
    body,
    note: `${statusText(error.status)}: ${error.message}`,
  };
}
