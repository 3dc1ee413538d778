/**
 * Validators, preconditions (RFC 9110 §13) and Range (§14) as tables: field values in, decision
 * out. The e2e tests (conditional_test.ts, range_test.ts) check the same rules on the wire.
 */

import assert from "node:assert/strict";
import { FieldList } from "../../../src/http/fields.ts";
import {
  evaluatePreconditions,
  evaluateRange,
  fileValidators,
  ifRangeHolds,
  parseHttpDate,
} from "../../../src/http/validators.ts";

/** A file of 1000 bytes modified at 1994-11-06T08:49:37.250Z. */
const MTIME_MS = Date.UTC(1994, 10, 6, 8, 49, 37, 250);
const V = fileValidators(1000, MTIME_MS);
const LAST_MODIFIED = "Sun, 06 Nov 1994 08:49:37 GMT";
const EARLIER = "Sun, 06 Nov 1994 08:49:36 GMT";
const LATER = "Sun, 06 Nov 1994 08:49:38 GMT";

function fields(...pairs: [string, string][]): FieldList {
  const list = new FieldList();
  for (const [name, value] of pairs) list.add(name.toLowerCase(), value);
  return list;
}

Deno.test("fileValidators: strong ETag of size and mtime, Last-Modified in whole seconds", () => {
  assert.equal(V.etag, `"3e8-${MTIME_MS.toString(16)}"`);
  assert.equal(V.lastModified, LAST_MODIFIED);
  assert.equal(V.modifiedSec, Math.floor(MTIME_MS / 1000));
  assert.notEqual(fileValidators(1001, MTIME_MS).etag, V.etag);
  assert.notEqual(fileValidators(1000, MTIME_MS + 1).etag, V.etag);
});

Deno.test("parseHttpDate: the three HTTP-date forms, and nothing else (RFC 9110 §5.6.7)", () => {
  const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
  assert.equal(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), expected);
  assert.equal(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), expected);
  assert.equal(parseHttpDate("Sun Nov  6 08:49:37 1994"), expected);
  for (
    const bad of [
      "",
      "yesterday",
      "Sun, 06 Nov 1994 08:49:37 UTC",
      "Sun, 6 Nov 1994 08:49:37 GMT",
      "sun, 06 nov 1994 08:49:37 gmt",
      "Sun, 31 Feb 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 24:00:00 GMT",
      "Sun, 06 Foo 1994 08:49:37 GMT",
      "1994-11-06T08:49:37Z",
      " Sun, 06 Nov 1994 08:49:37 GMT",
    ]
  ) {
    assert.equal(parseHttpDate(bad), null, bad);
  }
});

Deno.test("preconditions: the order and outcomes of RFC 9110 §13.2.2", () => {
  const other = '"other"';
  const rows: [string, [string, string][], string][] = [
    ["no conditions", [], "proceed"],
    ["If-Match current", [["If-Match", V.etag]], "proceed"],
    ["If-Match *", [["If-Match", "*"]], "proceed"],
    ["If-Match in a list", [["If-Match", `${other}, ${V.etag}`]], "proceed"],
    ["If-Match other", [["If-Match", other]], "failed"],
    ["If-Match weak (strong comparison)", [["If-Match", `W/${V.etag}`]], "failed"],
    ["If-Match malformed", [["If-Match", "abc"]], "failed"],
    ["If-Unmodified-Since equal", [["If-Unmodified-Since", LAST_MODIFIED]], "proceed"],
    ["If-Unmodified-Since earlier", [["If-Unmodified-Since", EARLIER]], "failed"],
    ["If-Unmodified-Since invalid: ignored", [["If-Unmodified-Since", "soon"]], "proceed"],
    [
      "If-Match wins over If-Unmodified-Since",
      [["If-Match", V.etag], ["If-Unmodified-Since", EARLIER]],
      "proceed",
    ],
    ["If-None-Match current", [["If-None-Match", V.etag]], "not-modified"],
    ["If-None-Match weak (weak comparison)", [["If-None-Match", `W/${V.etag}`]], "not-modified"],
    ["If-None-Match *", [["If-None-Match", "*"]], "not-modified"],
    ["If-None-Match list", [["If-None-Match", `"a", "b,c", ${V.etag}`]], "not-modified"],
    [
      "If-None-Match split fields",
      [["If-None-Match", '"a"'], ["If-None-Match", V.etag]],
      "not-modified",
    ],
    ["If-None-Match other", [["If-None-Match", other]], "proceed"],
    [
      "If-None-Match other beats If-Modified-Since",
      [["If-None-Match", other], ["If-Modified-Since", LATER]],
      "proceed",
    ],
    [
      "If-None-Match match beats If-Modified-Since",
      [["If-None-Match", V.etag], ["If-Modified-Since", EARLIER]],
      "not-modified",
    ],
    ["If-Modified-Since equal", [["If-Modified-Since", LAST_MODIFIED]], "not-modified"],
    ["If-Modified-Since later", [["If-Modified-Since", LATER]], "not-modified"],
    ["If-Modified-Since earlier", [["If-Modified-Since", EARLIER]], "proceed"],
    ["If-Modified-Since invalid", [["If-Modified-Since", "Sun, 06 Nov 1994"]], "proceed"],
    [
      "If-Modified-Since twice: ignored",
      [["If-Modified-Since", LATER], ["If-Modified-Since", LATER]],
      "proceed",
    ],
    [
      "failed If-Match beats a matching If-None-Match",
      [["If-Match", other], ["If-None-Match", V.etag]],
      "failed",
    ],
  ];
  for (const [name, pairs, expected] of rows) {
    assert.equal(evaluatePreconditions(fields(...pairs), V), expected, name);
  }
});

