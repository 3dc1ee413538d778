/**
 * RequestParser cases as data (RFC 9112, SPEC.md "Requests" and "Host validation").
 *
 * Each row is one case: the bytes on the wire and what must come out of them, either the
 * requests in order or the status of the HttpError that refuses them. A new case is a new row.
 *
 * Conventions:
 * - `input` and `body` are binary strings: one character per byte (ISO-8859-1), so "\xe9" is the
 *   single byte 0xE9. Line ends are written out as "\r\n"; nothing adds them.
 * - An omitted `body` means the request has no content (zero body bytes).
 * - `fields` is an ordered subset of the parsed fields, names lower-cased, values OWS-trimmed.
 * - `host: null` means no Host field (allowed in HTTP/1.0 only).
 * - `limits` overrides VECTOR_LIMITS for that row only.
 */

import type { ParserLimits } from "../../src/http/parser.ts";

export interface ExpectedRequest {
  method: string;
  target: string;
  minor: 0 | 1;
  host?: string | null;
  fields?: Array<[string, string]>;
  body?: string;
  keepAlive?: boolean;
  chunked?: boolean;
  contentLength?: number;
}

export type VectorExpectation = { requests: ExpectedRequest[] } | { error: number };

export interface RequestVector {
  name: string;
  input: string;
  expect: VectorExpectation;
  limits?: Partial<ParserLimits>;
}

/** The server defaults (src/config.ts), restated so that the rows do not move when those do. */
export const VECTOR_LIMITS: Readonly<ParserLimits> = {
  maxHeadBytes: 8192,
  maxHeaderCount: 100,
  maxBodyBytes: 8192,
};

/** The start of a further request, appended by the "trailing" mode; shorter than every limit. */
export const TRAILING_PARTIAL = "GET /next HTTP/1.1\r\nHo";

/** Encodes a binary string (one character per byte) as bytes. */
export function toBytes(binary: string): Uint8Array {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) {
    const code = binary.charCodeAt(i);
    if (code > 0xff) throw new RangeError(`not a byte at ${i}: U+${code.toString(16)}`);
    bytes[i] = code;
  }
  return bytes;
}

/** Decodes bytes as a binary string (one character per byte). */
export function fromBytes(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += String.fromCharCode(byte);
  return out;
}

const CHUNKED_HEAD = "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

function fieldLines(count: number): string {
  let out = "";
  for (let i = 0; i < count; i++) out += `X-F${i}: ${i}\r\n`;
  return out;
}

