/**
 * Validators, preconditions and byte ranges for static representations (RFC 9110 §8.8, §13,
 * §14), with no I/O: the static-file handler feeds in the request fields and the file's facts.
 *
 * Invariants:
 * - A field this module cannot parse never makes a request fail: an invalid date or Range is
 *   ignored, as RFC 9110 §13.1.3 and §14.2 allow, and the full representation is sent.
 * - Entity-tags compare strongly for If-Match and If-Range, weakly for If-None-Match (§8.8.3.2).
 */

import { type FieldList, splitList } from "./fields.ts";

/** What a response is validated by: the file's strong ETag and its modification time. */
export interface Validators {
  /** Strong entity-tag, quotes included, e.g. `"3e8-18c2d4f9a10"`. */
  etag: string;
  /** Modification time in whole seconds since the epoch (Last-Modified's precision). */
  modifiedSec: number;
  /** The Last-Modified field value (IMF-fixdate of modifiedSec). */
  lastModified: string;
}

/** ETag and Last-Modified for a file of `size` bytes last modified at `mtimeMs`. */
export function fileValidators(size: number, mtimeMs: number): Validators {
  const modifiedSec = Math.floor(mtimeMs / 1000);
  return {
    // Size and millisecond mtime: a rewrite changes at least one of them.
    etag: `"${size.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`,
    modifiedSec,
    lastModified: new Date(modifiedSec * 1000).toUTCString(),
  };
}

export type Precondition = "proceed" | "not-modified" | "failed";

/**
 * The precondition order of RFC 9110 §13.2.2 for GET and HEAD of an existing representation:
 * If-Match, then If-Unmodified-Since, then If-None-Match, then If-Modified-Since.
 */
export function evaluatePreconditions(fields: FieldList, v: Validators): Precondition {
  const ifMatch = fieldList(fields, "if-match");
  if (ifMatch !== null) {
    // §13.1.1: strong comparison; "*" matches any current representation.
    if (!ifMatch.some((tag) => tag === "*" || strongMatch(tag, v.etag))) return "failed";
  } else {
    const since = singleDate(fields, "if-unmodified-since");
    if (since !== null && v.modifiedSec * 1000 > since) return "failed";
  }
  const ifNoneMatch = fieldList(fields, "if-none-match");
  if (ifNoneMatch !== null) {
    // §13.1.2: weak comparison; when present, If-Modified-Since is ignored (§13.1.3).
    return ifNoneMatch.some((tag) => tag === "*" || weakMatch(tag, v.etag))
      ? "not-modified"
      : "proceed";
  }
  const since = singleDate(fields, "if-modified-since");
  if (since !== null && v.modifiedSec * 1000 <= since) return "not-modified";
  return "proceed";
}

/**
 * Whether a Range may be honoured (RFC 9110 §13.1.5): true without If-Range; with it, true only
 * for the current strong ETag, or for a date equal to Last-Modified.
 */
export function ifRangeHolds(fields: FieldList, v: Validators): boolean {
  const values = fields.getAll("if-range");
  if (values.length === 0) return true;
  if (values.length > 1) return false;
  const value = (values[0] as string).trim();
  if (value.startsWith('"') || value.startsWith("W/")) return strongMatch(value, v.etag);
  const date = parseHttpDate(value);
  return date !== null && date === v.modifiedSec * 1000;
}

export type RangeResult =
  | { kind: "full" }
  | { kind: "unsatisfiable" }
  | { kind: "partial"; start: number; end: number };

/** Range-specs beyond this count are not examined; such a request gets the full file. */
const MAX_RANGE_SPECS = 64;

/**
 * Interprets a Range field (RFC 9110 §14.1.2, §14.2) against a representation of `size` bytes.
 *
 * `full`: no Range, an unknown unit, invalid syntax, an empty file, or more than one range
 * (answered with the whole file, which §14.2 permits). `unsatisfiable`: no range-spec overlaps
 * the file (416). `partial`: one satisfiable range, `end` inclusive.
 */
export function evaluateRange(fields: FieldList, size: number): RangeResult {
  const values = fields.getAll("range");
  if (values.length !== 1 || size === 0) return { kind: "full" };
  const value = values[0] as string;
  const eq = value.indexOf("=");
  // §14.1: the range unit is case-insensitive; "bytes" is the only one served.
  if (eq < 0 || value.slice(0, eq).trim().toLowerCase() !== "bytes") return { kind: "full" };
  const specs = value.slice(eq + 1).split(",");
  if (specs.length > MAX_RANGE_SPECS) return { kind: "full" };

  let satisfiable: { start: number; end: number } | null = null;
  let count = 0;
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec === "") continue; // §5.6.1: empty list elements are ignored.
    const range = parseRangeSpec(spec, size);
    if (range === "invalid") return { kind: "full" };
    count++;
    if (range !== null && satisfiable === null) satisfiable = range;
  }
  if (count === 0) return { kind: "full" };
  if (satisfiable === null) return { kind: "unsatisfiable" };
  if (count > 1) return { kind: "full" };
  return { kind: "partial", ...satisfiable };
}

