/**
 * Host validation (RFC 9112 §3.2, RFC 9110 §7.2): which authorities this server answers for.
 *
 * Accepted: `localhost:PORT`, `127.0.0.1:PORT`, `<configured host>:PORT` and the names added
 * with `--allow-host`, case-insensitive; the port may be omitted only when it is the scheme's
 * default (80 for HTTP, 443 for HTTPS; or, for a name added with port 80 or 443, that port). A
 * syntactically invalid Host is a 400, a valid one naming another server is a 403.
 * `--allow-host '*'` accepts every valid Host.
 */

import { HttpError } from "./status.ts";

// uri-host [ ":" port ] (RFC 3986 §3.2.2): IP-literal in brackets, or reg-name / IPv4.
const HOST_SYNTAX = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(:[0-9]*)?$/;

/** `--allow-host '*'`: no Host check beyond its syntax. */
export const ANY_HOST = "*";

/** The URI schemes this server answers for. */
export type Scheme = "http" | "https";

/** The port an authority without one names, per scheme (RFC 9110 §4.2.1, §4.2.2). */
export const DEFAULT_PORT: Readonly<Record<Scheme, number>> = { http: 80, https: 443 };

/** Which endpoint an allowlist is for: its scheme decides which port a bare name means. */
export interface AllowlistOptions {
  /** Default "http". */
  scheme?: Scheme;
}

/** Bind addresses that take connections on every interface, so also from other machines. */
export function isWildcardAddress(host: string): boolean {
  return host === "0.0.0.0" || host === "::";
}

/**
 * Bind addresses reachable from this machine only: `localhost`, 127.0.0.0/8 and `::1` (also as
 * an IPv4-mapped `::ffff:127.x.y.z`). Any other name may resolve to an outside address.
 */
export function isLoopbackAddress(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, "$1");
  if (name === "localhost" || name === "::1" || name === "0:0:0:0:0:0:0:1") return true;
  const v4 = name.startsWith("::ffff:") ? name.slice(7) : name;
  return /^127\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){2}$/
    .test(v4);
}

/**
 * An `--allow-host` value in canonical form (lower-case; an IPv6 address in brackets): a name
 * or address, with or without `:port`; `*` as it is; null when it is neither (a scheme, a path,
 * a port out of range, spaces).
 */
export function canonicalAllowedHost(text: string): string | null {
  if (text === ANY_HOST) return ANY_HOST;
  let name: string;
  let port: string | undefined;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?$/.exec(text);
  if (bracketed !== null) {
    if (!isIPv6(bracketed[1] as string)) return null;
    name = `[${bracketed[1]}]`;
    port = bracketed[2];
  } else if (text.split(":").length > 2) {
    // More than one colon and no brackets: an IPv6 address (without a port, which would need them).
    if (!isIPv6(text)) return null;
    name = `[${text}]`;
  } else {
    const plain = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?)(?::([0-9]{1,5}))?$/.exec(text);
    if (plain === null) return null;
    name = plain[1] as string;
    port = plain[2];
  }
  name = name.toLowerCase();
  if (port === undefined) return name;
  const number = Number(port);
  if (number < 1 || number > 65535) return null;
  return `${name}:${number}`;
}

/** An IPv6 address (RFC 4291 §2.2): eight groups, or fewer with one `::`, maybe IPv4 last. */
function isIPv6(text: string): boolean {
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = halves.flatMap((half) => half === "" ? [] : half.split(":"));
  let count = groups.length;
  const last = groups.at(-1);
  if (last !== undefined && last.includes(".")) {
    if (
      !/^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$/.test(last)
    ) {
      return false;
    }
    groups.pop();
    count++;
  }
  if (!groups.every((group) => /^[0-9A-Fa-f]{1,4}$/.test(group))) return false;
  return halves.length === 2 ? count <= 7 : count === 8;
}

/**
 * The set of Host values (lower-case) accepted for a server bound to `host`:`port`, with the
 * `--allow-host` names `extra` (canonical, without `*`): a bare name gets the server's port, a
 * name with a port keeps it (a proxy on another port); bare names are accepted too when the port
 * is the scheme's default (80, or 443 for HTTPS), and for a name given with 80 or 443 (the ports
 * a client leaves out of Host).
 */
export function allowedHosts(
  host: string,
  port: number,
  extra: readonly string[] = [],
  options: AllowlistOptions = {},
): Set<string> {
  const bare = port === DEFAULT_PORT[options.scheme ?? "http"];
  const allowed = new Set<string>();
  const names = ["localhost", "127.0.0.1", host.includes(":") ? `[${host}]` : host];
  // Bound to every IPv6 (and IPv4) address, the server is also reached on IPv6 loopback.
  if (host === "::") names.push("[::1]");
  for (const name of names) {
    allowed.add(`${name.toLowerCase()}:${port}`);
    if (bare) allowed.add(name.toLowerCase());
  }
  for (const entry of extra) {
    const colon = entry.lastIndexOf(":");
    if (colon < 0 || entry.endsWith("]")) {
      allowed.add(`${entry}:${port}`);
      if (bare) allowed.add(entry);
    } else {
      allowed.add(entry);
      const given = entry.slice(colon + 1);
      if (given === "80" || given === "443") allowed.add(entry.slice(0, colon));
    }
  }
  return allowed;
}

/**
 * The Host check for a server bound to `host`:`port` with the `--allow-host` values `extra`:
 * the accepted set, or null when `*` is among them (any valid Host is served).
 */
export function hostAllowlist(
  host: string,
  port: number,
  extra: readonly string[],
  options: AllowlistOptions = {},
): ReadonlySet<string> | null {
  return extra.includes(ANY_HOST) ? null : allowedHosts(host, port, extra, options);
}

/**
 * The authority of an absolute-form target as the Host check of an endpoint of scheme
 * `endpoint` reads it: without a port it names the default port of the target's own scheme
 * (RFC 9110 §4.2), so `http://localhost/` sent to HTTPS on 443 means localhost:80, which is not
 * this endpoint, while `https://localhost/` means localhost:443, which is. With the endpoint's
 * scheme the authority is read as a Host field would be.
 */
export function targetAuthority(authority: string, target: Scheme, endpoint: Scheme): string {
  if (target === endpoint) return authority;
  const colon = authority.lastIndexOf(":");
  if (colon >= 0 && colon > authority.lastIndexOf("]")) return authority;
  return `${authority}:${DEFAULT_PORT[target]}`;
}

/**
 * Throws 400 for a malformed authority and 403 for one this server does not serve; with no
 * allowlist (`--allow-host '*'`) only the syntax is checked.
 */
export function checkHost(value: string, allowed: ReadonlySet<string> | null): void {
  if (!HOST_SYNTAX.test(value)) throw new HttpError(400, "malformed Host");
  if (allowed !== null && !allowed.has(value.toLowerCase())) {
    throw new HttpError(403, "Host not served here");
  }
}