export const REQUEST_VECTORS: readonly RequestVector[] = [
  // ---- accepted: request line and version ------------------------------------------------------
  {
    name: "simple GET",
    input: "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    expect: {
      requests: [{
        method: "GET",
        target: "/",
        minor: 1,
        host: "example.com",
        fields: [["host", "example.com"]],
        keepAlive: true,
        chunked: false,
        contentLength: 0,
      }],
    },
  },
  {
    name: "HEAD",
    input: "HEAD /index.html HTTP/1.1\r\nHost: localhost:8080\r\n\r\n",
    expect: {
      requests: [{
        method: "HEAD",
        target: "/index.html",
        minor: 1,
        host: "localhost:8080",
        keepAlive: true,
        contentLength: 0,
      }],
    },
  },
  {
    name: "GET with query string and several fields",
    input: "GET /a/b.txt?x=1&y=%20 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: t/1\r\n" +
      "Accept: */*\r\n\r\n",
    expect: {
      requests: [{
        method: "GET",
        target: "/a/b.txt?x=1&y=%20",
        minor: 1,
        host: "127.0.0.1:8080",
        fields: [["host", "127.0.0.1:8080"], ["user-agent", "t/1"], ["accept", "*/*"]],
      }],
    },
  },
  {
    name: "absolute-form target",
    input: "GET http://example.com/x?y=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
    expect: { requests: [{ method: "GET", target: "http://example.com/x?y=1", minor: 1 }] },
  },
  {
    name: "asterisk-form target and a method with tchar symbols",
    input: "M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { requests: [{ method: "M-SEARCH", target: "*", minor: 1 }] },
  },
  {
    name: "lowercase method parses (method check is elsewhere)",
    input: "get / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { requests: [{ method: "get", target: "/", minor: 1 }] },
  },
  {
    name: "unknown method parses (method check is elsewhere)",
    input: "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { requests: [{ method: "BREW", target: "/pot", minor: 1 }] },
  },
  {
    name: "empty Host value is one Host (RFC 9112 §3.2)",
    input: "GET / HTTP/1.1\r\nHost:\r\n\r\n",
    expect: { requests: [{ method: "GET", target: "/", minor: 1, host: "" }] },
  },
  {
    // The project accepts exactly HTTP/1.0 and HTTP/1.1; any other well-formed version is 505
    // (a deliberate choice: RFC 9110 §6.2 would also allow serving 1.2 as 1.1).
    name: "HTTP/1.2 is refused as an unsupported version",
    input: "GET / HTTP/1.2\r\nHost: a\r\n\r\n",
    expect: { error: 505 },
  },

  // ---- accepted: bodies framed by Content-Length --------------------------------------------------
  {
    name: "POST with Content-Length body",
    input: "POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n" +
      'Content-Length: 13\r\n\r\n{"a":[1,2,3]}',
    expect: {
      requests: [{
        method: "POST",
        target: "/upload",
        minor: 1,
        host: "localhost",
        fields: [["content-type", "application/json"], ["content-length", "13"]],
        body: '{"a":[1,2,3]}',
        chunked: false,
        contentLength: 13,
      }],
    },
  },
  {
    name: "POST with Content-Length: 0",
    input: "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
    expect: { requests: [{ method: "POST", target: "/upload", minor: 1, contentLength: 0 }] },
  },
  {
    name: "binary body with CR, LF and NUL bytes is content, not framing",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8\r\n\r\n\r\n\x00\r\n\xff\n\r",
    expect: {
      requests: [{
        method: "POST",
        target: "/",
        minor: 1,
        body: "\r\n\x00\r\n\xff\n\r",
        contentLength: 8,
      }],
    },
  },
  {
    name: "identical duplicate Content-Length accepted",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    expect: {
      requests: [{ method: "POST", target: "/", minor: 1, body: "hello", contentLength: 5 }],
    },
  },
  {
    name: "Content-Length exactly at maxBodyBytes accepted",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    limits: { maxBodyBytes: 5 },
    expect: { requests: [{ method: "POST", target: "/", minor: 1, body: "hello" }] },
  },
  {
    // RFC 9110 §8.6: Content-Length = 1*DIGIT; leading zeros do not change the value.
    name: "Content-Length with many leading zeros is its value",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0000000000000000005\r\n\r\nhello",
    expect: {
      requests: [{ method: "POST", target: "/", minor: 1, body: "hello", contentLength: 5 }],
    },
  },
  {
    name: "HTTP/1.0 POST with Content-Length body",
    input: "POST /upload HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}",
    expect: {
      requests: [{
        method: "POST",
        target: "/upload",
        minor: 0,
        host: null,
        body: "{}",
        keepAlive: false,
      }],
    },
  },

  // ---- accepted: pipelining and empty lines -------------------------------------------------------
  {
    name: "pipelined requests",
    input: "GET /a HTTP/1.1\r\nHost: a\r\n\r\n" +
      "POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz" +
      "HEAD /c HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    expect: {
      requests: [
        { method: "GET", target: "/a", minor: 1, keepAlive: true },
        { method: "POST", target: "/upload", minor: 1, body: "xyz", keepAlive: true },
        { method: "HEAD", target: "/c", minor: 1, keepAlive: false },
      ],
    },
  },
  {
    name: "pipelined chunked request then GET",
    input: CHUNKED_HEAD + "3\r\nabc\r\n0\r\n\r\n" + "GET /b HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: {
      requests: [
        { method: "POST", target: "/upload", minor: 1, body: "abc", chunked: true },
        { method: "GET", target: "/b", minor: 1, chunked: false },
      ],
    },
  },
  {
    name: "leading CRLF before request line (RFC 9112 §2.2)",
    input: "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { requests: [{ method: "GET", target: "/", minor: 1, host: "a" }] },
  },
  {
    name: "several leading CRLFs before request line",
    input: "\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { requests: [{ method: "GET", target: "/", minor: 1, host: "a" }] },
  },
  {
    name: "CRLF after a body before the next pipelined request",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok\r\n" +
      "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: {
      requests: [
        { method: "POST", target: "/", minor: 1, body: "ok" },
        { method: "GET", target: "/2", minor: 1 },
      ],
    },
  },

  // ---- accepted: persistence (RFC 9112 §9.3) -----------------------------------------------------
  {
    name: "HTTP/1.0 without keep-alive closes",
    input: "GET / HTTP/1.0\r\n\r\n",
    expect: { requests: [{ method: "GET", target: "/", minor: 0, host: null, keepAlive: false }] },
  },
  {
    name: "HTTP/1.0 with Connection: keep-alive persists",
    input: "GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
    expect: { requests: [{ method: "GET", target: "/", minor: 0, host: "a", keepAlive: true }] },
  },
  {
    name: "HTTP/1.0 Connection option is case-insensitive",
    input: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
    expect: { requests: [{ method: "GET", target: "/", minor: 0, keepAlive: true }] },
  },
  {
    name: "HTTP/1.0 with an unrelated Connection option closes",
    input: "GET / HTTP/1.0\r\nConnection: x-foo\r\n\r\n",
    expect: { requests: [{ method: "GET", target: "/", minor: 0, keepAlive: false }] },
  },
  {
    name: "HTTP/1.1 Connection: close",
    input: "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    expect: { requests: [{ method: "GET", target: "/", minor: 1, keepAlive: false }] },
  },
  {
    name: "HTTP/1.1 close among other Connection options",
    input: "GET / HTTP/1.1\r\nHost: a\r\nConnection: x-foo, CLOSE\r\n\r\n",
    expect: { requests: [{ method: "GET", target: "/", minor: 1, keepAlive: false }] },
  },
  {
    name: "HTTP/1.1 Connection: keep-alive persists",
    input: "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n",
    expect: { requests: [{ method: "GET", target: "/", minor: 1, keepAlive: true }] },
  },

  // ---- accepted: field lines ------------------------------------------------------------------------
  {
    name: "case-insensitive header names",
    input: "POST / HTTP/1.1\r\nHOST: a\r\ncOnTeNt-LeNgTh: 2\r\nX-Mixed-Case: V\r\n\r\nhi",
    expect: {
      requests: [{
        method: "POST",
        target: "/",
        minor: 1,
        host: "a",
        fields: [["host", "a"], ["content-length", "2"], ["x-mixed-case", "V"]],
        body: "hi",
        contentLength: 2,
      }],
    },
  },
  {
    name: "repeated headers kept in order",
    input: "GET / HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\nX-Other: 1\r\n" +
      "accept: application/json\r\nACCEPT: */*\r\n\r\n",
    expect: {
      requests: [{
        method: "GET",
        target: "/",
        minor: 1,
        fields: [
          ["accept", "text/html"],
          ["x-other", "1"],
          ["accept", "application/json"],
          ["accept", "*/*"],
        ],
      }],
    },
  },
  {
    name: "OWS trimmed around values, inner whitespace kept",
    input: "GET / HTTP/1.1\r\nHost:   a  \r\nX-A:   spaced \t \r\nX-B:\tv\r\nX-C:v\r\n" +
      "X-Empty:\r\nX-Blank: \t \r\nX-Inner: a  \t b\r\n\r\n",
    expect: {
      requests: [{
        method: "GET",
        target: "/",
        minor: 1,
        host: "a",
        fields: [
          ["host", "a"],
          ["x-a", "spaced"],
          ["x-b", "v"],
          ["x-c", "v"],
          ["x-empty", ""],
          ["x-blank", ""],
          ["x-inner", "a  \t b"],
        ],
      }],
    },
  },
  {
    name: "obs-text in values kept as bytes",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-Latin: caf\xe9\r\nX-High: \x80\xff\r\n\r\n",
    expect: {
      requests: [{
        method: "GET",
        target: "/",
        minor: 1,
        fields: [["x-latin", "caf\xe9"], ["x-high", "\x80\xff"]],
      }],
    },
  },
  {
    name: "field names with tchar symbols",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX!#$%&'*+-.^_`|~1: ok\r\n\r\n",
    expect: {
      requests: [{
        method: "GET",
        target: "/",
        minor: 1,
        fields: [["x!#$%&'*+-.^_`|~1", "ok"]],
      }],
    },
  },
  {
    name: "header count exactly at maxHeaderCount accepted",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-1: 1\r\nX-2: 2\r\n\r\n",
    limits: { maxHeaderCount: 3 },
    expect: { requests: [{ method: "GET", target: "/", minor: 1, fields: [["x-2", "2"]] }] },
  },
  {
    name: "head exactly at maxHeadBytes accepted",
    input: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    limits: { maxHeadBytes: 27 },
    expect: { requests: [{ method: "GET", target: "/", minor: 1, host: "a" }] },
  },

  // ---- accepted: chunked bodies (RFC 9112 §7.1) -----------------------------------------------------
  {
    name: "chunked body",
    input: CHUNKED_HEAD + "5\r\nhello\r\n0\r\n\r\n",
    expect: {
      requests: [{
        method: "POST",
        target: "/upload",
        minor: 1,
        body: "hello",
        chunked: true,
        contentLength: -1,
        keepAlive: true,
      }],
    },
  },
  {
    name: "chunked body with multiple chunks",
    input: CHUNKED_HEAD + "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n",
    expect: {
      requests: [{
        method: "POST",
        target: "/upload",
        minor: 1,
        body: "hello world",
        chunked: true,
      }],
    },
  },
  {
    name: "chunked body with uppercase hex sizes",
    input: CHUNKED_HEAD + "A\r\n0123456789\r\n1F\r\nabcdefghijklmnopqrstuvwxyz01234\r\n0\r\n\r\n",
    expect: {
      requests: [{
        method: "POST",
        target: "/upload",
        minor: 1,
        body: "0123456789abcdefghijklmnopqrstuvwxyz01234",
        chunked: true,
      }],
    },
  },
  {
    name: "chunked body with lowercase hex and leading zeros",
    input: CHUNKED_HEAD + "00a\r\n0123456789\r\n000\r\n\r\n",
    expect: {
      requests: [{
        method: "POST",
        target: "/upload",
        minor: 1,
        body: "0123456789",
        chunked: true,
      }],
    },
  },
  {
    name: "chunked body with chunk extensions",
    input: CHUNKED_HEAD + '5;name=value\r\nhello\r\n6 ; a="q s" ; b\r\n world\r\n0;last\r\n\r\n',
    expect: {
      requests: [{
        method: "POST",
        target: "/upload",
        minor: 1,
        body: "hello world",
        chunked: true,
      }],
    },
  },
  {
    name: "chunked body with trailers",
    input: CHUNKED_HEAD + "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other:  1 \r\n\r\n",
    expect: {
      requests: [{ method: "POST", target: "/upload", minor: 1, body: "hello", chunked: true }],
    },
  },
  {
    name: "chunked body that is empty",
    input: CHUNKED_HEAD + "0\r\n\r\n",
    expect: {
      requests: [{ method: "POST", target: "/upload", minor: 1, body: "", chunked: true }],
    },
  },
  {
    name: "chunked body with binary data containing CRLF",
    input: CHUNKED_HEAD + "4\r\n\r\n\r\n\r\n2\r\n0\r\r\n0\r\n\r\n",
    expect: {
      requests: [{
        method: "POST",
        target: "/upload",
        minor: 1,
        body: "\r\n\r\n0\r",
        chunked: true,
      }],
    },
  },
  {
    name: "Transfer-Encoding coding name is case-insensitive",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    expect: { requests: [{ method: "POST", target: "/", minor: 1, body: "ok", chunked: true }] },
  },
  {
    name: "chunked body exactly at maxBodyBytes accepted",
    input: CHUNKED_HEAD + "6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n",
    limits: { maxBodyBytes: 10 },
    expect: { requests: [{ method: "POST", target: "/upload", minor: 1, body: "abcdefghij" }] },
  },
  {
    // RFC 9112 §7.1: chunk-size = 1*HEXDIG; leading zeros do not change the size.
    name: "chunk size with many leading zeros is its value",
    input: CHUNKED_HEAD + "0000000000000005\r\nhello\r\n0\r\n\r\n",
    expect: { requests: [{ method: "POST", target: "/upload", minor: 1, body: "hello" }] },
  },

  // ---- rejected: Host (RFC 9112 §3.2) ------------------------------------------------------------
  { name: "missing Host in HTTP/1.1", input: "GET / HTTP/1.1\r\n\r\n", expect: { error: 400 } },
  {
    name: "two Host fields",
    input: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "two identical Host fields",
    input: "GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "two Host fields in HTTP/1.0",
    input: "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
    expect: { error: 400 },
  },

  // ---- rejected: Content-Length (RFC 9110 §8.6, RFC 9112 §6.3) ------------------------------------
  {
    name: "Content-Length with Transfer-Encoding",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding before Content-Length",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: 'Content-Length list "5, 5"',
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello",
    expect: { error: 400 },
  },
  {
    name: "differing Content-Length fields",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    expect: { error: 400 },
  },
  {
    name: "non-digit Content-Length",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Content-Length with a trailing letter",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5a\r\n\r\nhello",
    expect: { error: 400 },
  },
  {
    name: "Content-Length in hex",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello",
    expect: { error: 400 },
  },
  {
    name: 'Content-Length "+5"',
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello",
    expect: { error: 400 },
  },
  {
    name: 'Content-Length "-1"',
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Content-Length with inner space",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\nhello world!",
    expect: { error: 400 },
  },
  {
    name: "empty Content-Length",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "huge Content-Length digits",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    expect: { error: 413 },
  },
  {
    name: "Content-Length over the body limit",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 8193\r\n\r\n",
    expect: { error: 413 },
  },
  {
    name: "Content-Length one over a configured body limit",
    input: "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r\nhello!",
    limits: { maxBodyBytes: 5 },
    expect: { error: 413 },
  },

  // ---- rejected: Transfer-Encoding (RFC 9112 §6.1, §6.3, §7) -------------------------------------
  {
    name: "Transfer-Encoding in HTTP/1.0",
    input: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding not ending in chunked",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding gzip alone (chunked not final)",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "empty Transfer-Encoding",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunked twice in one field",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunked twice in two fields",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: 'unknown transfer coding "foo"',
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\n",
    expect: { error: 501 },
  },
  {
    name: 'unknown transfer coding before chunked "foo, chunked"',
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo, chunked\r\n\r\n0\r\n\r\n",
    expect: { error: 501 },
  },
  {
    name: 'transfer coding "gzip, chunked" not implemented',
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    expect: { error: 501 },
  },
  {
    name: "gzip and chunked in two fields not implemented",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n" +
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    expect: { error: 501 },
  },

  // ---- rejected: field lines (RFC 9112 §5, RFC 9110 §5.5) -----------------------------------------
  {
    name: "whitespace before colon",
    input: "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "tab before colon",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-A\t: b\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "obs-fold",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "obs-fold with a tab",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n\ttwo\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "leading whitespace before first header",
    input: "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "field line without colon",
    input: "GET / HTTP/1.1\r\nHost: a\r\nNoColonHere\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "empty field name",
    input: "GET / HTTP/1.1\r\nHost: a\r\n: value\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "non-token character in field name",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "non-ASCII byte in field name",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-\xe9: b\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "NUL in value",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "CR in value",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "CR at the end of a value (CRCRLF)",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "control character 0x01 in value",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "ESC in value",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-A: \x1b[31m\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "DEL in value",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x7fc\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "NUL in Host value",
    input: "GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n",
    expect: { error: 400 },
  },

  // ---- rejected: line endings (RFC 9112 §2.2) -----------------------------------------------------
  {
    name: "bare LF line endings",
    input: "GET / HTTP/1.1\nHost: a\n\n",
    expect: { error: 400 },
  },
  {
    name: "bare LF after the request line only",
    input: "GET / HTTP/1.1\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "bare LF ending a field line",
    input: "GET / HTTP/1.1\r\nHost: a\nX-A: b\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "bare LF as the empty line ending the head",
    input: "GET / HTTP/1.1\r\nHost: a\r\n\n",
    expect: { error: 400 },
  },
  {
    name: "bare LF before request line",
    input: "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "bare LF after a leading CRLF",
    input: "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "bare CR in request line",
    input: "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "bare CR ending the request line",
    input: "GET / HTTP/1.1\rHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "bare CR before request line",
    input: "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "bare CR starting a field line",
    input: "GET / HTTP/1.1\r\nHost: a\r\n\rX-A: b\r\n\r\n",
    expect: { error: 400 },
  },

  // ---- rejected: request line (RFC 9112 §3, §2.3) ------------------------------------------------
  {
    name: "bad method character",
    input: "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "non-ASCII byte in method",
    input: "G\xc9T / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "empty method (leading space)",
    input: " / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "missing version",
    input: "GET /\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "missing target and version",
    input: "GET\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "extra space before target",
    input: "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "extra space before version",
    input: "GET /  HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: 'trailing space after version "HTTP/1.1 "',
    input: "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "tab as request line separator",
    input: "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: 'lowercase version "http/1.1"',
    input: "GET / http/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: 'version without minor "HTTP/1"',
    input: "GET / HTTP/1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: 'two-digit minor "HTTP/1.10"',
    input: "GET / HTTP/1.10\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "space inside the target",
    input: "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "non-ASCII byte in target",
    input: "GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "NUL in target",
    input: "GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n",
    expect: { error: 400 },
  },
  { name: "HTTP/2.0", input: "GET / HTTP/2.0\r\nHost: a\r\n\r\n", expect: { error: 505 } },
  { name: "HTTP/3.0", input: "GET / HTTP/3.0\r\nHost: a\r\n\r\n", expect: { error: 505 } },
  { name: "HTTP/0.9 written out", input: "GET / HTTP/0.9\r\n\r\n", expect: { error: 505 } },

  // ---- rejected: head limits (SPEC.md "Requests") ------------------------------------------------
  {
    name: "request line over maxHeadBytes",
    input: `GET /${"a".repeat(8200)} HTTP/1.1\r\nHost: a\r\n\r\n`,
    expect: { error: 414 },
  },
  {
    name: "request line over maxHeadBytes, still unterminated",
    input: `GET /${"a".repeat(8200)}`,
    expect: { error: 414 },
  },
  {
    name: "request line over a configured maxHeadBytes",
    input: "GET /0123456789 HTTP/1.1\r\nHost: a\r\n\r\n",
    limits: { maxHeadBytes: 20 },
    expect: { error: 414 },
  },
  {
    name: "head over limit after request line",
    input: `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"b".repeat(8200)}\r\n\r\n`,
    expect: { error: 431 },
  },
  {
    name: "head over limit after request line, still unterminated",
    input: `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"b".repeat(8200)}`,
    expect: { error: 431 },
  },
  {
    name: "head one byte over a configured maxHeadBytes",
    input: "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    limits: { maxHeadBytes: 26 },
    expect: { error: 431 },
  },
  {
    // The limit is known to be exceeded before the line end arrives, so the answer cannot
    // depend on how that line end looks or on how the bytes were split into reads.
    name: "request line over maxHeadBytes ended by bare LF",
    input: `GET /${"a".repeat(8200)} HTTP/1.1\nHost: a\r\n\r\n`,
    expect: { error: 414 },
  },
  {
    name: "field line over maxHeadBytes ended by bare LF",
    input: `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${"b".repeat(8200)}\n\r\n`,
    expect: { error: 431 },
  },
  {
    // Empty lines are not a request line: a flood of them is malformed (400), not a long URI.
    name: "more empty lines before the request line than maxHeadBytes",
    input: `${"\r\n".repeat(9)}GET / HTTP/1.1\r\nHost: a\r\n\r\n`,
    limits: { maxHeadBytes: 16 },
    expect: { error: 400 },
  },
  {
    name: "more than maxHeaderCount fields",
    input: "GET / HTTP/1.1\r\nHost: a\r\nX-1: 1\r\nX-2: 2\r\nX-3: 3\r\n\r\n",
    limits: { maxHeaderCount: 3 },
    expect: { error: 431 },
  },
  {
    name: "more than the default 100 fields",
    input: `GET / HTTP/1.1\r\nHost: a\r\n${fieldLines(100)}\r\n`,
    expect: { error: 431 },
  },

  // ---- rejected: chunked framing (RFC 9112 §7.1) -------------------------------------------------
  {
    name: "chunk size non-hex",
    input: CHUNKED_HEAD + "zz\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk size with 0x prefix",
    input: CHUNKED_HEAD + "0x5\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk size missing",
    input: CHUNKED_HEAD + "\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk size with leading space",
    input: CHUNKED_HEAD + " 5\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding chunked with an empty parameter (RFC 9112 §7)",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;\r\n\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding chunked with a parameter (chunked defines none)",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;foo=bar\r\n\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding chunked then identity: chunked not final (RFC 9112 §6.3)",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "Transfer-Encoding coding name that is not a token",
    input: 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chun"ked"\r\n\r\n0\r\n\r\n',
    expect: { error: 400 },
  },
  {
    name:
      "Transfer-Encoding with a comma inside a quoted parameter is one coding (RFC 9110 §5.6.1)",
    input:
      'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip;q="a,b", chunked\r\n\r\n0\r\n\r\n',
    expect: { error: 501 },
  },
  {
    name: "chunk size negative",
    input: CHUNKED_HEAD + "-5\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk size followed by junk instead of an extension",
    input: CHUNKED_HEAD + "5 x\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk size line ended by bare LF",
    input: CHUNKED_HEAD + "5\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "control character in chunk extension",
    input: CHUNKED_HEAD + "5;a=\x01\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk extension with no name (RFC 9112 §7.1.1)",
    input: CHUNKED_HEAD + "5;\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk extension name with a space",
    input: CHUNKED_HEAD + "5;a b\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk extension value without a name",
    input: CHUNKED_HEAD + "5;=v\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk extension value with a space",
    input: CHUNKED_HEAD + "5;a=b c\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk extension with an unterminated quoted value",
    input: CHUNKED_HEAD + '5;a="x\r\nhello\r\n0\r\n\r\n',
    expect: { error: 400 },
  },
  {
    name: "chunk extension name that is not a token",
    input: CHUNKED_HEAD + "5;@\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk extension with an empty value",
    input: CHUNKED_HEAD + "5;a=\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk size line ending in whitespace",
    input: CHUNKED_HEAD + "5;a \r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk extension with DEL in a quoted value",
    input: CHUNKED_HEAD + '5;a="\x7f"\r\nhello\r\n0\r\n\r\n',
    expect: { error: 400 },
  },
  {
    name: "chunk extensions with BWS, quoted-pairs and obs-text",
    input: CHUNKED_HEAD + '5 ;\ta = "x\\"y\xe9" ;b=tok\r\nhello\r\n0\r\n\r\n',
    expect: {
      requests: [{ method: "POST", target: "/upload", minor: 1, body: "hello", chunked: true }],
    },
  },
  {
    name: "chunk data not followed by CRLF",
    input: CHUNKED_HEAD + "5\r\nhelloX\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk data followed by bare LF",
    input: CHUNKED_HEAD + "5\r\nhello\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk data followed by CR and junk",
    input: CHUNKED_HEAD + "5\r\nhello\rX0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunk data longer than its size",
    input: CHUNKED_HEAD + "3\r\nhello\r\n0\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "chunked body over maxBodyBytes",
    input: CHUNKED_HEAD + "6\r\nabcdef\r\n5\r\nghijk\r\n0\r\n\r\n",
    limits: { maxBodyBytes: 10 },
    expect: { error: 413 },
  },
  {
    name: "single chunk over the default body limit",
    input: CHUNKED_HEAD + "2001\r\n",
    expect: { error: 413 },
  },
  {
    name: "chunk size with too many significant digits",
    input: CHUNKED_HEAD + "fffffffffffffffff\r\n",
    expect: { error: 413 },
  },
  {
    name: "chunk-size line overlong",
    input: CHUNKED_HEAD + `5;${"e".repeat(5000)}\r\nhello\r\n0\r\n\r\n`,
    expect: { error: 400 },
  },
  {
    name: "chunk-size line overlong, still unterminated",
    input: CHUNKED_HEAD + `5;${"e".repeat(5000)}`,
    expect: { error: 400 },
  },
  {
    name: "trailer section too large",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `0\r\nX-T: ${"t".repeat(80)}\r\n\r\n`,
    limits: { maxHeadBytes: 64 },
    expect: { error: 431 },
  },
  {
    name: "trailer section too large, still unterminated",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
      `0\r\nX-T: ${"t".repeat(80)}`,
    limits: { maxHeadBytes: 64 },
    expect: { error: 431 },
  },
  {
    name: "more trailer fields than maxHeaderCount",
    input: "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "0\r\nX-1: 1\r\nX-2: 2\r\nX-3: 3\r\n\r\n",
    limits: { maxHeaderCount: 2 },
    expect: { error: 431 },
  },
  {
    name: "invalid trailer line",
    input: CHUNKED_HEAD + "0\r\nno colon here\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "obs-fold in trailer section",
    input: CHUNKED_HEAD + "0\r\nX-T: a\r\n b\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "NUL in trailer value",
    input: CHUNKED_HEAD + "0\r\nX-T: a\x00b\r\n\r\n",
    expect: { error: 400 },
  },
  {
    name: "trailer section ended by bare LF",
    input: CHUNKED_HEAD + "0\r\nX-T: a\r\n\n",
    expect: { error: 400 },
  },
];
