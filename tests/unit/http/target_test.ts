/**
 * parseTarget() and decodePath(): request-target forms (RFC 9112 §3.2) and the path-safety rules
 * of SPEC.md "Path safety". Every case is a row; a new case is a new row.
 */

import assert from "node:assert/strict";
import { HttpError } from "../../../src/http/status.ts";
import {
  decodePath,
  encodePath,
  encodeQuery,
  type ParsedTarget,
  parseTarget,
} from "../../../src/http/target.ts";

/** Runs `fn` and returns the status of the HttpError it throws; fails if it returns. */
function statusOf(fn: () => unknown): number {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof HttpError, `expected HttpError, got ${error}`);
    return error.status;
  }
  assert.fail("expected an HttpError, but nothing was thrown");
}

const PARSE_ACCEPTS: ReadonlyArray<
  { name: string; method: string; target: string; want: ParsedTarget }
> = [
  {
    name: "origin-form root",
    method: "GET",
    target: "/",
    want: { rawPath: "/", query: null, authority: null },
  },
  {
    name: "origin-form path",
    method: "GET",
    target: "/index.html",
    want: { rawPath: "/index.html", query: null, authority: null },
  },
  {
    name: "origin-form keeps percent-encoding",
    method: "GET",
    target: "/a%20b.txt",
    want: { rawPath: "/a%20b.txt", query: null, authority: null },
  },
  {
    name: "query split at first ?",
    method: "GET",
    target: "/a.html?x=1&y=2",
    want: { rawPath: "/a.html", query: "x=1&y=2", authority: null },
  },
  {
    name: "query keeps later ?",
    method: "GET",
    target: "/a?b?c",
    want: { rawPath: "/a", query: "b?c", authority: null },
  },
  {
    name: "empty query",
    method: "GET",
    target: "/?",
    want: { rawPath: "/", query: "", authority: null },
  },
  {
    name: "absolute-form http",
    method: "GET",
    target: "http://localhost:8080/index.html",
    want: { rawPath: "/index.html", query: null, authority: "localhost:8080" },
  },
  {
    name: "absolute-form https",
    method: "GET",
    target: "https://example.com/x",
    want: { rawPath: "/x", query: null, authority: "example.com" },
  },
  {
    name: "absolute-form upper-case scheme",
    method: "GET",
    target: "HTTP://LocalHost:8080/a",
    want: { rawPath: "/a", query: null, authority: "LocalHost:8080" },
  },
  {
    name: "absolute-form mixed-case https scheme",
    method: "GET",
    target: "HtTpS://h/a",
    want: { rawPath: "/a", query: null, authority: "h" },
  },
  {
    name: "absolute-form with empty path is /",
    method: "GET",
    target: "http://localhost:8080",
    want: { rawPath: "/", query: null, authority: "localhost:8080" },
  },
  {
    name: "absolute-form with query",
    method: "POST",
    target: "http://127.0.0.1:8080/upload?x=1",
    want: { rawPath: "/upload", query: "x=1", authority: "127.0.0.1:8080" },
  },
  {
    // RFC 9110 §4.2.1: http-URI = "http" "://" authority path-abempty [ "?" query ].
    name: "absolute-form with empty path and a query",
    method: "GET",
    target: "http://localhost:8080?x=1",
    want: { rawPath: "/", query: "x=1", authority: "localhost:8080" },
  },
  {
    name: "absolute-form IPv6 authority",
    method: "GET",
    target: "http://[::1]:8080/a",
    want: { rawPath: "/a", query: null, authority: "[::1]:8080" },
  },
  {
    name: "asterisk-form with OPTIONS",
    method: "OPTIONS",
    target: "*",
    want: { rawPath: "*", query: null, authority: null },
  },
];

for (const { name, method, target, want } of PARSE_ACCEPTS) {
  Deno.test(`parseTarget() accepts ${name}: ${method} ${target}`, () => {
    assert.deepEqual(parseTarget(method, target), want);
  });
}

const PARSE_REJECTS: ReadonlyArray<{ name: string; method: string; target: string }> = [
  { name: "asterisk-form with GET", method: "GET", target: "*" },
  { name: "asterisk-form with HEAD", method: "HEAD", target: "*" },
  { name: "asterisk-form with POST", method: "POST", target: "*" },
  { name: "asterisk followed by a path", method: "OPTIONS", target: "*/a" },
  { name: "authority-form", method: "CONNECT", target: "example.com:443" },
  { name: "relative path", method: "GET", target: "index.html" },
  { name: "empty target", method: "GET", target: "" },
  { name: "fragment", method: "GET", target: "/a#frag" },
  { name: "fragment in absolute-form", method: "GET", target: "http://h/a#b" },
  { name: "unsupported scheme ftp", method: "GET", target: "ftp://h/a" },
  { name: "unsupported scheme file", method: "GET", target: "file:///etc/passwd" },
  { name: "scheme without //", method: "GET", target: "http:/a" },
  { name: "absolute-form with empty authority", method: "GET", target: "http:///etc/passwd" },
  { name: "absolute-form with userinfo", method: "GET", target: "http://user@localhost/a" },
  { name: "absolute-form with user:pass", method: "GET", target: "http://u:p@localhost/a" },
];

