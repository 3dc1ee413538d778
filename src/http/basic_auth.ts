/**
 * HTTP Basic authentication (RFC 7617) on the wire: the credentials of a request's
 * `Authorization` field, and the challenge of a `401`.
 *
 * Invariants:
 * - Pure: bytes and strings in, a verdict out; no store, no clock, no `Deno.*`.
 * - Anything that is not exactly one well-formed `Basic` credential is "malformed", never a
 *   guess: another scheme, no token, bad base64, no colon, bytes that are not UTF-8, control
 *   characters (RFC 7617 §2), or two `Authorization` fields. RFC 9110 §11.6.2 and RFC 7617 ask
 *   for no `400` here, so the server answers every such request as one without credentials.
 */

import type { FieldList } from "./fields.ts";

/** The realm of the challenge (RFC 7617 §2): one protection space, the whole server. */
export const REALM = "denohttpd";

/**
 * `WWW-Authenticate` of every `401` (RFC 9110 §11.6.1): the Basic scheme, its realm, and
 * `charset="UTF-8"` (RFC 7617 §2.1), which tells the client to send the user name and password
 * as UTF-8 (in Unicode Normalization Form C).
 */
export const WWW_AUTHENTICATE: readonly [string, string] = [
  "WWW-Authenticate",
  `Basic realm="${REALM}", charset="UTF-8"`,
];

export type Credentials =
  /** No `Authorization` field: the client has not tried yet (a browser then asks its user). */
  | { readonly kind: "none" }
  | { readonly kind: "basic"; readonly user: string; readonly password: string }
  /** Present but unusable; `reason` is for the log, never sent. */
  | { readonly kind: "malformed"; readonly reason: string };

const NONE: Credentials = { kind: "none" };

/** base64 (RFC 4648 §4) with its padding optional: 2 or 3 characters may end a group. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

const UTF8 = new TextDecoder("utf-8", { fatal: true });

/** The credentials of a request's header section. */
export function requestCredentials(fields: FieldList): Credentials {
  const value = fields.get("authorization");
  if (value === null) return NONE;
  if (fields.count("authorization") > 1) {
    return { kind: "malformed", reason: "more than one Authorization field" };
  }
  return parseAuthorization(value);
}

/**
 * One `Authorization` value (OWS already trimmed by the parser). RFC 9110 §11.1: the scheme
 * name is case-insensitive; `credentials = auth-scheme [ 1*SP token68 ]`.
 */
export function parseAuthorization(value: string): Credentials {
  const space = value.indexOf(" ");
  const scheme = space < 0 ? value : value.slice(0, space);
  if (scheme.toLowerCase() !== "basic") return { kind: "malformed", reason: "not Basic" };
  let start = space;
  while (start >= 0 && start < value.length && value.charCodeAt(start) === 0x20) start++;
  const token = space < 0 ? "" : value.slice(start);
  if (token === "") return { kind: "malformed", reason: "Basic without credentials" };
  if (!BASE64.test(token)) return { kind: "malformed", reason: "not base64" };
  let text: string;
  try {
    text = UTF8.decode(decodeBase64(token));
  } catch {
    return { kind: "malformed", reason: "not UTF-8" };
  }
  // RFC 7617 §2: user-pass = user-id ":" password; the user-id cannot contain a colon, the
  // password can.
  const colon = text.indexOf(":");
  if (colon < 0) return { kind: "malformed", reason: "no colon" };
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(text)) return { kind: "malformed", reason: "control characters" };
  return { kind: "basic", user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The `Authorization` value a client sends for `user` and `password` (tests, tools). */
export function basicAuthorization(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return `Basic ${btoa(binary)}`;
}

/** The bytes of base64 `text` (already checked against BASE64), padding optional. */
function decodeBase64(text: string): Uint8Array {
  const unpadded = text.endsWith("==")
    ? text.slice(0, -2)
    : text.endsWith("=")
    ? text.slice(0, -1)
    : text;
  const padded = unpadded + "==".slice(0, (4 - (unpadded.length % 4)) % 4);
  const binary = atob(padded);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
