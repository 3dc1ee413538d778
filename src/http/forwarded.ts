/**
 * Client addresses behind reverse proxies: IP addresses and CIDR ranges (RFC 4291 §2.2 and
 * §2.3, RFC 4632), and the client a request was forwarded for, from `Forwarded` (RFC 7239) or
 * `X-Forwarded-For`.
 *
 * Invariants:
 * - A forwarding field counts only for a request whose peer is trusted (`--trust-proxy`), and
 *   what it gives is the rightmost address that is not itself a trusted proxy: each trusted
 *   proxy appends the address it took the request from, so entries further left are whatever
 *   the client wrote, and a client prepending fake entries changes nothing.
 * - Anything other than an IP address among the entries walked (`unknown`, an obfuscated
 *   `_name`, a malformed element or field) gives no answer: the peer's address is used. So does
 *   a request whose `Forwarded` and `X-Forwarded-For` name different clients: a proxy writes
 *   one kind and passes the other on as the client sent it, and which one is unknowable here.
 * - IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports) are IPv4
 *   addresses: they match IPv4 ranges, never IPv6 ones, and are written dotted.
 * - Pure: no I/O, nothing kept between calls.
 */

import type { FieldList } from "./fields.ts";
import { TCHAR } from "./fields.ts";

/** An IPv4 address (one 32-bit word) or an IPv6 address (four), big-endian. */
export interface IpAddress {
  readonly v6: boolean;
  readonly words: readonly number[];
}

/** The addresses whose first `prefix` bits are those of `base` (host bits cleared). */
export interface CidrRange {
  readonly base: IpAddress;
  readonly prefix: number;
}

const DOT = 0x2e;
const COLON = 0x3a;
const ZERO = 0x30;

/**
 * A dotted IPv4 address as one unsigned word, or null (no leading zeros: `010` is not 8).
 * Scanned by character: it runs for every entry of a forwarding field walked.
 */
function parseIpv4(text: string): number | null {
  let word = 0;
  let parts = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = i;
    let octet = 0;
    while (i < n) {
      const d = text.charCodeAt(i) - ZERO;
      if (d < 0 || d > 9) break;
      octet = octet * 10 + d;
      i++;
    }
    const digits = i - start;
    if (digits === 0 || digits > 3 || octet > 255) return null;
    if (digits > 1 && text.charCodeAt(start) === ZERO) return null;
    word = word * 256 + octet;
    parts++;
    if (i === n) break;
    if (text.charCodeAt(i) !== DOT || parts === 4) return null;
    i++;
    if (i === n) return null;
  }
  return parts === 4 ? word : null;
}

/** The value of a hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/**
 * The eight 16-bit groups of an IPv6 address in text form (RFC 4291 §2.2: groups of 1 to 4 hex
 * digits, at most one `::` standing for one or more zero groups, maybe an IPv4 address last),
 * or null. Scanned by character, like `parseIpv4`.
 */
function parseIpv6Groups(text: string): number[] | null {
  const n = text.length;
  const groups: number[] = [];
  /** Where the `::` stands among the groups; -1 when there is none. */
  let gap = -1;
  let i = 0;
  if (n >= 2 && text.charCodeAt(0) === COLON && text.charCodeAt(1) === COLON) {
    gap = 0;
    i = 2;
  }
  while (i < n) {
    if (groups.length === 8) return null;
    const start = i;
    let value = 0;
    while (i < n && i - start < 4) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      value = value * 16 + h;
      i++;
    }
    if (i < n && text.charCodeAt(i) === DOT) {
      const ipv4 = parseIpv4(text.slice(start));
      if (ipv4 === null || groups.length > 6) return null;
      groups.push(Math.floor(ipv4 / 65536), ipv4 % 65536);
      break;
    }
    if (i === start) return null;
    groups.push(value);
    if (i === n) break;
    if (text.charCodeAt(i) !== COLON) return null;
    i++;
    if (i < n && text.charCodeAt(i) === COLON) {
      if (gap >= 0) return null;
      gap = groups.length;
      i++;
    } else if (i === n) {
      return null;
    }
  }
  if (gap < 0) return groups.length === 8 ? groups : null;
  if (groups.length > 7) return null;
  const zeros: number[] = [];
  for (let k = groups.length; k < 8; k++) zeros.push(0);
  groups.splice(gap, 0, ...zeros);
  return groups;
}

/**
 * An IP address in its plain text form (`192.0.2.1`, `2001:db8::1`; no brackets, port or zone),
 * or null. An IPv4-mapped IPv6 address is returned as the IPv4 address.
 */
export function parseIp(text: string): IpAddress | null {
  if (!text.includes(":")) {
    const word = parseIpv4(text);
    return word === null ? null : { v6: false, words: [word] };
  }
  const groups = parseIpv6Groups(text);
  if (groups === null) return null;
  const words: number[] = [];
  for (let i = 0; i < 8; i += 2) {
    words.push((groups[i] as number) * 65536 + (groups[i + 1] as number));
  }
  // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2)
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
    return { v6: false, words: [words[3] as number] };
  }
  return { v6: true, words };
}

