/**
 * Host validation (RFC 9112 §3.2, RFC 9110 §7.2): which authorities this server answers for.
 *
 * Accepted: `localhost:PORT`, `127.0.0.1:PORT` and `<configured host>:PORT`, case-insensitive;
 * the port may be omitted only when it is 80. A syntactically invalid Host is a 400, a valid one
 * naming another server is a 403.
 */

import { HttpError } from "./status.ts";

// uri-host [ ":" port ] (RFC 3986 §3.2.2): IP-literal in brackets, or reg-name / IPv4.
const HOST_SYNTAX = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(:[0-9]*)?$/;

/** The set of Host values (lower-case) accepted for a server bound to `host`:`port`. */
export function allowedHosts(host: string, port: number): Set<string> {
  const names = ["localhost", "127.0.0.1", host.includes(":") ? `[${host}]` : host];
  const allowed = new Set<string>();
  for (const name of names) {
    allowed.add(`${name.toLowerCase()}:${port}`);
    if (port === 80) allowed.add(name.toLowerCase());
  }
  return allowed;
}

/** Throws 400 for a malformed authority and 403 for one this server does not serve. */
export function checkHost(value: string, allowed: ReadonlySet<string>): void {
  if (!HOST_SYNTAX.test(value)) throw new HttpError(400, "malformed Host");
  if (!allowed.has(value.toLowerCase())) throw new HttpError(403, "Host not served here");
}