Deno.test("If-Range: the current strong ETag or the exact Last-Modified (RFC 9110 §13.1.5)", () => {
  const rows: [string, [string, string][], boolean][] = [
    ["absent", [], true],
    ["current ETag", [["If-Range", V.etag]], true],
    ["weak ETag", [["If-Range", `W/${V.etag}`]], false],
    ["other ETag", [["If-Range", '"x"']], false],
    ["Last-Modified", [["If-Range", LAST_MODIFIED]], true],
    ["later date", [["If-Range", LATER]], false],
    ["not a date", [["If-Range", "tomorrow"]], false],
    ["twice", [["If-Range", V.etag], ["If-Range", V.etag]], false],
  ];
  for (const [name, pairs, expected] of rows) {
    assert.equal(ifRangeHolds(fields(...pairs), V), expected, name);
  }
});

Deno.test("Range: single ranges, suffixes, unsatisfiable and ignored forms (RFC 9110 §14)", () => {
  const size = 1000;
  const full = { kind: "full" };
  const none = { kind: "unsatisfiable" };
  const part = (start: number, end: number) => ({ kind: "partial", start, end });
  const rows: [string | null, unknown][] = [
    [null, full],
    ["bytes=0-0", part(0, 0)],
    ["bytes=0-499", part(0, 499)],
    ["bytes=500-", part(500, 999)],
    ["bytes=500-5000", part(500, 999)],
    ["bytes=999-999", part(999, 999)],
    ["bytes=-1", part(999, 999)],
    ["bytes=-200", part(800, 999)],
    ["bytes=-5000", part(0, 999)],
    ["BYTES=0-9", part(0, 9)],
    ["bytes=0-9, ", part(0, 9)],
    ["bytes= 0-9", part(0, 9)],
    ["bytes=1000-", none],
    ["bytes=1000-2000", none],
    ["bytes=-0", none],
    ["bytes=1000-,2000-", none],
    ["bytes=0-1,5-6", full],
    ["bytes=0-1,1000-", full],
    ["bytes=5-2", full],
    ["bytes=abc", full],
    ["bytes=", full],
    ["bytes=1-2-3", full],
    ["bytes=--1", full],
    ["bytes=+1-2", full],
    ["bytes=0x1-2", full],
    ["bytes 0-1", full],
    ["items=0-1", full],
    ["bytes=99999999999999999999-", none],
    ["bytes=0-99999999999999999999", part(0, 999)],
  ];
  for (const [value, expected] of rows) {
    const list = value === null ? fields() : fields(["Range", value]);
    assert.deepEqual(evaluateRange(list, size), expected, String(value));
  }
  assert.deepEqual(evaluateRange(fields(["Range", "bytes=0-0"]), 0), full, "empty file");
  assert.deepEqual(
    evaluateRange(fields(["Range", "bytes=0-0"], ["Range", "bytes=1-1"]), size),
    full,
    "two Range fields",
  );
  const many = "bytes=" + Array.from({ length: 100 }, (_, i) => `${i}-${i}`).join(",");
  assert.deepEqual(evaluateRange(fields(["Range", many]), size), full, "many ranges");
});
