/**
 * serializeHead(), encodeResponse(), errorBody() (src/http/response.ts) and httpDate(),
 * fileStamp() (src/http/date.ts): SPEC.md "Every response" and "Keep-alive".
 */

import assert from "node:assert/strict";
import { SERVER_NAME, SERVER_VERSION } from "../../../src/config.ts";
import { fileStamp, httpDate } from "../../../src/http/date.ts";
import {
  CONTINUE_BYTES,
  encodeResponse,
  errorBody,
  type Field,
  type HeadOptions,
  ResponseMemo,
  serializeHead,
} from "../../../src/http/response.ts";

const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const DECODER = new TextDecoder();
const KEEP_ALIVE = "timeout=30, max=100";

interface ParsedHead {
  statusLine: string;
  fields: Array<[string, string]>;
}

/** Splits a serialised head into its status line and fields; asserts the CRLF framing. */
function parseHead(head: string): ParsedHead {
  assert.ok(head.endsWith("\r\n\r\n"), "head must end with an empty line");
  const lines = head.slice(0, -4).split("\r\n");
  for (const line of lines) assert.ok(!line.includes("\n"), `bare LF in ${JSON.stringify(line)}`);
  const [statusLine, ...rest] = lines;
  const fields = rest.map((line): [string, string] => {
    const colon = line.indexOf(": ");
    assert.ok(colon > 0, `malformed field line ${JSON.stringify(line)}`);
    return [line.slice(0, colon), line.slice(colon + 2)];
  });
  return { statusLine: statusLine ?? "", fields };
}

/** Every value of the field `name` (case-insensitive). */
function values(head: ParsedHead, name: string): string[] {
  return head.fields.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}

const HEAD_CASES: ReadonlyArray<{
  name: string;
  status: number;
  fields: Field[];
  options: HeadOptions;
  statusLine: string;
  contentLength: string[];
  connection: string;
  keepAlive: string[];
}> = [
  {
    name: "200 on a persistent connection",
    status: 200,
    fields: [["Content-Type", "text/html; charset=utf-8"]],
    options: { contentLength: 1234, keepAlive: KEEP_ALIVE },
    statusLine: "HTTP/1.1 200 OK",
    contentLength: ["1234"],
    connection: "keep-alive",
    keepAlive: [KEEP_ALIVE],
  },
  {
    name: "200 closing the connection",
    status: 200,
    fields: [],
    options: { contentLength: 0, keepAlive: null },
    statusLine: "HTTP/1.1 200 OK",
    contentLength: ["0"],
    connection: "close",
    keepAlive: [],
  },
  {
    name: "201 Created",
    status: 201,
    fields: [["Content-Type", "application/json"], ["Location", "/uploads/x.json"]],
    options: { contentLength: 42, keepAlive: KEEP_ALIVE },
    statusLine: "HTTP/1.1 201 Created",
    contentLength: ["42"],
    connection: "keep-alive",
    keepAlive: [KEEP_ALIVE],
  },
  {
    name: "400 closing",
    status: 400,
    fields: [["Content-Type", "text/plain; charset=utf-8"]],
    options: { contentLength: 16, keepAlive: null },
    statusLine: "HTTP/1.1 400 Bad Request",
    contentLength: ["16"],
    connection: "close",
    keepAlive: [],
  },
  {
    name: "404 keep-alive",
    status: 404,
    fields: [],
    options: { contentLength: 14, keepAlive: KEEP_ALIVE },
    statusLine: "HTTP/1.1 404 Not Found",
    contentLength: ["14"],
    connection: "keep-alive",
    keepAlive: [KEEP_ALIVE],
  },
  {
    name: "405 with Allow",
    status: 405,
    fields: [["Allow", "GET, HEAD, POST"]],
    options: { contentLength: 23, keepAlive: KEEP_ALIVE },
    statusLine: "HTTP/1.1 405 Method Not Allowed",
    contentLength: ["23"],
    connection: "keep-alive",
    keepAlive: [KEEP_ALIVE],
  },
  {
    name: "503 with Retry-After",
    status: 503,
    fields: [["Retry-After", "1"]],
    options: { contentLength: 24, keepAlive: null },
    statusLine: "HTTP/1.1 503 Service Unavailable",
    contentLength: ["24"],
    connection: "close",
    keepAlive: [],
  },
  {
    name: "505",
    status: 505,
    fields: [],
    options: { contentLength: 31, keepAlive: null },
    statusLine: "HTTP/1.1 505 HTTP Version Not Supported",
    contentLength: ["31"],
    connection: "close",
    keepAlive: [],
  },
  {
    // RFC 9110 §8.6: a server MUST NOT send Content-Length in a 204.
    name: "204 without Content-Length",
    status: 204,
    fields: [],
    options: { contentLength: 0, keepAlive: KEEP_ALIVE },
    statusLine: "HTTP/1.1 204 No Content",
    contentLength: [],
    connection: "keep-alive",
    keepAlive: [KEEP_ALIVE],
  },
  {
    name: "large Content-Length",
    status: 200,
    fields: [],
    options: { contentLength: 5_000_000_000, keepAlive: null },
    statusLine: "HTTP/1.1 200 OK",
    contentLength: ["5000000000"],
    connection: "close",
    keepAlive: [],
  },
];

