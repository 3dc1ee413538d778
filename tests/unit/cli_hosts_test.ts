/**
 * parseCli() (src/cli.ts) for --cors, --allow-host and --uploads: repeatable values kept in
 * canonical form, malformed ones refused with one line (exit status 2 in main.ts).
 */

import assert from "node:assert/strict";
import { CliError, parseCli, USAGE } from "../../src/cli.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "../../src/config.ts";

function configOf(argv: string[]): ServerConfig {
  const result = parseCli(argv);
  assert.equal(result.kind, "run");
  return (result as { kind: "run"; config: ServerConfig }).config;
}

Deno.test("parseCli() defaults: no --cors, no --allow-host, uploads in <root>/uploads", () => {
  const config = configOf([]);
  assert.deepEqual(config.corsOrigins, []);
  assert.deepEqual(config.allowHosts, []);
  assert.equal(config.uploads, null);
  assert.equal(config.corsMaxAgeSeconds, 600);
});

const RUN_CASES: ReadonlyArray<{ argv: string[]; want: Partial<ServerConfig> }> = [
  { argv: ["--cors", "https://app.example"], want: { corsOrigins: ["https://app.example"] } },
  { argv: ["--cors=*"], want: { corsOrigins: ["*"] } },
  { argv: ["--cors", "null"], want: { corsOrigins: ["null"] } },
  {
    argv: ["--cors", "HTTPS://App.Example:443", "--cors", "http://localhost:3000"],
    want: { corsOrigins: ["https://app.example", "http://localhost:3000"] },
  },
  { argv: ["--allow-host", "myhost.lan"], want: { allowHosts: ["myhost.lan"] } },
  {
    argv: ["--allow-host", "192.168.1.5", "--allow-host=Proxy.Example:443"],
    want: { allowHosts: ["192.168.1.5", "proxy.example:443"] },
  },
  { argv: ["--allow-host", "fe80::1"], want: { allowHosts: ["[fe80::1]"] } },
  { argv: ["--allow-host", "*"], want: { allowHosts: ["*"] } },
  { argv: ["--uploads", "/var/lib/uploads"], want: { uploads: "/var/lib/uploads" } },
  { argv: ["--uploads=data/in", "--root", "site"], want: { uploads: "data/in", root: "site" } },
  {
    argv: ["8000", "0.0.0.0", "--allow-host", "myhost.lan", "--cors", "*"],
    want: { port: 8000, host: "0.0.0.0", allowHosts: ["myhost.lan"], corsOrigins: ["*"] },
  },
];

for (const { argv, want } of RUN_CASES) {
  Deno.test(`parseCli() reads ${JSON.stringify(argv)}`, () => {
    assert.deepEqual(configOf(argv), { ...DEFAULT_CONFIG, ...want });
  });
}

Deno.test("parseCli() leaves DEFAULT_CONFIG's lists alone", () => {
  configOf(["--cors", "*", "--allow-host", "a.lan"]);
  assert.deepEqual(DEFAULT_CONFIG.corsOrigins, []);
  assert.deepEqual(DEFAULT_CONFIG.allowHosts, []);
});

const ERROR_CASES: ReadonlyArray<{ name: string; argv: string[]; mentions: RegExp }> = [
  {
    name: "an origin with a trailing slash",
    argv: ["--cors", "https://a.example/"],
    mentions: /path/,
  },
  { name: "an origin with a path", argv: ["--cors", "https://a.example/app"], mentions: /--cors/ },
  { name: "an origin without a scheme", argv: ["--cors", "a.example"], mentions: /--cors/ },
  { name: "an empty origin", argv: ["--cors", ""], mentions: /--cors/ },
  {
    name: "an origin list in one value",
    argv: ["--cors", "https://a,https://b"],
    mentions: /--cors/,
  },
  { name: "an origin with a newline", argv: ["--cors", "https://a\nb"], mentions: /--cors/ },
  { name: "a bad origin port", argv: ["--cors", "http://a:99999"], mentions: /--cors/ },
  { name: "--cors without a value", argv: ["--cors"], mentions: /cors/ },
  {
    name: "a host with a scheme",
    argv: ["--allow-host", "http://a.lan"],
    mentions: /--allow-host/,
  },
  { name: "a host with a path", argv: ["--allow-host", "a.lan/x"], mentions: /--allow-host/ },
  { name: "an empty host", argv: ["--allow-host", ""], mentions: /--allow-host/ },
  { name: "a host with port 0", argv: ["--allow-host", "a.lan:0"], mentions: /--allow-host/ },
  { name: "a wildcard name", argv: ["--allow-host", "*.lan"], mentions: /--allow-host/ },
  { name: "a host with a space", argv: ["--allow-host", "a lan"], mentions: /--allow-host/ },
  { name: "an empty uploads folder", argv: ["--uploads", ""], mentions: /--uploads/ },
];

for (const { name, argv, mentions } of ERROR_CASES) {
  Deno.test(`parseCli() refuses ${name}: ${JSON.stringify(argv)}`, () => {
    assert.throws(() => parseCli(argv), (error: unknown) => {
      assert.ok(error instanceof CliError, `expected CliError, got ${error}`);
      assert.ok(!error.message.includes("\n"), `message must be one line: ${error.message}`);
      assert.match(error.message, mentions);
      return true;
    });
  });
}

Deno.test("USAGE names --cors, --allow-host and --uploads", () => {
  for (const flag of ["--cors ORIGIN", "--allow-host NAME", "--uploads DIR"]) {
    assert.ok(USAGE.includes(flag), flag);
  }
});
