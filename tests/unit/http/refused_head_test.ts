/**
 * RequestParser.refusedHead (src/http/parser.ts): a head read completely and then refused for
 * its framing or length keeps its method and fields, so the refusal can honour them (CORS);
 * a head that could not be read has none.
 */

import assert from "node:assert/strict";
import { RequestParser } from "../../../src/http/parser.ts";
import { HttpError } from "../../../src/http/status.ts";

const LIMITS = { maxHeadBytes: 8192, maxHeaderCount: 100, maxBodyBytes: 100 };
const ENCODER = new TextEncoder();

const ROWS: ReadonlyArray<{ name: string; input: string; status: number; kept: boolean }> = [
  {
    name: "Content-Length over the body limit",
    input: "POST /upload HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\n" +
      "Content-Length: 101\r\n\r\n",
    status: 413,
    kept: true,
  },
  {
    name: "Content-Length and Transfer-Encoding together",
    input: "POST /upload HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\n" +
      "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    status: 400,
    kept: true,
  },
  {
    name: "an unknown transfer coding",
    input: "POST /upload HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\n" +
      "Transfer-Encoding: br, chunked\r\n\r\n",
    status: 501,
    kept: true,
  },
  {
    name: "a malformed request line",
    input: "POST  /upload HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\n\r\n",
    status: 400,
    kept: false,
  },
  {
    name: "a malformed field line",
    input: "POST /upload HTTP/1.1\r\nHost: a\r\nOrigin : https://app.example\r\n\r\n",
    status: 400,
    kept: false,
  },
];

for (const row of ROWS) {
  Deno.test(`RequestParser.refusedHead after ${row.name} (${row.status})`, () => {
    const parser = new RequestParser(LIMITS);
    parser.feed(ENCODER.encode(row.input));
    assert.throws(
      () => parser.next(),
      (e: unknown) => e instanceof HttpError && e.status === row.status,
    );
    const refused = parser.refusedHead;
    if (!row.kept) {
      assert.equal(refused, null);
      return;
    }
    assert.ok(refused !== null);
    assert.equal(refused.method, "POST");
    assert.equal(refused.fields.get("origin"), "https://app.example");
  });
}

Deno.test("RequestParser.refusedHead is null after a head that was accepted", () => {
  const parser = new RequestParser(LIMITS);
  parser.feed(ENCODER.encode("GET / HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\n\r\n"));
  assert.equal(parser.next().kind, "head");
  assert.equal(parser.refusedHead, null);
});
