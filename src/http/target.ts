/**
 * Request-target forms (RFC 9112 §3.2) and the path-safety rules for files under the root.
 *
 * Invariants:
 * - A path returned by `decodePath` is absolute, percent-decoded exactly once, valid UTF-8, and
 *   free of `.`/`..`/empty segments (but for a final one: a trailing "/" names a folder),
 *   backslashes and NUL, so joining it to the root cannot name anything outside the root
 *   lexically. (Symlinks are checked by the file handler.)
 * - What `encodePath` and `encodeQuery` return is plain URI characters (RFC 3986), so it can go
 *   into a header field or an HTML attribute as it is.
 */

import { HttpError } from "./status.ts";

export interface ParsedTarget {
  /** Still percent-encoded path, always starting with "/" ("*" for asterisk-form). */
  rawPath: string;
  /** The query string without "?", or null. */
  query: string | null;
  /** The authority of an absolute-form target (RFC 9112 §3.2.2), or null. */
  authority: string | null;
}

const ABSOLUTE_FORM = /^https?:\/\/([^/?#]*)(.*)$/i;

/** The scheme of an absolute-form target, lower-case; null for the other forms (RFC 9112 §3.2). */
export function targetScheme(target: string): "http" | "https" | null {
  if (/^https:\/\//i.test(target)) return "https";
  return /^http:\/\//i.test(target) ? "http" : null;
}

/** Splits a request-target into its form, path and query; 400 for anything but the four forms. */
export function parseTarget(method: string, target: string): ParsedTarget {
  // A fragment is never sent in a request-target (RFC 9112 §3.2); '#' means a broken client.
  if (target.includes("#")) throw new HttpError(400, "fragment in request target");
  if (target === "*") {
    // RFC 9112 §3.2.4: asterisk-form is only for a server-wide OPTIONS.
    if (method !== "OPTIONS") throw new HttpError(400, "asterisk-form outside OPTIONS");
    return { rawPath: "*", query: null, authority: null };
  }
  let rest = target;
  let authority: string | null = null;
  if (target.charCodeAt(0) !== 0x2f) {
    // RFC 9112 §3.2.2: absolute-form; its authority stands in for Host.
    const match = ABSOLUTE_FORM.exec(target);
    if (match === null) throw new HttpError(400, "unsupported request-target form");
    authority = match[1] as string;
    if (authority === "" || authority.includes("@")) {
      throw new HttpError(400, "invalid authority in absolute-form target");
    }
    // path-abempty: an empty path (also before "?query") means "/" (RFC 9110 §4.2.3).
    rest = match[2] as string;
    if (rest === "" || rest.charCodeAt(0) === 0x3f) rest = `/${rest}`;
  }
  const q = rest.indexOf("?");
  return q < 0
    ? { rawPath: rest, query: null, authority }
    : { rawPath: rest.slice(0, q), query: rest.slice(q + 1), authority };
}

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const ENCODER = new TextEncoder();

/**
 * Percent-decodes `rawPath` once and applies the path-safety rules: 400 for a malformed escape
 * or invalid UTF-8, 403 for `..`, `.`, empty segments, backslashes, NUL or other control bytes.
 */
export function decodePath(rawPath: string): string {
  let path = rawPath;
  if (rawPath.includes("%")) {
    const bytes = new Uint8Array(rawPath.length);
    let n = 0;
    for (let i = 0; i < rawPath.length; i++) {
      const c = rawPath.charCodeAt(i);
      if (c === 0x25) {
        const hi = hexValue(rawPath.charCodeAt(i + 1));
        const lo = hexValue(rawPath.charCodeAt(i + 2));
        if (hi < 0 || lo < 0) throw new HttpError(400, "malformed percent-encoding");
        bytes[n++] = hi * 16 + lo;
        i += 2;
      } else {
        bytes[n++] = c;
      }
    }
    try {
      path = UTF8.decode(bytes.subarray(0, n));
    } catch {
      throw new HttpError(400, "path is not valid UTF-8");
    }
  }
  if (path === "/") return path;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new HttpError(403, "control character in path");
    if (c === 0x5c) throw new HttpError(403, "backslash in path");
  }
  // Leading "/" then segments; "//x" (an absolute path smuggled in) yields an empty segment.
  // An empty last segment is a trailing "/", naming a folder (RFC 3986 §3.3).
  // Each segment is checked where it ends, without splitting the path.
  for (let start = 1; start <= path.length;) {
    let end = path.indexOf("/", start);
    if (end < 0) end = path.length;
    const length = end - start;
    if (
      (length === 0 && end !== path.length) ||
      (length === 1 && path.charCodeAt(start) === 0x2e) ||
      (length === 2 && path.charCodeAt(start) === 0x2e && path.charCodeAt(start + 1) === 0x2e)
    ) {
      throw new HttpError(403, "dot or empty segment in path");
    }
    start = end + 1;
  }
  return path;
}

/**
 * A decoded path (or a name) as a URI path: each segment percent-encoded as UTF-8, except the
 * unreserved characters and `!*'()` (encodeURIComponent), so "/", "?", "#", "%" and spaces in
 * names can never change what the URI means.
 */
export function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** Characters a query may keep as they are (RFC 3986 §3.4: pchar / "/" / "?", and "%XX"). */
const QUERY_UNSAFE = /%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/gu;

/**
 * A received query (without "?") made safe to send back: valid escapes and query characters
 * stay, anything else (a stray "%", quotes, brackets, spaces, control or non-ASCII characters)
 * is percent-encoded.
 */
export function encodeQuery(query: string): string {
  return query.replace(QUERY_UNSAFE, (c) => {
    let out = "";
    for (const byte of ENCODER.encode(c)) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
    return out;
  });
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
