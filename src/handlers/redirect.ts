/**
 * `--redirect-http`: every request to the plain HTTP listener is answered `308 Permanent
 * Redirect` to the same resource on `https://`: the Host kept, its port replaced by the HTTPS
 * port (left out when that is 443), path and query kept. 308 rather than 301 because a client
 * must repeat the method and body (RFC 9110 §15.4.9), so an upload is not turned into a GET.
 *
 * Invariant: the Location is built from checked parts only — an authority that passed the Host
 * check (its syntax at least, so no space, quote or control character), the decoded, path-safe
 * path encoded again, and the query made safe — so no byte of the request reaches the header
 * or the body unchecked.
 */

import { encodePath, encodeQuery, parseTarget } from "../http/target.ts";
import type { Exchange, Reply } from "./reply.ts";

const ENCODER = new TextEncoder();

/** The name of an authority without its port: `[::1]:8080` → `[::1]`, `Host:80` → `host`. */
export function authorityName(authority: string): string {
  const close = authority.lastIndexOf("]");
  const colon = authority.lastIndexOf(":");
  const name = colon > close ? authority.slice(0, colon) : authority;
  return name.toLowerCase();
}

/** The https:// URL of the resource `ex` asked for, on `httpsPort` of the name in `authority`. */
export function httpsLocation(ex: Exchange, authority: string, httpsPort: number): string {
  const port = httpsPort === 443 ? "" : `:${httpsPort}`;
  // An OPTIONS * (asterisk-form) asks about the server, whose https:// form is its root.
  const path = ex.path === "*" ? "/" : encodePath(ex.path);
  const { query } = parseTarget(ex.head.method, ex.head.target);
  return `https://${authorityName(authority)}${port}${path}${
    query === null ? "" : `?${encodeQuery(query)}`
  }`;
}

/** The 308 to `https://`, with a short text body naming where the resource is now. */
export function httpsRedirect(ex: Exchange, authority: string, httpsPort: number): Reply {
  const location = httpsLocation(ex, authority, httpsPort);
  const body = ENCODER.encode(`308 Permanent Redirect: ${location}\n`);
  return {
    status: 308,
    fields: [["Location", location], ["Content-Type", "text/plain; charset=utf-8"]],
    length: body.length,
    body,
    note: "redirected to https",
  };
}
