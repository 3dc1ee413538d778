/**
 * CORS (the Fetch standard's "CORS protocol", §3.2; origins as in RFC 6454): which origins may
 * read this server's responses from a page of theirs, the answer to a preflight, and the fields
 * an actual response gets.
 *
 * Invariants:
 * - An origin is matched by its serialisation `scheme://host[:port]`, scheme and host compared
 *   case-insensitively and a scheme's default port left out (as browsers serialise it); `null`
 *   is matched only when listed literally, never by `*`.
 * - Under a policy every response carries `Vary: Origin` (the server's common fields, see
 *   `corsCommonFields`), with `Origin` or without: a cache must never hand a copy made for a
 *   request without `Origin` (an `<img>`, a plain link) to a page's CORS request, which needs
 *   `Access-Control-Allow-Origin` (Fetch standard, "CORS protocol and HTTP caches").
 * - A request without `Origin` costs one field lookup and allocates nothing; with no policy
 *   (no `--cors`), nothing at all.
 * - Nothing from the client reaches a response unless it passed a strict syntax check first
 *   (the origin, the requested header names), so no client byte can end a field.
 * - Credentials are never invited: `Access-Control-Allow-Credentials` is never sent, so a
 *   browser never attaches the credentials it keeps for this server to a cross-origin request.
 *   With authentication on, a page of a listed origin (never `*`) may send `Authorization`
 *   itself (credentials it holds, e.g. typed into it).
 */

import type { FieldList } from "./fields.ts";
import { isToken } from "./fields.ts";
import type { Field } from "./response.ts";

/** `--cors '*'`: any origin but `null`. */
export const ANY_ORIGIN = "*";

/**
 * Request header names a cross-origin page may send (echoed in `Access-Control-Allow-Headers`):
 * those this server acts on — `Content-Type` (a JSON upload is not a "simple" request), `Range`,
 * `If-Range` and the conditional fields — and the CORS-safelisted `Accept`, `Accept-Language`,
 * `Content-Language`, which need a preflight only for unusual values. Anything else (e.g.
 * `X-Requested-With`) is left out, so a browser refuses to send it; `Authorization` too, but
 * from listed origins when authentication is on (`CorsPolicy.authorization`).
 */
export const CORS_ALLOWED_HEADERS: ReadonlySet<string> = new Set([
  "content-type",
  "range",
  "if-range",
  "if-match",
  "if-none-match",
  "if-modified-since",
  "if-unmodified-since",
  "accept",
  "accept-language",
  "content-language",
]);

/**
 * Response fields a cross-origin script may read beyond the safelisted ones (Content-Type,
 * Content-Length, Last-Modified, …): the validators, ranges, where an upload went, when to
 * retry, what a 405 allows.
 */
const EXPOSE: Field = [
  "Access-Control-Expose-Headers",
  "ETag, Location, Content-Range, Accept-Ranges, Content-Disposition, Retry-After, Allow",
];
const VARY_ORIGIN: Field = ["Vary", "Origin"];
/** Fetch §3.2.6: a preflight's answer also depends on these (Origin is in the common fields). */
const VARY_PREFLIGHT: Field = [
  "Vary",
  "Access-Control-Request-Method, Access-Control-Request-Headers",
];
const COMMON: readonly Field[] = [VARY_ORIGIN];
const ANY_FIELDS: readonly Field[] = [["Access-Control-Allow-Origin", "*"], EXPOSE];

/** The origins allowed to read responses, and the fields each gets, built once. */
export interface CorsPolicy {
  /** `*` was given: every origin but `null` gets `Access-Control-Allow-Origin: *`. */
  readonly any: boolean;
  /** Each listed origin (canonical) → the fields of an actual response to it. */
  readonly listed: ReadonlyMap<string, readonly Field[]>;
  /** `Access-Control-Max-Age` of a preflight's answer, in seconds. */
  readonly maxAgeSeconds: number;
  /** Listed origins may send `Authorization` (authentication is on). */
  readonly authorization: boolean;
}

/** What a preflight asked, and the fields of the resource's part of the answer. */
export interface PreflightAnswer {
  /** Access-Control-Allow-Methods, -Headers (when every requested name is allowed), -Max-Age. */
  fields: Field[];
  /** For the access log: what was asked and anything the browser will refuse. */
  note: string;
}

// RFC 6454 §7.1 serialized-origin, with the host as browsers serialise it (ASCII, no escapes):
// a reg-name / IPv4 address, or an IPv6 literal in brackets.
const ORIGIN_SYNTAX =
  /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([A-Za-z0-9._~-]+|\[[0-9A-Fa-f:.]+\])(?::([0-9]{1,5}))?$/;
/** Ports the URL standard leaves out of a serialisation. */
const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, ws: 80, wss: 443 };

/**
 * The canonical form of an origin (lower-case scheme and host, no default port), `"null"` for
 * `null`, or null when `text` is not an origin (a path, a trailing slash, userinfo, spaces).
 */
export function canonicalOrigin(text: string): string | null {
  if (text === "null") return "null";
  const match = ORIGIN_SYNTAX.exec(text);
  if (match === null) return null;
  const scheme = (match[1] as string).toLowerCase();
  const host = (match[2] as string).toLowerCase();
  if (match[3] === undefined) return `${scheme}://${host}`;
  const port = Number(match[3]);
  if (port > 65535) return null;
  return port === DEFAULT_PORTS[scheme] ? `${scheme}://${host}` : `${scheme}://${host}:${port}`;
}