for (const { name, method, target } of PARSE_REJECTS) {
  Deno.test(`parseTarget() rejects ${name} with 400: ${JSON.stringify(target)}`, () => {
    assert.equal(statusOf(() => parseTarget(method, target)), 400);
  });
}

const DECODE_ACCEPTS: ReadonlyArray<{ name: string; raw: string; want: string }> = [
  { name: "root", raw: "/", want: "/" },
  { name: "plain file", raw: "/index.html", want: "/index.html" },
  { name: "nested path", raw: "/a/b/c.txt", want: "/a/b/c.txt" },
  { name: "encoded space", raw: "/a%20b.txt", want: "/a b.txt" },
  { name: "plus is not a space", raw: "/a+b.txt", want: "/a+b.txt" },
  { name: "encoded unreserved letters", raw: "/%61%62c", want: "/abc" },
  { name: "valid UTF-8 upper-case hex", raw: "/%C3%A9.txt", want: "/é.txt" },
  { name: "valid UTF-8 lower-case hex", raw: "/%c3%a9.txt", want: "/é.txt" },
  { name: "4-byte UTF-8", raw: "/%F0%9F%98%80", want: "/😀" },
  { name: "decode once: %252e stays %2e", raw: "/%252e", want: "/%2e" },
  { name: "decode once: %252e%252e stays literal", raw: "/%252e%252e/x", want: "/%2e%2e/x" },
  { name: "decode once: %255c stays %5c", raw: "/a%255cb", want: "/a%5cb" },
  { name: "decode once: %2500 stays %00", raw: "/a%2500", want: "/a%00" },
  { name: "encoded slash inside a segment", raw: "/a%2Fb", want: "/a/b" },
  { name: "three dots is a name", raw: "/...", want: "/..." },
  { name: "dotfile is a name", raw: "/.hidden", want: "/.hidden" },
  { name: "dots inside a name", raw: "/a..b", want: "/a..b" },
  { name: "trailing dot name", raw: "/file.", want: "/file." },
  // A trailing "/" names a folder (served by its index.html, a listing or a 403).
  { name: "trailing slash", raw: "/a/", want: "/a/" },
  { name: "nested trailing slash", raw: "/a/b/", want: "/a/b/" },
  { name: "encoded trailing slash", raw: "/a%2F", want: "/a/" },
];

for (const { name, raw, want } of DECODE_ACCEPTS) {
  Deno.test(`decodePath() accepts ${name}: ${raw}`, () => {
    assert.equal(decodePath(raw), want);
  });
}

const DECODE_REJECTS: ReadonlyArray<{ name: string; raw: string; status: number }> = [
  // Dot segments, literal and encoded.
  { name: "dot-dot segment", raw: "/../etc/passwd", status: 403 },
  { name: "dot-dot in the middle", raw: "/a/../b", status: 403 },
  { name: "trailing dot-dot", raw: "/a/..", status: 403 },
  { name: "dot segment", raw: "/./a", status: 403 },
  { name: "trailing dot segment", raw: "/a/.", status: 403 },
  { name: "encoded dot-dot %2e%2e", raw: "/%2e%2e/etc/passwd", status: 403 },
  { name: "encoded dot-dot upper-case %2E%2E", raw: "/%2E%2E/x", status: 403 },
  { name: "half-encoded dot-dot .%2e", raw: "/.%2e/x", status: 403 },
  { name: "half-encoded dot-dot %2e.", raw: "/a/%2e.", status: 403 },
  { name: "encoded dot segment", raw: "/%2e/a", status: 403 },
  { name: "encoded dot-dot with encoded slash", raw: "/a%2F%2e%2e%2Fb", status: 403 },
  // Empty segments and absolute paths.
  { name: "empty segment //", raw: "//etc/passwd", status: 403 },
  { name: "empty segment in the middle", raw: "/a//b", status: 403 },
  { name: "two trailing slashes", raw: "/a//", status: 403 },
  { name: "root and an empty segment", raw: "//", status: 403 },
  { name: "dot segment before a trailing slash", raw: "/a/./", status: 403 },
  { name: "dot-dot segment before a trailing slash", raw: "/a/../", status: 403 },
  { name: "encoded slash making //", raw: "/%2Fetc/passwd", status: 403 },
  { name: "lower-case encoded slash making //", raw: "/a%2f/b", status: 403 },
  // Backslashes.
  { name: "backslash", raw: "/a\\b", status: 403 },
  { name: "encoded backslash %5c", raw: "/a%5cb", status: 403 },
  { name: "encoded backslash %5C", raw: "/%5C..%5Cetc", status: 403 },
  { name: "encoded backslash dot-dot", raw: "/..%5c..%5cetc", status: 403 },
  // NUL and other control characters.
  { name: "encoded NUL", raw: "/a.html%00.txt", status: 403 },
  { name: "raw NUL", raw: "/a\0b", status: 403 },
  { name: "encoded newline", raw: "/a%0Ab", status: 403 },
  { name: "encoded carriage return", raw: "/a%0db", status: 403 },
  { name: "encoded tab", raw: "/a%09b", status: 403 },
  { name: "encoded unit separator", raw: "/a%1fb", status: 403 },
  { name: "encoded DEL", raw: "/a%7Fb", status: 403 },
  // Malformed percent-encoding.
  { name: "lone %", raw: "/%", status: 400 },
  { name: "% at the end", raw: "/a%", status: 400 },
  { name: "non-hex escape %zz", raw: "/%zz", status: 400 },
  { name: "truncated escape %4", raw: "/%4", status: 400 },
  { name: "half-hex escape %4g", raw: "/%4g", status: 400 },
  { name: "escape with sign %+1", raw: "/%+1", status: 400 },
  { name: "malformed escape before valid ones", raw: "/%%32%65", status: 400 },
  // Invalid UTF-8.
  { name: "invalid UTF-8 %ff", raw: "/%ff", status: 400 },
  { name: "truncated UTF-8 sequence", raw: "/%C3", status: 400 },
  { name: "lone continuation byte", raw: "/%80", status: 400 },
  { name: "overlong encoding of /", raw: "/%C0%AF", status: 400 },
  { name: "overlong encoding of .", raw: "/%C0%AE%C0%AE/x", status: 400 },
  { name: "UTF-16 surrogate in UTF-8", raw: "/%ED%A0%80", status: 400 },
];

