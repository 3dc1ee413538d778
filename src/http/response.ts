/**
 * Serialising response heads (RFC 9112 §4, §6) and the short bodies of error responses.
 *
 * Invariant: every response carries Date, Server, `X-Content-Type-Options: nosniff` and
 * Connection, and Content-Length unless its status forbids a body (1xx, 204, 304); a persistent
 * one also carries Keep-Alive; and every response of a server carries that server's common
 * fields (`common`: e.g. `Vary: Origin` under a CORS policy). Handler-supplied fields never
 * repeat those.
 */

import { SERVER_NAME, SERVER_VERSION } from "../config.ts";
import { httpDate } from "./date.ts";
import { statusText } from "./status.ts";

export type Field = readonly [string, string];

export interface HeadOptions {
  contentLength: number;
  /** The Keep-Alive value for a persistent connection, or null when this response closes it. */
  keepAlive: string | null;
  /** Field lines every response of this server carries, serialised (see `commonLines`). */
  common?: string;
}

/** `fields` serialised once, for `HeadOptions.common`. */
export function commonLines(fields: readonly Field[]): string {
  let lines = "";
  for (const [name, value] of fields) lines += `${name}: ${value}\r\n`;
  return lines;
}

/**
 * Server, and `nosniff` (Fetch standard §3.5): a browser takes every Content-Type as given and
 * never guesses a script or style out of, say, a download or an error body. In the constant, so
 * it costs nothing per response and no path can leave it out.
 */
const SERVER_LINES =
  `\r\nServer: ${SERVER_NAME}/${SERVER_VERSION}\r\nX-Content-Type-Options: nosniff\r\n`;
const ENCODER = new TextEncoder();

/** The status line and header section, final CRLF included. */
export function serializeHead(
  status: number,
  fields: readonly Field[],
  options: HeadOptions,
): string {
  let head = `HTTP/1.1 ${status} ${statusText(status)}\r\nDate: ${httpDate()}${SERVER_LINES}${
    options.common ?? ""
  }`;
  for (const [name, value] of fields) head += `${name}: ${value}\r\n`;
  // 1xx, 204 and 304 have no content (RFC 9110 §6.4.1); Content-Length is omitted (§8.6).
  if (status >= 200 && status !== 204 && status !== 304) {
    head += `Content-Length: ${options.contentLength}\r\n`;
  }
  head += options.keepAlive === null
    ? "Connection: close\r\n\r\n"
    : `Connection: keep-alive\r\nKeep-Alive: ${options.keepAlive}\r\n\r\n`;
  return head;
}

/** Head and optional body in one buffer, so a small response is one write. */
export function encodeResponse(head: string, body: Uint8Array | null): Uint8Array {
  if (body === null || body.length === 0) return ENCODER.encode(head);
  const out = new Uint8Array(head.length * 3 + body.length);
  const { written } = ENCODER.encodeInto(head, out);
  out.set(body, written);
  return out.subarray(0, written + body.length);
}

/**
 * The encoded bytes of one unchanging response (a cached file's 200), kept per combination of
 * persistence and HEAD-or-GET and rebuilt when the Date second turns: serialising the head and
 * copying the body once a second instead of once a request.
 */
export class ResponseMemo {
  #date = "";
  /** The common lines the variants below were encoded with (one server's, usually). */
  #common = "";
  readonly #variants: (Uint8Array | undefined)[] = [undefined, undefined, undefined, undefined];

  /** Head and (unless `withBody` is false) body of the response, encoded. */
  encode(
    status: number,
    fields: readonly Field[],
    body: Uint8Array,
    keepAlive: string | null,
    withBody: boolean,
    common = "",
  ): Uint8Array {
    const date = httpDate();
    if (date !== this.#date || common !== this.#common) {
      this.#date = date;
      this.#common = common;
      this.#variants.fill(undefined);
    }
    const variant = (keepAlive === null ? 0 : 1) + (withBody ? 2 : 0);
    let bytes = this.#variants[variant];
    if (bytes === undefined) {
      const head = serializeHead(status, fields, {
        contentLength: body.length,
        keepAlive,
        common,
      });
      bytes = encodeResponse(head, withBody ? body : null);
      this.#variants[variant] = bytes;
    }
    return bytes;
  }
}

/** The interim `100 Continue` (RFC 9110 §10.1.1). */
export const CONTINUE_BYTES: Uint8Array = ENCODER.encode("HTTP/1.1 100 Continue\r\n\r\n");

/** `404 Not Found\n`: a short body naming the status, never echoing client input. */
export function errorBody(status: number): Uint8Array {
  return ENCODER.encode(`${status} ${statusText(status)}\n`);
}
