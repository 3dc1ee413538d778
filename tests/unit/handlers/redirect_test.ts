/**
 * httpsLocation() and authorityName() (src/handlers/redirect.ts): the Location of the 308 that
 * `--redirect-http` sends, built from the authority's name, the HTTPS port (left out on 443),
 * the path encoded again and the query made safe.
 */

import assert from "node:assert/strict";
import { authorityName, httpsLocation, httpsRedirect } from "../../../src/handlers/redirect.ts";
import type { Exchange } from "../../../src/handlers/reply.ts";
import { FieldList } from "../../../src/http/fields.ts";
import { decodePath, parseTarget } from "../../../src/http/target.ts";

/** An Exchange for `target` as the connection builds it (decoded, path-safe path). */
function exchange(target: string, method = "GET"): Exchange {
  const parsed = parseTarget(method, target);
  return {
    head: {
      method,
      target,
      minor: 1,
      fields: new FieldList(),
      host: null,
      contentLength: 0,
      chunked: false,
      keepAlive: true,
      expect: null,
      headBytes: 0,
    },
    path: parsed.rawPath === "*" ? "*" : decodePath(parsed.rawPath),
    client: "127.0.0.1",
    peer: "127.0.0.1",
    readBody: () => Promise.resolve(new Uint8Array()),
  };
}

Deno.test("authorityName() drops the port and lower-cases the name", () => {
  assert.equal(authorityName("LocalHost:8080"), "localhost");
  assert.equal(authorityName("example.test"), "example.test");
  assert.equal(authorityName("[::1]:8080"), "[::1]");
  assert.equal(authorityName("[fe80::1]"), "[fe80::1]");
  assert.equal(authorityName("127.0.0.1:80"), "127.0.0.1");
});

const ROWS: ReadonlyArray<[string, string, number, string]> = [
  ["/", "localhost:8080", 8443, "https://localhost:8443/"],
  ["/", "localhost:80", 443, "https://localhost/"],
  ["/a b", "localhost", 443, "https://localhost/a%20b"],
  ["/caf%C3%A9/", "[::1]:80", 443, "https://[::1]/caf%C3%A9/"],
  ["/x?y=1&z", "h:1", 2, "https://h:2/x?y=1&z"],
  ['/x?q="<>', "h:1", 443, "https://h/x?q=%22%3C%3E"],
  ["/x?bad%zz", "h:1", 443, "https://h/x?bad%25zz"],
  ["/%3F%23", "h", 443, "https://h/%3F%23"],
  ["http://other:8080/p?q", "other:8080", 8443, "https://other:8443/p?q"],
];

for (const [target, authority, port, want] of ROWS) {
  Deno.test(`httpsLocation() of ${target} on ${authority} → ${want}`, () => {
    assert.equal(httpsLocation(exchange(target), authority, port), want);
  });
}

Deno.test("httpsLocation() sends OPTIONS * to the root", () => {
  assert.equal(httpsLocation(exchange("*", "OPTIONS"), "h:80", 443), "https://h/");
});

Deno.test("httpsRedirect() is a 308 with the Location and a text body naming it", () => {
  const reply = httpsRedirect(exchange("/notes.txt"), "localhost:8080", 8443);
  assert.equal(reply.status, 308);
  assert.deepEqual(reply.fields, [
    ["Location", "https://localhost:8443/notes.txt"],
    ["Content-Type", "text/plain; charset=utf-8"],
  ]);
  const body = new TextDecoder().decode(reply.body as Uint8Array);
  assert.equal(body, "308 Permanent Redirect: https://localhost:8443/notes.txt\n");
  assert.equal(reply.length, (reply.body as Uint8Array).length);
});