for (const c of HEAD_CASES) {
  Deno.test(`serializeHead() writes ${c.name}`, () => {
    const head = parseHead(serializeHead(c.status, c.fields, c.options));
    assert.equal(head.statusLine, c.statusLine);
    const date = values(head, "Date");
    assert.equal(date.length, 1);
    assert.match(date[0] ?? "", IMF_FIXDATE);
    assert.deepEqual(values(head, "Server"), [`${SERVER_NAME}/${SERVER_VERSION}`]);
    assert.deepEqual(values(head, "X-Content-Type-Options"), ["nosniff"]);
    assert.deepEqual(values(head, "Content-Length"), c.contentLength);
    assert.deepEqual(values(head, "Connection"), [c.connection]);
    assert.deepEqual(values(head, "Keep-Alive"), c.keepAlive);
    for (const [name, value] of c.fields) assert.deepEqual(values(head, name), [value]);
  });
}

Deno.test("serializeHead() names the server denohttpd/<version>", () => {
  const head = parseHead(serializeHead(200, [], { contentLength: 0, keepAlive: null }));
  assert.match(values(head, "Server")[0] ?? "", /^denohttpd\/\d+\.\d+\.\d+/);
});

Deno.test("serializeHead() keeps handler fields in order", () => {
  const fields: Field[] = [["X-A", "1"], ["Content-Type", "text/plain"], ["X-B", "2"]];
  const head = parseHead(serializeHead(200, fields, { contentLength: 1, keepAlive: null }));
  const given = new Set(fields.map(([n]) => n));
  const names = head.fields.map(([n]) => n).filter((n) => given.has(n));
  assert.deepEqual(names, ["X-A", "Content-Type", "X-B"]);
});

Deno.test("serializeHead() dates the response now", () => {
  const before = Math.floor(Date.now() / 1000) * 1000;
  const head = parseHead(serializeHead(200, [], { contentLength: 0, keepAlive: null }));
  const after = Date.now();
  const stamped = Date.parse(values(head, "Date")[0] ?? "");
  assert.ok(stamped >= before && stamped <= after, `Date ${stamped} not in [${before}, ${after}]`);
});

const ENCODE_CASES: ReadonlyArray<{ name: string; head: string; body: Uint8Array | null }> = [
  { name: "null body", head: "HTTP/1.1 204 No Content\r\n\r\n", body: null },
  {
    name: "empty body",
    head: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    body: new Uint8Array(),
  },
  {
    name: "text body",
    head: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
    body: new TextEncoder().encode("hello"),
  },
  {
    name: "binary body with every byte value",
    head: "HTTP/1.1 200 OK\r\nContent-Length: 256\r\n\r\n",
    body: Uint8Array.from({ length: 256 }, (_, i) => i),
  },
  {
    name: "body larger than three times the head",
    head: "HTTP/1.1 200 OK\r\n\r\n",
    body: new Uint8Array(100_000).fill(0x61),
  },
];

for (const { name, head, body } of ENCODE_CASES) {
  Deno.test(`encodeResponse() concatenates head and ${name} exactly`, () => {
    const headBytes = new TextEncoder().encode(head);
    const bodyBytes = body ?? new Uint8Array();
    const want = new Uint8Array(headBytes.length + bodyBytes.length);
    want.set(headBytes);
    want.set(bodyBytes, headBytes.length);
    const got = encodeResponse(head, body);
    assert.equal(got.length, want.length);
    assert.deepEqual(got, want);
  });
}

Deno.test("CONTINUE_BYTES is the interim 100 Continue", () => {
  assert.equal(DECODER.decode(CONTINUE_BYTES), "HTTP/1.1 100 Continue\r\n\r\n");
});

