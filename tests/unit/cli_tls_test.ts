/**
 * parseCli() (src/cli.ts) for the HTTPS flags: --tls-cert and --tls-key together, and
 * --https-port, --redirect-http and --hsts only with them; every refusal one line (exit status 2
 * in main.ts). The files themselves are read at start-up (tests/e2e/tls_cli_test.ts).
 */

import assert from "node:assert/strict";
import { CliError, parseCli, USAGE } from "../../src/cli.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "../../src/config.ts";

function configOf(argv: string[]): ServerConfig {
  const result = parseCli(argv);
  assert.equal(result.kind, "run");
  return (result as { kind: "run"; config: ServerConfig }).config;
}

const PAIR = ["--tls-cert", "c.pem", "--tls-key", "k.pem"];

Deno.test("parseCli() defaults: plain HTTP, no redirect, no HSTS, 10 s handshakes", () => {
  const config = configOf([]);
  assert.equal(config.tlsCert, null);
  assert.equal(config.tlsKey, null);
  assert.equal(config.httpsPort, null);
  assert.equal(config.redirectHttp, false);
  assert.equal(config.hstsSeconds, null);
  assert.equal(config.tlsHandshakeTimeoutMs, 10_000);
});

const RUN_CASES: ReadonlyArray<{ argv: string[]; want: Partial<ServerConfig> }> = [
  { argv: PAIR, want: { tlsCert: "c.pem", tlsKey: "k.pem" } },
  {
    argv: [...PAIR, "--https-port", "8443"],
    want: { tlsCert: "c.pem", tlsKey: "k.pem", httpsPort: 8443 },
  },
  {
    argv: ["8080", ...PAIR, "--https-port=8443", "--redirect-http"],
    want: { port: 8080, tlsCert: "c.pem", tlsKey: "k.pem", httpsPort: 8443, redirectHttp: true },
  },
  {
    argv: [...PAIR, "--hsts", "31536000"],
    want: { tlsCert: "c.pem", tlsKey: "k.pem", hstsSeconds: 31536000 },
  },
  { argv: [...PAIR, "--hsts", "0"], want: { tlsCert: "c.pem", tlsKey: "k.pem", hstsSeconds: 0 } },
  {
    argv: ["--port", "0", ...PAIR, "--https-port", "0"],
    want: { port: 0, tlsCert: "c.pem", tlsKey: "k.pem", httpsPort: 0 },
  },
];

for (const { argv, want } of RUN_CASES) {
  Deno.test(`parseCli() reads ${JSON.stringify(argv)}`, () => {
    assert.deepEqual(configOf(argv), { ...DEFAULT_CONFIG, ...want });
  });
}

const ERROR_CASES: ReadonlyArray<{ name: string; argv: string[]; mentions: RegExp }> = [
  { name: "a key without a certificate", argv: ["--tls-key", "k.pem"], mentions: /--tls-cert/ },
  { name: "a certificate without a key", argv: ["--tls-cert", "c.pem"], mentions: /--tls-key/ },
  { name: "--https-port without TLS", argv: ["--https-port", "8443"], mentions: /--https-port/ },
  { name: "--redirect-http without TLS", argv: ["--redirect-http"], mentions: /--redirect-http/ },
  { name: "--hsts without TLS", argv: ["--hsts", "60"], mentions: /--hsts/ },
  {
    name: "--redirect-http with TLS on the port alone",
    argv: [...PAIR, "--redirect-http"],
    mentions: /--https-port/,
  },
  {
    name: "--https-port equal to the port",
    argv: ["--port", "8443", ...PAIR, "--https-port", "8443"],
    mentions: /8443/,
  },
  { name: "--https-port abc", argv: [...PAIR, "--https-port", "abc"], mentions: /https-port/ },
  { name: "--https-port 65536", argv: [...PAIR, "--https-port", "65536"], mentions: /https-port/ },
  { name: "--hsts -1", argv: [...PAIR, "--hsts", "-1"], mentions: /hsts/ },
  { name: "--hsts 1d", argv: [...PAIR, "--hsts", "1d"], mentions: /hsts/ },
  {
    name: "an empty certificate path",
    argv: ["--tls-cert", "", "--tls-key", "k"],
    mentions: /--tls-cert/,
  },
  {
    name: "a key path with a newline",
    argv: ["--tls-cert", "c", "--tls-key", "k\n"],
    mentions: /--tls-key/,
  },
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

Deno.test("USAGE names every HTTPS flag", () => {
  for (const flag of ["--tls-cert", "--tls-key", "--https-port", "--redirect-http", "--hsts"]) {
    assert.ok(USAGE.includes(flag), `USAGE lacks ${flag}`);
  }
});