for (const { name, raw, status } of DECODE_REJECTS) {
  Deno.test(`decodePath() refuses ${name} with ${status}: ${JSON.stringify(raw)}`, () => {
    assert.equal(statusOf(() => decodePath(raw)), status);
  });
}

const ENCODE_PATH_CASES: ReadonlyArray<{ name: string; path: string; want: string }> = [
  { name: "root", path: "/", want: "/" },
  { name: "plain path", path: "/a/b.html", want: "/a/b.html" },
  { name: "folder", path: "/docs/", want: "/docs/" },
  { name: "unreserved and !*'()", path: "/A-z_0.9~!*'()", want: "/A-z_0.9~!*'()" },
  { name: "space", path: "/a b/", want: "/a%20b/" },
  { name: "query and fragment characters", path: "/a?b#c", want: "/a%3Fb%23c" },
  { name: "percent", path: "/100%", want: "/100%25" },
  { name: "quotes and angle brackets", path: '/"<x>"', want: "/%22%3Cx%3E%22" },
  { name: "ampersand, plus, semicolon, colon", path: "/a&b+c;d:e", want: "/a%26b%2Bc%3Bd%3Ae" },
  { name: "non-ASCII", path: "/café/", want: "/caf%C3%A9/" },
  { name: "astral character", path: "/😀", want: "/%F0%9F%98%80" },
  { name: "CR LF", path: "/a\r\nSet-Cookie: x", want: "/a%0D%0ASet-Cookie%3A%20x" },
];

for (const { name, path, want } of ENCODE_PATH_CASES) {
  Deno.test(`encodePath() encodes ${name}: ${JSON.stringify(path)}`, () => {
    assert.equal(encodePath(path), want);
    // What was encoded decodes back to the same path.
    assert.equal(decodeURIComponent(want), path);
  });
}

const ENCODE_QUERY_CASES: ReadonlyArray<{ name: string; query: string; want: string }> = [
  { name: "empty", query: "", want: "" },
  { name: "pairs", query: "a=1&b=2", want: "a=1&b=2" },
  { name: "query characters", query: "x=/a?b:c@d!$'()*+,;", want: "x=/a?b:c@d!$'()*+,;" },
  { name: "valid escapes", query: "q=%41%2f%C3%A9", want: "q=%41%2f%C3%A9" },
  { name: "stray percent", query: "p=100%", want: "p=100%25" },
  { name: "percent before a non-hex", query: "p=%zz", want: "p=%25zz" },
  { name: "quotes and angle brackets", query: 'q="<script>"', want: "q=%22%3Cscript%3E%22" },
  {
    name: "brackets, braces, pipe, caret, backtick",
    query: "[]{}|^`",
    want: "%5B%5D%7B%7D%7C%5E%60",
  },
  { name: "backslash", query: "a\\b", want: "a%5Cb" },
  { name: "space and hash", query: "a b#c", want: "a%20b%23c" },
  { name: "CR LF", query: "a\r\nX: y", want: "a%0D%0AX:%20y" },
  { name: "non-ASCII", query: "q=é😀", want: "q=%C3%A9%F0%9F%98%80" },
];

for (const { name, query, want } of ENCODE_QUERY_CASES) {
  Deno.test(`encodeQuery() keeps a query safe: ${name}`, () => {
    const got = encodeQuery(query);
    assert.equal(got, want);
    assert.match(got, /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/);
  });
}
