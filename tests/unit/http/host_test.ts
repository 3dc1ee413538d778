/**
 * allowedHosts() and checkHost(): Host validation (SPEC.md "Host validation", RFC 9112 §3.2,
 * RFC 9110 §7.2). 400 for a syntactically invalid Host, 403 for a valid one naming another server.
 */

import assert from "node:assert/strict";
import { allowedHosts, checkHost } from "../../../src/http/host.ts";
import { HttpError } from "../../../src/http/status.ts";

/** The status checkHost() throws for `value`, or 200 when it accepts it. */
function hostStatus(value: string, host: string, port: number): number {
  try {
    checkHost(value, allowedHosts(host, port));
    return 200;
  } catch (error) {
    assert.ok(error instanceof HttpError, `expected HttpError, got ${error}`);
    return error.status;
  }
}

Deno.test("allowedHosts() lists localhost, 127.0.0.1 and the configured host with the port", () => {
  assert.deepEqual(
    allowedHosts("example.test", 8080),
    new Set(["localhost:8080", "127.0.0.1:8080", "example.test:8080"]),
  );
});

Deno.test("allowedHosts() lower-cases the configured host", () => {
  assert.ok(allowedHosts("MyHost.Example", 8080).has("myhost.example:8080"));
});

Deno.test("allowedHosts() brackets an IPv6 configured host", () => {
  assert.ok(allowedHosts("::1", 8080).has("[::1]:8080"));
});

Deno.test("allowedHosts() also allows names without a port when the port is 80", () => {
  assert.deepEqual(
    allowedHosts("example.test", 80),
    new Set([
      "localhost:80",
      "localhost",
      "127.0.0.1:80",
      "127.0.0.1",
      "example.test:80",
      "example.test",
    ]),
  );
});

const CASES: ReadonlyArray<
  { name: string; value: string; host: string; port: number; want: number }
> = [
  // Accepted.
  {
    name: "localhost with port",
    value: "localhost:8080",
    host: "127.0.0.1",
    port: 8080,
    want: 200,
  },
  {
    name: "127.0.0.1 with port",
    value: "127.0.0.1:8080",
    host: "127.0.0.1",
    port: 8080,
    want: 200,
  },
  { name: "configured host", value: "0.0.0.0:8000", host: "0.0.0.0", port: 8000, want: 200 },
  {
    name: "configured name",
    value: "example.test:8080",
    host: "example.test",
    port: 8080,
    want: 200,
  },
  {
    name: "upper-case localhost",
    value: "LOCALHOST:8080",
    host: "127.0.0.1",
    port: 8080,
    want: 200,
  },
  {
    name: "mixed-case localhost",
    value: "LocalHost:8080",
    host: "127.0.0.1",
    port: 8080,
    want: 200,
  },
  {
    name: "mixed-case configured",
    value: "Example.TEST:8080",
    host: "example.test",
    port: 8080,
    want: 200,
  },
  {
    name: "configured upper-case",
    value: "example.test:8080",
    host: "EXAMPLE.test",
    port: 8080,
    want: 200,
  },
  { name: "IPv6 in brackets", value: "[::1]:8080", host: "::1", port: 8080, want: 200 },
  { name: "IPv6 upper-case hex", value: "[FE80::1]:8080", host: "fe80::1", port: 8080, want: 200 },
  { name: "port omitted on port 80", value: "localhost", host: "127.0.0.1", port: 80, want: 200 },
  {
    name: "explicit :80 on port 80",
    value: "localhost:80",
    host: "127.0.0.1",
    port: 80,
    want: 200,
  },
  { name: "IPv6 port omitted on 80", value: "[::1]", host: "::1", port: 80, want: 200 },
  // Valid syntax, not served here.
  { name: "wrong port", value: "localhost:8081", host: "127.0.0.1", port: 8080, want: 403 },
  { name: "port omitted on 8080", value: "localhost", host: "127.0.0.1", port: 8080, want: 403 },
  { name: "127.0.0.1 without port", value: "127.0.0.1", host: "127.0.0.1", port: 8080, want: 403 },
  { name: "other name", value: "evil.example:8080", host: "127.0.0.1", port: 8080, want: 403 },
  { name: "other IP", value: "10.0.0.1:8080", host: "127.0.0.1", port: 8080, want: 403 },
  {
    name: "suffix of localhost",
    value: "localhost.evil:8080",
    host: "127.0.0.1",
    port: 8080,
    want: 403,
  },
  { name: "unconfigured IPv6", value: "[::1]:8080", host: "127.0.0.1", port: 8080, want: 403 },
  // Bound to "::" the server is reached on IPv6 loopback too.
  {
    name: "IPv6 loopback when bound to ::",
    value: "[::1]:8080",
    host: "::",
    port: 8080,
    want: 200,
  },
  {
    name: "IPv4 loopback when bound to ::",
    value: "127.0.0.1:8080",
    host: "::",
    port: 8080,
    want: 200,
  },
  { name: "IPv6 without brackets", value: "::1:8080", host: "::1", port: 8080, want: 400 },
  { name: "empty port", value: "localhost:", host: "127.0.0.1", port: 8080, want: 403 },
  // Malformed.
  { name: "space inside", value: "a b", host: "127.0.0.1", port: 8080, want: 400 },
  { name: "empty", value: "", host: "127.0.0.1", port: 8080, want: 400 },
  { name: "two colons", value: "host:port:x", host: "127.0.0.1", port: 8080, want: 400 },
  { name: "non-numeric port", value: "localhost:abc", host: "127.0.0.1", port: 8080, want: 400 },
  { name: "userinfo", value: "user@localhost:8080", host: "127.0.0.1", port: 8080, want: 400 },
  { name: "path", value: "localhost:8080/x", host: "127.0.0.1", port: 8080, want: 400 },
  { name: "unclosed bracket", value: "[::1:8080", host: "::1", port: 8080, want: 400 },
  { name: "only a port", value: ":8080", host: "127.0.0.1", port: 8080, want: 400 },
  { name: "leading space", value: " localhost:8080", host: "127.0.0.1", port: 8080, want: 400 },
  { name: "comma list", value: "localhost:8080, evil", host: "127.0.0.1", port: 8080, want: 400 },
];

for (const { name, value, host, port, want } of CASES) {
  const verb = want === 200 ? "accepts" : `answers ${want} for`;
  Deno.test(`checkHost() ${verb} ${name}: ${JSON.stringify(value)} (${host}:${port})`, () => {
    assert.equal(hostStatus(value, host, port), want);
  });
}
