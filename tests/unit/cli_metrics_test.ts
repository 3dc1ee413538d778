/**
 * parseCli() (src/cli.ts) for --metrics, --metrics-allow, --trust-proxy and --drain: ranges kept
 * in canonical form, the allow list replacing the loopback default, malformed values refused
 * with one line (exit status 2 in main.ts).
 */

import assert from "node:assert/strict";
import { CliError, parseCli, USAGE } from "../../src/cli.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "../../src/config.ts";

function configOf(argv: string[]): ServerConfig {
  const result = parseCli(argv);
  assert.equal(result.kind, "run");
  return (result as { kind: "run"; config: ServerConfig }).config;
}

Deno.test("parseCli() defaults: no metrics, loopback may read them, no proxy trusted, no drain", () => {
  const config = configOf([]);
  assert.equal(config.metrics, false);
  assert.deepEqual(config.metricsAllow, ["127.0.0.0/8", "::1/128"]);
  assert.deepEqual(config.trustProxy, []);
  assert.equal(config.drainMs, 0);
});

const RUN_CASES: ReadonlyArray<{ argv: string[]; want: Partial<ServerConfig> }> = [
  { argv: ["--metrics"], want: { metrics: true } },
  { argv: ["--metrics-allow", "10.0.0.0/8"], want: { metricsAllow: ["10.0.0.0/8"] } },
  {
    argv: ["--metrics-allow", "192.0.2.7", "--metrics-allow=FD00::/8"],
    want: { metricsAllow: ["192.0.2.7/32", "fd00::/8"] },
  },
  { argv: ["--metrics-allow", "10.1.2.3/8"], want: { metricsAllow: ["10.0.0.0/8"] } },
  { argv: ["--trust-proxy", "127.0.0.1"], want: { trustProxy: ["127.0.0.1/32"] } },
  {
    argv: ["--trust-proxy", "10.0.0.0/8", "--trust-proxy", "::1"],
    want: { trustProxy: ["10.0.0.0/8", "::1/128"] },
  },
  { argv: ["--drain", "10"], want: { drainMs: 10_000 } },
  { argv: ["--drain", "1.1"], want: { drainMs: 1_100 } },
  { argv: ["--drain=0"], want: { drainMs: 0 } },
  {
    argv: ["8000", "0.0.0.0", "--metrics", "--metrics-allow", "0.0.0.0/0", "--drain", "5"],
    want: {
      port: 8000,
      host: "0.0.0.0",
      metrics: true,
      metricsAllow: ["0.0.0.0/0"],
      drainMs: 5000,
    },
  },
];

for (const { argv, want } of RUN_CASES) {
  Deno.test(`parseCli() reads ${JSON.stringify(argv)}`, () => {
    assert.deepEqual(configOf(argv), { ...DEFAULT_CONFIG, ...want });
  });
}

const ERROR_CASES: ReadonlyArray<{ name: string; argv: string[]; mentions: RegExp }> = [
  {
    name: "a prefix too long",
    argv: ["--metrics-allow", "10.0.0.0/33"],
    mentions: /--metrics-allow/,
  },
  {
    name: "a name, not an address",
    argv: ["--metrics-allow", "localhost"],
    mentions: /--metrics-allow/,
  },
  { name: "an empty range", argv: ["--trust-proxy", ""], mentions: /--trust-proxy/ },
  {
    name: "a bracketed IPv6 range",
    argv: ["--trust-proxy", "[::1]/128"],
    mentions: /--trust-proxy/,
  },
  {
    name: "a list in one value",
    argv: ["--trust-proxy", "10.0.0.1,10.0.0.2"],
    mentions: /--trust-proxy/,
  },
  { name: "--trust-proxy without a value", argv: ["--trust-proxy"], mentions: /trust-proxy/ },
  { name: "a negative drain", argv: ["--drain", "-1"], mentions: /drain/ },
  { name: "a drain with a unit", argv: ["--drain", "5s"], mentions: /--drain/ },
  { name: "a drain over an hour", argv: ["--drain", "3601"], mentions: /--drain/ },
  { name: "--metrics with a value", argv: ["--metrics=yes"], mentions: /metrics/ },
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

Deno.test("USAGE names --metrics, --metrics-allow, --trust-proxy and --drain", () => {
  for (
    const flag of ["--metrics ", "--metrics-allow CIDR", "--trust-proxy CIDR", "--drain SECONDS"]
  ) {
    assert.ok(USAGE.includes(flag), flag);
  }
});
