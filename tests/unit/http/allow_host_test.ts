/**
 * canonicalAllowedHost(), allowedHosts() with `--allow-host` names, hostAllowlist() and
 * checkHost() without an allowlist (src/http/host.ts): LAN names, a proxy's name on its own
 * port, and `*`, which leaves only the syntax check of RFC 9112 §3.2.
 */

import assert from "node:assert/strict";
import {
  allowedHosts,
  canonicalAllowedHost,
  checkHost,
  hostAllowlist,
  isWildcardAddress,
} from "../../../src/http/host.ts";
import { HttpError } from "../../../src/http/status.ts";

const CANONICAL: ReadonlyArray<{ text: string; want: string | null }> = [
  { text: "myhost.lan", want: "myhost.lan" },
  { text: "MyHost.LAN", want: "myhost.lan" },
  { text: "192.168.1.5", want: "192.168.1.5" },
  { text: "proxy.example:443", want: "proxy.example:443" },
  { text: "proxy.example:08443", want: "proxy.example:8443" },
  { text: "my_host", want: "my_host" },
  { text: "[fe80::1]", want: "[fe80::1]" },
  { text: "[FE80::1]:8080", want: "[fe80::1]:8080" },
  { text: "fe80::1", want: "[fe80::1]" },
  { text: "::1", want: "[::1]" },
  { text: "*", want: "*" },
  // Not names.
  { text: "", want: null },
  { text: "http://myhost.lan", want: null },
  { text: "myhost.lan/", want: null },
  { text: "myhost.lan:", want: null },
  { text: "myhost.lan:0", want: null },
  { text: "myhost.lan:65536", want: null },
  { text: "myhost.lan:http", want: null },
  { text: "my host", want: null },
  { text: " myhost", want: null },
  { text: "-myhost", want: null },
  { text: "myhost.", want: null },
  { text: "user@myhost", want: null },
  { text: "a,b", want: null },
  { text: "*.lan", want: null },
  { text: "[fe80::1", want: null },
  { text: "fe80::1:8080:x", want: null },
  { text: "abc:def:12", want: null },
  { text: "1:2:3:4:5:6:7:8:9", want: null },
  { text: "1::2::3", want: null },
  { text: "[12345::1]", want: null },
  { text: "[::1]:0", want: null },
  { text: "1:2:3:4:5:6:7:8", want: "[1:2:3:4:5:6:7:8]" },
  { text: "::ffff:192.168.1.5", want: "[::ffff:192.168.1.5]" },
  { text: "::ffff:192.168.1.500", want: null },
  { text: "[::]", want: "[::]" },
];

for (const { text, want } of CANONICAL) {
  Deno.test(`canonicalAllowedHost(${JSON.stringify(text)}) is ${JSON.stringify(want)}`, () => {
    assert.equal(canonicalAllowedHost(text), want);
  });
}

Deno.test("allowedHosts() adds a bare --allow-host name with the server's port", () => {
  assert.deepEqual(
    allowedHosts("0.0.0.0", 8080, ["myhost.lan", "192.168.1.5", "[fe80::1]"]),
    new Set([
      "localhost:8080",
      "127.0.0.1:8080",
      "0.0.0.0:8080",
      "myhost.lan:8080",
      "192.168.1.5:8080",
      "[fe80::1]:8080",
    ]),
  );
});

Deno.test("allowedHosts() keeps the port of a NAME:PORT, and the bare name for 80 and 443", () => {
  assert.deepEqual(
    allowedHosts("127.0.0.1", 8080, ["proxy.example:443", "lan.example:80", "other:9000"]),
    new Set([
      "localhost:8080",
      "127.0.0.1:8080",
      "proxy.example:443",
      "proxy.example",
      "lan.example:80",
      "lan.example",
      "other:9000",
    ]),
  );
});

Deno.test("allowedHosts() on port 80 accepts bare --allow-host names too", () => {
  const allowed = allowedHosts("127.0.0.1", 80, ["myhost.lan"]);
  assert.ok(allowed.has("myhost.lan:80"));
  assert.ok(allowed.has("myhost.lan"));
});

Deno.test("hostAllowlist() is null (no check) when '*' is among the names", () => {
  assert.equal(hostAllowlist("127.0.0.1", 8080, ["myhost.lan", "*"]), null);
  assert.deepEqual(hostAllowlist("127.0.0.1", 8080, []), allowedHosts("127.0.0.1", 8080));
});

/** The status checkHost() throws for `value`, or 200 when it accepts it. */
function status(value: string, allowed: ReadonlySet<string> | null): number {
  try {
    checkHost(value, allowed);
    return 200;
  } catch (error) {
    assert.ok(error instanceof HttpError);
    return error.status;
  }
}

const CHECKS: ReadonlyArray<{ value: string; extra: string[]; want: number }> = [
  { value: "myhost.lan:8080", extra: ["myhost.lan"], want: 200 },
  { value: "MYHOST.lan:8080", extra: ["myhost.lan"], want: 200 },
  { value: "myhost.lan:8081", extra: ["myhost.lan"], want: 403 },
  { value: "myhost.lan", extra: ["myhost.lan"], want: 403 },
  { value: "myhost.lan.evil:8080", extra: ["myhost.lan"], want: 403 },
  { value: "proxy.example", extra: ["proxy.example:443"], want: 200 },
  { value: "proxy.example:443", extra: ["proxy.example:443"], want: 200 },
  { value: "proxy.example:8080", extra: ["proxy.example:443"], want: 403 },
  { value: "other:9000", extra: ["other:9000"], want: 200 },
  { value: "other", extra: ["other:9000"], want: 403 },
  { value: "[fe80::1]:8080", extra: ["[fe80::1]"], want: 200 },
  { value: "localhost:8080", extra: ["myhost.lan"], want: 200 },
  // `*`: any Host that is well-formed.
  { value: "anything.example:1234", extra: ["*"], want: 200 },
  { value: "evil.example", extra: ["*"], want: 200 },
  { value: "a b", extra: ["*"], want: 400 },
  { value: "", extra: ["*"], want: 400 },
  { value: "host:port:x", extra: ["*"], want: 400 },
];

for (const { value, extra, want } of CHECKS) {
  Deno.test(`checkHost(${JSON.stringify(value)}) with --allow-host ${extra.join(" ")} → ${want}`, () => {
    assert.equal(status(value, hostAllowlist("127.0.0.1", 8080, extra)), want);
  });
}

Deno.test("isWildcardAddress() is true for 0.0.0.0 and :: only", () => {
  assert.ok(isWildcardAddress("0.0.0.0"));
  assert.ok(isWildcardAddress("::"));
  for (const host of ["127.0.0.1", "::1", "localhost", "192.168.1.5"]) {
    assert.ok(!isWildcardAddress(host), host);
  }
});