const DATE_CASES: ReadonlyArray<{ ms: number; want: string }> = [
  { ms: 0, want: "Thu, 01 Jan 1970 00:00:00 GMT" },
  { ms: 999, want: "Thu, 01 Jan 1970 00:00:00 GMT" },
  { ms: 1000, want: "Thu, 01 Jan 1970 00:00:01 GMT" },
  { ms: 784_111_777_000, want: "Sun, 06 Nov 1994 08:49:37 GMT" }, // RFC 9110 §5.6.7 example
  { ms: Date.UTC(2026, 10, 25, 20, 49, 50), want: "Wed, 25 Nov 2026 20:49:50 GMT" },
  { ms: Date.UTC(2000, 1, 29, 23, 59, 59, 999), want: "Tue, 29 Feb 2000 23:59:59 GMT" },
  { ms: Date.UTC(2024, 11, 31, 9, 5, 3), want: "Tue, 31 Dec 2024 09:05:03 GMT" },
];

for (const { ms, want } of DATE_CASES) {
  Deno.test(`httpDate(${ms}) is ${want}`, () => {
    assert.equal(httpDate(ms), want);
    assert.match(httpDate(ms), IMF_FIXDATE);
  });
}

Deno.test("httpDate() does not reuse the cached value for another second", () => {
  assert.equal(httpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  assert.equal(httpDate(60_000), "Thu, 01 Jan 1970 00:01:00 GMT");
  assert.equal(httpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
});

Deno.test("httpDate() without an argument is now", () => {
  assert.match(httpDate(), IMF_FIXDATE);
  assert.ok(Math.abs(Date.parse(httpDate()) - Date.now()) < 2000);
});

const STAMP_CASES: ReadonlyArray<{ ms: number; want: string }> = [
  { ms: 0, want: "19700101_000000" },
  { ms: Date.UTC(2026, 10, 25, 20, 49, 50), want: "20261125_204950" },
  { ms: Date.UTC(2026, 0, 2, 3, 4, 5, 678), want: "20260102_030405" },
  { ms: Date.UTC(1999, 11, 31, 23, 59, 59, 999), want: "19991231_235959" },
];

for (const { ms, want } of STAMP_CASES) {
  Deno.test(`fileStamp(${ms}) is ${want} in UTC`, () => {
    assert.equal(fileStamp(ms), want);
    assert.match(fileStamp(ms), /^\d{8}_\d{6}$/);
  });
}

const ERROR_BODY_CASES: ReadonlyArray<{ status: number; want: string }> = [
  { status: 400, want: "400 Bad Request\n" },
  { status: 403, want: "403 Forbidden\n" },
  { status: 404, want: "404 Not Found\n" },
  { status: 405, want: "405 Method Not Allowed\n" },
  { status: 413, want: "413 Content Too Large\n" },
  { status: 414, want: "414 URI Too Long\n" },
  { status: 415, want: "415 Unsupported Media Type\n" },
  { status: 431, want: "431 Request Header Fields Too Large\n" },
  { status: 500, want: "500 Internal Server Error\n" },
  { status: 503, want: "503 Service Unavailable\n" },
  { status: 505, want: "505 HTTP Version Not Supported\n" },
];

for (const { status, want } of ERROR_BODY_CASES) {
  Deno.test(`errorBody(${status}) names the status`, () => {
    assert.equal(DECODER.decode(errorBody(status)), want);
  });
}

Deno.test("ResponseMemo: one encoding per variant, equal to serializing afresh", () => {
  const memo = new ResponseMemo();
  const fields: Field[] = [["Content-Type", "text/html; charset=utf-8"], ["ETag", '"a-1"']];
  const body = new TextEncoder().encode("<p>hello</p>");
  for (;;) {
    const second = httpDate();
    const keep = memo.encode(200, fields, body, "timeout=30, max=100", true);
    const close = memo.encode(200, fields, body, null, true);
    const head = memo.encode(200, fields, body, "timeout=30, max=100", false);
    const again = memo.encode(200, fields, body, "timeout=30, max=100", true);
    // A second boundary in between changes Date and the cached bytes; try again.
    if (httpDate() !== second) continue;
    assert.equal(again, keep, "the same bytes are reused within a second");
    const expected = (keepAlive: string | null, withBody: boolean) =>
      DECODER.decode(encodeResponse(
        serializeHead(200, fields, { contentLength: body.length, keepAlive }),
        withBody ? body : null,
      ));
    assert.equal(DECODER.decode(keep), expected("timeout=30, max=100", true));
    assert.equal(DECODER.decode(close), expected(null, true));
    assert.equal(DECODER.decode(head), expected("timeout=30, max=100", false));
    assert.ok(DECODER.decode(head).endsWith("\r\n\r\n"), "HEAD: no body");
    break;
  }
});
