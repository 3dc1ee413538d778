/**
 * Path safety end to end (SPEC.md "Path safety"): every target is sent as raw bytes
 * (`curl --path-as-is` semantics), decoded once by the server, and refused with 403 when it
 * holds `..`, `.`, empty segments, backslashes, NUL or an absolute path; a target that is not
 * a valid request-target at all (raw control byte, bad escape) is a 400. A raw backslash is
 * refused with 403 like an encoded one, as SPEC.md lists backslashes among the path rules.
 */

import assert from "node:assert/strict";
import { get, RawClient } from "../helpers/raw_client.ts";
import { RESOURCES, withServer } from "../helpers/server.ts";

interface PathRow {
  /** The request-target exactly as it goes on the wire. */
  target: string;
  status: number;
  why: string;
}

const PATH_ROWS: PathRow[] = [
  { target: "/../deno.json", status: 403, why: "dot-dot segment" },
  { target: "/..", status: 403, why: "bare dot-dot" },
  { target: "/../../../../etc/passwd", status: 403, why: "deep dot-dot" },
  { target: "/%2e%2e/deno.json", status: 403, why: "encoded dot-dot" },
  { target: "/%2E%2E%2Fdeno.json", status: 403, why: "encoded dot-dot and slash, upper-case" },
  { target: "/.%2e/deno.json", status: 403, why: "half-encoded dot-dot" },
  { target: "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", status: 403, why: "fully encoded traversal" },
  { target: "/./index.html", status: 403, why: "dot segment" },
  { target: "/.", status: 403, why: "bare dot segment" },
  { target: "/%2e/index.html", status: 403, why: "encoded dot segment" },
  { target: "//etc/passwd", status: 403, why: "empty segment (absolute path)" },
  { target: "/%2Fetc%2Fpasswd", status: 403, why: "encoded absolute path" },
  { target: "/%2F%2Fetc%2Fpasswd", status: 403, why: "encoded double slash" },
  { target: "/uploads//index.html", status: 403, why: "empty segment in the middle" },
  { target: "/a\\b", status: 403, why: "raw backslash" },
  { target: "/..\\deno.json", status: 403, why: "raw backslash traversal" },
  { target: "/a%5cb", status: 403, why: "encoded backslash" },
  { target: "/..%5Cdeno.json", status: 403, why: "encoded backslash traversal" },
  { target: "/index.html%00.txt", status: 403, why: "encoded NUL" },
  { target: "/%00", status: 403, why: "encoded NUL alone" },
  { target: "/index.html%0a", status: 403, why: "encoded LF" },
  { target: "/index.html\x00.txt", status: 400, why: "raw NUL in the request line" },
  { target: "/index.html\x01", status: 400, why: "raw control byte in the request line" },
  { target: "/uploads/../index.html", status: 403, why: "dot-dot back into the root" },
  { target: "/uploads/%2e%2e/index.html", status: 403, why: "encoded dot-dot back into the root" },
  { target: "/%252e%252e/deno.json", status: 404, why: "double-encoded: decoded once, a name" },
  { target: "/%252e%252e%252fdeno.json", status: 404, why: "double-encoded slash stays a name" },
  { target: "/index.html%3f.txt", status: 404, why: "encoded ? is part of the name" },
  { target: "/%zz", status: 400, why: "malformed escape" },
  { target: "/index.html%2", status: 400, why: "truncated escape" },
  { target: "/%c0%ae%c0%ae/deno.json", status: 400, why: "overlong UTF-8 dot-dot is not UTF-8" },
  { target: "/index.html#../deno.json", status: 400, why: "fragment in a request-target" },
  { target: "/index.html?../../deno.json", status: 200, why: "the query is not part of the path" },
  { target: "/%69ndex.html", status: 200, why: "an encoded unreserved character is decoded" },
  // Absolute-form targets follow the same rules (RFC 9112 §3.2.2).
  { target: "http://127.0.0.1:{PORT}/../deno.json", status: 403, why: "absolute-form dot-dot" },
  { target: "http://127.0.0.1:{PORT}/%2e%2e/deno.json", status: 403, why: "absolute-form enc." },
  { target: "http://127.0.0.1:{PORT}/index.html", status: 200, why: "absolute-form control" },
];

/** Content that must never appear in a response to a traversal attempt. */
const SECRETS = ['"tasks"', "root:x:0:0", "compilerOptions"];

Deno.test("GET refuses unsafe targets with the status SPEC.md gives", async (t) => {
  await withServer({}, async (server) => {
    const index = await Deno.readTextFile(`${RESOURCES}/index.html`);
    for (const row of PATH_ROWS) {
      const target = row.target.replaceAll("{PORT}", String(server.port));
      await t.step(`${JSON.stringify(target)} → ${row.status} (${row.why})`, async () => {
        const res = await get(server.port, target);
        assert.equal(res.status, row.status, `${row.why}: got ${res.status} ${res.text()}`);
        const body = res.text();
        for (const secret of SECRETS) assert.ok(!body.includes(secret), `leaked ${secret}`);
        if (row.status === 200) assert.equal(body, index);
      });
    }
  });
});

Deno.test("GET after a refused traversal: the connection still serves (403 is not fatal)", async () => {
  await withServer({}, async (server) => {
    using client = await RawClient.connect(server.port);
    const host = `Host: 127.0.0.1:${server.port}\r\n`;
    await client.send(
      `GET /../deno.json HTTP/1.1\r\n${host}\r\nGET /index.html HTTP/1.1\r\n${host}\r\n`,
    );
    const refused = await client.response();
    assert.equal(refused.status, 403);
    assert.equal(refused.header("connection"), "keep-alive");
    const next = await client.response();
    assert.equal(next.status, 200);
    assert.equal(next.text(), await Deno.readTextFile(`${RESOURCES}/index.html`));
  });
});