const DIGITS = /^[0-9]+$/;

/** One range-spec: its byte span, null when unsatisfiable, "invalid" when malformed. */
function parseRangeSpec(
  spec: string,
  size: number,
): { start: number; end: number } | null | "invalid" {
  const dash = spec.indexOf("-");
  if (dash < 0) return "invalid";
  const first = spec.slice(0, dash);
  const last = spec.slice(dash + 1);
  if (first === "") {
    // suffix-range = "-" suffix-length: the last n bytes, satisfiable when n > 0.
    if (!DIGITS.test(last)) return "invalid";
    const n = Number(last);
    return n === 0 ? null : { start: Math.max(0, size - n), end: size - 1 };
  }
  if (!DIGITS.test(first)) return "invalid";
  const start = Number(first);
  let end = size - 1;
  if (last !== "") {
    if (!DIGITS.test(last)) return "invalid";
    const lastPos = Number(last);
    // §14.1.1: last-pos below first-pos makes the range-spec invalid.
    if (lastPos < start) return "invalid";
    end = Math.min(lastPos, size - 1);
  }
  // §14.1.1: an int-range is satisfiable when first-pos is below the length.
  return start < size ? { start, end } : null;
}

/** The members of a list-valued precondition field, or null when the field is absent. */
function fieldList(fields: FieldList, name: string): string[] | null {
  const values = fields.getAll(name);
  if (values.length === 0) return null;
  const out: string[] = [];
  for (const value of values) {
    for (const member of splitList(value)) out.push(member);
  }
  return out;
}

/** entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (RFC 9110 §8.8.3); null when malformed. */
function opaqueTag(tag: string): { weak: boolean; opaque: string } | null {
  const weak = tag.startsWith("W/");
  const opaque = weak ? tag.slice(2) : tag;
  if (opaque.length < 2 || opaque[0] !== '"' || opaque[opaque.length - 1] !== '"') return null;
  // etagc = %x21 / %x23-7E / obs-text: no DQUOTE, space or control inside.
  for (let i = 1; i < opaque.length - 1; i++) {
    const c = opaque.charCodeAt(i);
    if (c === 0x22 || c <= 0x20 || c === 0x7f) return null;
  }
  return { weak, opaque };
}

function strongMatch(tag: string, current: string): boolean {
  const parsed = opaqueTag(tag);
  return parsed !== null && !parsed.weak && parsed.opaque === current;
}

function weakMatch(tag: string, current: string): boolean {
  const parsed = opaqueTag(tag);
  return parsed !== null && parsed.opaque === current;
}

/** A date field that must be a single valid HTTP-date, in epoch ms; null to ignore it. */
function singleDate(fields: FieldList, name: string): number | null {
  const values = fields.getAll(name);
  return values.length === 1 ? parseHttpDate((values[0] as string).trim()) : null;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) ([A-Z][a-z]{2}) (\d{4}) (\d\d):(\d\d):(\d\d) GMT$/;
const RFC850_DATE =
  /^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\d\d)-([A-Z][a-z]{2})-(\d\d) (\d\d):(\d\d):(\d\d) GMT$/;
const ASCTIME_DATE =
  /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})$/;

/**
 * HTTP-date (RFC 9110 §5.6.7) in its three forms, IMF-fixdate, RFC 850 and asctime, to epoch
 * ms; null for anything else (such a field is then ignored).
 */
export function parseHttpDate(value: string): number | null {
  let m = IMF_FIXDATE.exec(value);
  if (m !== null) return utc(m[4], m[3], m[2], m[5], m[6], m[7]);
  m = RFC850_DATE.exec(value);
  if (m !== null) {
    // §5.6.7: a two-digit year more than 50 years in the future is in the past century.
    const yy = Number(m[3]);
    const thisYear = new Date().getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + yy;
    if (year > thisYear + 50) year -= 100;
    return utc(String(year), m[2], m[1], m[4], m[5], m[6]);
  }
  m = ASCTIME_DATE.exec(value);
  if (m !== null) return utc(m[6], m[1], m[2], m[3], m[4], m[5]);
  return null;
}

function utc(
  year: string | undefined,
  month: string | undefined,
  day: string | undefined,
  hour: string | undefined,
  minute: string | undefined,
  second: string | undefined,
): number | null {
  const mon = MONTHS.indexOf(month ?? "");
  const d = Number(day);
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second);
  if (mon < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
  const ms = Date.UTC(Number(year), mon, d, h, mi, Math.min(s, 59));
  // Reject dates such as 31 Feb that Date.UTC would roll over into the next month.
  return new Date(ms).getUTCDate() === d ? ms : null;
}