/** Dotted IPv4, or IPv6 as RFC 5952 recommends (lower case, the longest run of zeros as `::`). */
export function formatIp(ip: IpAddress): string {
  if (!ip.v6) {
    const w = ip.words[0] as number;
    return `${Math.floor(w / 2 ** 24)}.${Math.floor(w / 65536) % 256}.${
      Math.floor(w / 256) % 256
    }.${w % 256}`;
  }
  const groups: number[] = [];
  for (const w of ip.words) groups.push(Math.floor(w / 65536), w % 65536);
  let bestStart = -1;
  let bestLength = 1; // RFC 5952 §4.2.2: a single zero group is not shortened
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      out += "::";
      i += bestLength - 1;
      continue;
    }
    if (out !== "" && !out.endsWith(":")) out += ":";
    out += (groups[i] as number).toString(16);
  }
  return out;
}

/** `ADDRESS/PREFIX`, or a bare address (`/32`, `/128`); host bits are cleared. Null if neither. */
export function parseCidr(text: string): CidrRange | null {
  const slash = text.indexOf("/");
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (ip === null) return null;
  const max = ip.v6 ? 128 : 32;
  let prefix = max;
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^(0|[1-9][0-9]{0,2})$/.test(digits)) return null;
    prefix = Number(digits);
    if (prefix > max) return null;
  }
  return {
    base: { v6: ip.v6, words: ip.words.map((w, i) => (w & mask(prefix, i)) >>> 0) },
    prefix,
  };
}

