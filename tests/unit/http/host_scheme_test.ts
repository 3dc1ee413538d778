/**
 * The Host check per scheme (src/http/host.ts, src/http/target.ts): on HTTPS a bare name means
 * port 443, as on HTTP it means 80 (RFC 9110 §4.2.1, §4.2.2); an absolute-form target without a
 * port names its own scheme's default port, so `http://localhost/` is not an HTTPS server on 443.
 */

import assert from "node:assert/strict";
import {
  allowedHosts,
  checkHost,
  hostAllowlist,
  type Scheme,
  targetAuthority,
} from "../../../src/http/host.ts";
import { HttpError } from "../../../src/http/status.ts";
import { targetScheme } from "../../../src/http/target.ts";

Deno.test("allowedHosts() on HTTPS port 443 accepts bare names too", () => {
  assert.deepEqual(
    allowedHosts("example.test", 443, [], { scheme: "https" }),
    new Set([
      "localhost:443",
      "localhost",
      "127.0.0.1:443",
      "127.0.0.1",
      "example.test:443",
      "example.test",
    ]),
  );
});

Deno.test("allowedHosts() on HTTPS port 80 wants the port in Host (80 is not its default)", () => {
  const allowed = allowedHosts("127.0.0.1", 80, ["myhost.lan"], { scheme: "https" });
  assert.ok(allowed.has("localhost:80"));
  assert.ok(!allowed.has("localhost"));
  assert.ok(!allowed.has("myhost.lan"));
});

Deno.test("allowedHosts() on HTTPS adds bare --allow-host names on 443 only", () => {
  assert.ok(allowedHosts("127.0.0.1", 443, ["myhost.lan"], { scheme: "https" }).has("myhost.lan"));
  assert.ok(
    !allowedHosts("127.0.0.1", 8443, ["myhost.lan"], { scheme: "https" }).has("myhost.lan"),
  );
});

Deno.test("hostAllowlist() passes the scheme on, and is still null with '*'", () => {
  assert.ok(hostAllowlist("127.0.0.1", 443, [], { scheme: "https" })?.has("localhost"));
  assert.equal(hostAllowlist("127.0.0.1", 443, ["*"], { scheme: "https" }), null);
});

Deno.test("targetScheme() names the scheme of an absolute-form target, case-insensitively", () => {
  assert.equal(targetScheme("http://localhost/"), "http");
  assert.equal(targetScheme("HTTPS://localhost/"), "https");
  assert.equal(targetScheme("/index.html"), null);
  assert.equal(targetScheme("*"), null);
  assert.equal(targetScheme("httpsx://a/"), null);
});

/** Rows: endpoint scheme and port, the request target, the status the Host check gives. */
const ROWS: ReadonlyArray<[Scheme, number, string, number]> = [
  ["https", 443, "https://localhost/", 200],
  ["https", 443, "https://LOCALHOST:443/", 200],
  ["https", 443, "http://localhost/", 403],
  ["https", 443, "http://localhost:443/", 200],
  ["https", 8443, "https://localhost/", 403],
  ["https", 8443, "https://localhost:8443/", 200],
  ["https", 8443, "http://127.0.0.1:8443/", 200],
  ["http", 80, "http://localhost/", 200],
  ["http", 80, "https://localhost/", 403],
  ["http", 8080, "http://localhost:8080/", 200],
  ["http", 8080, "https://localhost/", 403],
  ["https", 443, "https://[::1]/", 403],
  ["https", 443, "https://evil.example/", 403],
  ["https", 443, "https://local host/", 400],
];

for (const [scheme, port, target, want] of ROWS) {
  Deno.test(`the Host check of ${scheme} on ${port} gives ${want} for ${target}`, () => {
    const authority = /^[a-z]+:\/\/([^/]*)/i.exec(target)![1]!;
    const seen = targetAuthority(authority, targetScheme(target)!, scheme);
    let status = 200;
    try {
      checkHost(seen, allowedHosts("127.0.0.1", port, [], { scheme }));
    } catch (error) {
      assert.ok(error instanceof HttpError);
      status = error.status;
    }
    assert.equal(status, want, `read as ${seen}`);
  });
}

Deno.test("targetAuthority() keeps an authority of the endpoint's scheme as sent", () => {
  assert.equal(targetAuthority("LocalHost", "https", "https"), "LocalHost");
  assert.equal(targetAuthority("localhost", "http", "https"), "localhost:80");
  assert.equal(targetAuthority("[::1]", "https", "http"), "[::1]:443");
  assert.equal(targetAuthority("[::1]:8080", "http", "https"), "[::1]:8080");
});