/**
 * The policy for `origins` (canonical origins, `null`, or `*`), or null when there are none:
 * then no response ever carries a CORS field.
 */
export function corsPolicy(
  origins: readonly string[],
  maxAgeSeconds: number,
  options: { authorization?: boolean } = {},
): CorsPolicy | null {
  if (origins.length === 0) return null;
  const listed = new Map<string, readonly Field[]>();
  let any = false;
  for (const origin of origins) {
    if (origin === ANY_ORIGIN) {
      any = true;
      continue;
    }
    const canonical = canonicalOrigin(origin);
    if (canonical === null) throw new RangeError(`not an origin: ${JSON.stringify(origin)}`);
    listed.set(canonical, [["Access-Control-Allow-Origin", canonical], EXPOSE]);
  }
  return { any, listed, maxAgeSeconds, authorization: options.authorization ?? false };
}

/**
 * The `Access-Control-Allow-Origin` value for a request's `Origin`: the origin itself when
 * listed, `*` when any is allowed, or null (no CORS fields).
 */
export function allowedOrigin(policy: CorsPolicy, origin: string): string | null {
  const canonical = canonicalOrigin(origin);
  if (canonical === null) return null;
  if (policy.listed.has(canonical)) return canonical;
  if (policy.any && canonical !== "null") return ANY_ORIGIN;
  return null;
}

/** True for a CORS preflight (Fetch §4.8): OPTIONS with Origin and a method token to ask about. */
export function isPreflight(request: { method: string; fields: FieldList }): boolean {
  if (request.method !== "OPTIONS" || request.fields.get("origin") === null) return false;
  const asked = request.fields.get("access-control-request-method");
  return asked !== null && isToken(asked);
}

/**
 * The CORS fields of the response to `request`, added where responses are sent: for an allowed
 * origin `Access-Control-Allow-Origin` and `Vary` (and, but for a preflight, the exposed
 * fields); null when there is no policy, no `Origin`, or an origin not allowed. Repeated calls
 * for a listed origin in its canonical form, or under `*`, return the same array.
 */
export function corsFields(
  policy: CorsPolicy | null,
  request: { method: string; fields: FieldList },
): readonly Field[] | null {
  if (policy === null) return null;
  const origin = request.fields.get("origin");
  if (origin === null) return null;
  const allowed = allowedOrigin(policy, origin);
  if (allowed === null) return null;
  if (isPreflight(request)) return [["Access-Control-Allow-Origin", allowed], VARY_PREFLIGHT];
  if (allowed === ANY_ORIGIN) return ANY_FIELDS;
  return policy.listed.get(allowed) ?? null;
}

/** The fields every response carries under `policy` (none without one). */
export function corsCommonFields(policy: CorsPolicy | null): readonly Field[] {
  return policy === null ? [] : COMMON;
}

/**
 * The resource's part of the answer to a preflight from an allowed origin, or null when
 * `request` is no preflight or its origin is not allowed (it is then served like any OPTIONS).
 * `methods` is what the resource allows (its `Allow`). The answer is a 204 even when the method
 * or a header asked about is not allowed: the browser then names what is missing, which a
 * refused preflight would not tell the page's developer.
 */
export function preflight(
  policy: CorsPolicy | null,
  request: { method: string; fields: FieldList },
  methods: string,
): PreflightAnswer | null {
  if (policy === null || !isPreflight(request)) return null;
  const origin = allowedOrigin(policy, request.fields.get("origin") as string);
  if (origin === null) return null;
  // Authorization only from a listed origin: `*` cannot vouch for every site's pages.
  const authorization = policy.authorization && origin !== ANY_ORIGIN;
  const method = request.fields.get("access-control-request-method") as string;
  const fields: Field[] = [["Access-Control-Allow-Methods", methods]];
  const notes = [`CORS preflight for ${method}`];
  if (!methods.split(", ").includes(method)) notes.push(`${method} not allowed`);
  const asked = requestedHeaders(request.fields);
  if (asked === null) {
    notes.push("malformed Access-Control-Request-Headers");
  } else if (asked.length > 0) {
    const refused = asked.filter((name) =>
      !CORS_ALLOWED_HEADERS.has(name) && !(authorization && name === "authorization")
    );
    if (refused.length === 0) fields.push(["Access-Control-Allow-Headers", asked.join(", ")]);
    else notes.push(`header(s) not allowed: ${refused.join(", ")}`);
  }
  fields.push(["Access-Control-Max-Age", String(policy.maxAgeSeconds)]);
  return { fields, note: notes.join("; ") };
}

/**
 * The names in `Access-Control-Request-Headers` (lower-cased; browsers send them so, sorted),
 * [] when there are none, or null when one is not a token.
 */
function requestedHeaders(fields: FieldList): string[] | null {
  const names: string[] = [];
  for (const value of fields.getAll("access-control-request-headers")) {
    for (const part of value.split(",")) {
      const name = part.trim();
      if (name === "") continue;
      if (!isToken(name)) return null;
      names.push(name.toLowerCase());
    }
  }
  return names;
}