/** The mask of a `prefix`-bit range for 32-bit word `i`, as an unsigned number. */
function mask(prefix: number, i: number): number {
  const bits = Math.min(32, Math.max(0, prefix - 32 * i));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** `range` in the form `parseCidr` reads (`127.0.0.0/8`, `::1/128`). */
export function formatCidr(range: CidrRange): string {
  return `${formatIp(range.base)}/${range.prefix}`;
}

/** A set of CIDR ranges, e.g. the trusted proxies or the peers that may read /metrics. */
export class AddressRanges {
  readonly ranges: readonly CidrRange[];
  /** The masks of each range's words, computed once. */
  readonly #masks: readonly number[][];

  constructor(ranges: readonly CidrRange[]) {
    this.ranges = ranges;
    this.#masks = ranges.map(({ base, prefix }) => base.words.map((_, i) => mask(prefix, i)));
  }

  /** Ranges from their text forms; throws a RangeError naming the first that is not one. */
  static parse(texts: readonly string[]): AddressRanges {
    return new AddressRanges(texts.map((text) => {
      const range = parseCidr(text);
      if (range === null) throw new RangeError(`not an address range: ${JSON.stringify(text)}`);
      return range;
    }));
  }

  /** Whether `ip` lies in one of the ranges (of its own family). */
  has(ip: IpAddress): boolean {
    for (let r = 0; r < this.ranges.length; r++) {
      const { base } = this.ranges[r] as CidrRange;
      if (base.v6 !== ip.v6) continue;
      const masks = this.#masks[r] as number[];
      let inside = true;
      for (let i = 0; i < base.words.length && inside; i++) {
        inside = ((ip.words[i] as number) & (masks[i] as number)) >>> 0 === base.words[i];
      }
      if (inside) return true;
    }
    return false;
  }

  /** Whether the address in text form (as a socket reports it) lies in one of the ranges. */
  includes(address: string): boolean {
    const ip = parseIp(address);
    return ip !== null && this.has(ip);
  }
}

/**
 * The client's address for a request from `peer`: when the peer is one of `proxies`, the one
 * its forwarding fields name (see `forwardedFor`), else (or when they name none) the peer.
 */
export function clientAddress(fields: FieldList, peer: string, proxies: AddressRanges): string {
  if (!proxies.includes(peer)) return peer;
  return forwardedFor(fields, proxies) ?? peer;
}

/**
 * The client named by the forwarding fields of a request from a trusted proxy: the rightmost
 * address in `Forwarded` (or else `X-Forwarded-For`) that is not one of `proxies`, or the
 * leftmost when all are; null when the fields give no usable answer (none, malformed, not an
 * address, or the two kinds disagreeing). The caller has checked the peer.
 */
export function forwardedFor(fields: FieldList, proxies: AddressRanges): string | null {
  const forwarded = fields.getAll("forwarded");
  const xff = fields.getAll("x-forwarded-for");
  const a = forwarded.length === 0 ? undefined : walk(forwardedNodes(forwarded), proxies);
  const b = xff.length === 0 ? undefined : walk(xffNodes(xff), proxies);
  if (a !== undefined && b !== undefined && a !== b) return null;
  return a ?? b ?? null;
}

/**
 * From the right: the first node that is not a trusted proxy, or the leftmost if all are.
 * A node that is null (not an address) or a list that is null (malformed) answers null.
 */
function walk(nodes: (IpAddress | null)[] | null, proxies: AddressRanges): string | null {
  if (nodes === null || nodes.length === 0) return null;
  for (let i = nodes.length - 1; i >= 0; i--) {
    const ip = nodes[i] as IpAddress | null;
    if (ip === null) return null;
    if (!proxies.has(ip) || i === 0) return formatIp(ip);
  }
  return null;
}

/**
 * The addresses of `X-Forwarded-For` (every field line, in order; RFC 9110 §5.3), each a bare
 * IPv4 or IPv6 address, optionally with a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`) as
 * some proxies write; null for an element that is none of these (`unknown`).
 */
function xffNodes(values: readonly string[]): (IpAddress | null)[] {
  const nodes: (IpAddress | null)[] = [];
  for (const value of values) {
    for (const part of value.split(",")) {
      const element = part.trim();
      if (element !== "") nodes.push(nodeAddress(element, true));
    }
  }
  return nodes;
}

/**
 * An address with an optional port: `a.b.c.d[:port]` or `[v6][:port]`; with `bare6`, also an
 * IPv6 address without brackets (X-Forwarded-For; RFC 7239 §6 requires the brackets).
 */
function nodeAddress(node: string, bare6: boolean): IpAddress | null {
  if (node.startsWith("[")) {
    const close = node.indexOf("]");
    if (close < 0 || !validPort(node.slice(close + 1))) return null;
    const ip = parseIp(node.slice(1, close));
    return ip !== null && ip.v6 ? ip : null;
  }
  const colon = node.indexOf(":");
  if (colon >= 0 && node.indexOf(":", colon + 1) >= 0) return bare6 ? parseIp(node) : null;
  const ip = parseIp(colon < 0 ? node : node.slice(0, colon));
  if (ip === null || ip.v6 || (colon >= 0 && !validPort(node.slice(colon)))) return null;
  return ip;
}

/** Empty, or `:` and a port (RFC 7239 §6: node-port; an obfuscated `_port` is allowed too). */
function validPort(text: string): boolean {
  return text === "" || /^:([0-9]{1,5}|_[A-Za-z0-9._-]+)$/.test(text);
}

/**
 * The `for=` node of each element of `Forwarded` (RFC 7239 §4; every field line, in order),
 * null for a node that is no address (`unknown`, `_hidden`) or an element without `for`; the
 * whole list null when a field line is malformed (a parameter twice, not token=value, an open
 * quote).
 */
function forwardedNodes(values: readonly string[]): (IpAddress | null)[] | null {
  const nodes: (IpAddress | null)[] = [];
  for (const value of values) {
    const elements = parseForwarded(value);
    if (elements === null) return null;
    for (const node of elements) nodes.push(node === null ? null : nodeAddress(node, false));
  }
  return nodes;
}

const OWS = (c: string | undefined) => c === " " || c === "\t";

/**
 * The `for` values of one `Forwarded` field line, unquoted (null for an element without one),
 * or null when the line is malformed. Grammar (RFC 7239 §4):
 * `1#forwarded-element`, `forwarded-element = [ pair ] *( ";" [ pair ] )`,
 * `pair = token "=" ( token / quoted-string )`.
 */
export function parseForwarded(value: string): (string | null)[] | null {
  const out: (string | null)[] = [];
  let i = 0;
  const n = value.length;
  /** The current element's `for`, and the parameter names it has had (a few at most). */
  let node: string | null = null;
  const seen: string[] = [];
  const end = () => {
    if (seen.length > 0) out.push(node);
    node = null;
    seen.length = 0;
  };
  while (i < n) {
    const c = value[i];
    if (OWS(c)) {
      i++;
      continue;
    }
    if (c === ",") {
      end();
      i++;
      continue;
    }
    if (c === ";") {
      i++;
      continue;
    }
    let j = i;
    while (j < n && TCHAR[value.charCodeAt(j)] === 1) j++;
    if (j === i || value[j] !== "=") return null;
    const name = value.slice(i, j).toLowerCase();
    if (seen.includes(name)) return null; // RFC 7239 §4: each parameter at most once
    seen.push(name);
    i = j + 1;
    let parameter: string;
    if (value[i] === '"') {
      let text = "";
      i++;
      for (;;) {
        if (i >= n) return null;
        const q = value[i] as string;
        if (q === '"') break;
        if (q === "\\") {
          i++;
          if (i >= n) return null;
        }
        text += value[i];
        i++;
      }
      i++;
      parameter = text;
    } else {
      let k = i;
      while (k < n && TCHAR[value.charCodeAt(k)] === 1) k++;
      if (k === i) return null;
      parameter = value.slice(i, k);
      i = k;
    }
    if (name === "for") node = parameter;
    // After a pair: OWS, then ";", "," or the end.
    while (OWS(value[i])) i++;
    if (i < n && value[i] !== ";" && value[i] !== ",") return null;
  }
  end();
  return out;
}
