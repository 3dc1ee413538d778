/**
 * parseCli() (src/cli.ts): SPEC.md "Running it": positionals `[port] [host] [pool]` like
 * `server.py 8000 0.0.0.0 20`, flags beside them, --help / --version, and one-line CliErrors.
 */

import assert from "node:assert/strict";
import { CliError, parseCli } from "../../src/cli.ts";
import { DEFAULT_CONFIG, SERVER_VERSION, type ServerConfig } from "../../src/config.ts";

/** The config parseCli() returns for `argv`; fails unless the result is "run". */
function configOf(argv: string[]): ServerConfig {
  const result = parseCli(argv);
  assert.equal(result.kind, "run");
  return (result as { kind: "run"; config: ServerConfig }).config;
}

Deno.test("parseCli() with no arguments returns the defaults", () => {
  assert.deepEqual(configOf([]), { ...DEFAULT_CONFIG });
});

Deno.test("parseCli() defaults match SPEC.md", () => {
  const config = configOf([]);
  assert.equal(config.port, 8080);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.poolSize, 10);
  assert.equal(config.queueLimit, 200);
  assert.equal(config.root, "resources");
  assert.equal(config.maxHeadBytes, 8192);
  assert.equal(config.maxBodyBytes, 8192);
});

Deno.test("parseCli() does not mutate DEFAULT_CONFIG", () => {
  const before = { ...DEFAULT_CONFIG };
  configOf(["9000", "0.0.0.0", "3", "--queue", "7"]);
  assert.deepEqual({ ...DEFAULT_CONFIG }, before);
});

const RUN_CASES: ReadonlyArray<{ argv: string[]; want: Partial<ServerConfig> }> = [
  { argv: ["8000"], want: { port: 8000 } },
  { argv: ["8000", "0.0.0.0"], want: { port: 8000, host: "0.0.0.0" } },
  { argv: ["8000", "0.0.0.0", "20"], want: { port: 8000, host: "0.0.0.0", poolSize: 20 } },
  { argv: ["0"], want: { port: 0 } },
  { argv: ["65535"], want: { port: 65535 } },
  { argv: ["8000", "::1"], want: { port: 8000, host: "::1" } },
  { argv: ["--port", "9000"], want: { port: 9000 } },
  { argv: ["--port=9000"], want: { port: 9000 } },
  { argv: ["--host", "0.0.0.0"], want: { host: "0.0.0.0" } },
  { argv: ["--host=localhost"], want: { host: "localhost" } },
  { argv: ["--pool", "4"], want: { poolSize: 4 } },
  { argv: ["--pool", "1"], want: { poolSize: 1 } },
  { argv: ["--queue", "0"], want: { queueLimit: 0 } },
  { argv: ["--queue", "500"], want: { queueLimit: 500 } },
  { argv: ["--root", "site"], want: { root: "site" } },
  { argv: ["--max-head", "16384"], want: { maxHeadBytes: 16384 } },
  { argv: ["--max-body", "1048576"], want: { maxBodyBytes: 1048576 } },
  { argv: ["--max-body", "0"], want: { maxBodyBytes: 0 } },
  { argv: ["--log-level", "debug"], want: { logLevel: "debug" } },
  { argv: ["--log-level", "info"], want: { logLevel: "info" } },
  { argv: ["--log-level", "warning"], want: { logLevel: "warning" } },
  { argv: ["--log-level", "error"], want: { logLevel: "error" } },
  { argv: ["8000", "--pool", "3"], want: { port: 8000, poolSize: 3 } },
  { argv: ["--pool", "3", "8000"], want: { port: 8000, poolSize: 3 } },
  { argv: ["8000", "--port", "8000"], want: { port: 8000 } },
  { argv: ["8000", "0.0.0.0", "--host", "0.0.0.0"], want: { port: 8000, host: "0.0.0.0" } },
  {
    argv: ["--port", "1", "--host", "h", "--pool", "2", "--queue", "3", "--max-head", "4096"],
    want: { port: 1, host: "h", poolSize: 2, queueLimit: 3, maxHeadBytes: 4096 },
  },
];

for (const { argv, want } of RUN_CASES) {
  Deno.test(`parseCli() reads ${JSON.stringify(argv)}`, () => {
    assert.deepEqual(configOf(argv), { ...DEFAULT_CONFIG, ...want });
  });
}

for (const argv of [["--help"], ["-h"], ["8000", "--help"], ["-h", "8000", "0.0.0.0", "20"]]) {
  Deno.test(`parseCli() returns help text for ${JSON.stringify(argv)}`, () => {
    const result = parseCli(argv);
    assert.equal(result.kind, "help");
    const text = (result as { text: string }).text;
    assert.match(text, /Usage/);
    for (const flag of ["--port", "--host", "--pool", "--help"]) assert.ok(text.includes(flag));
  });
}

for (const argv of [["--version"], ["-V"]]) {
  Deno.test(`parseCli() returns the version for ${JSON.stringify(argv)}`, () => {
    const result = parseCli(argv);
    assert.equal(result.kind, "version");
    const text = (result as { text: string }).text;
    assert.ok(text.includes(SERVER_VERSION), text);
    assert.match(text, /denohttpd/);
  });
}

const ERROR_CASES: ReadonlyArray<{ name: string; argv: string[] }> = [
  { name: "non-numeric port", argv: ["abc"] },
  { name: "port above 65535", argv: ["70000"] },
  { name: "port 65536", argv: ["65536"] },
  { name: "negative port flag", argv: ["--port=-1"] },
  { name: "fractional port", argv: ["80.5"] },
  { name: "hex port", argv: ["0x50"] },
  { name: "exponent port", argv: ["8e3"] },
  { name: "empty port flag", argv: ["--port", ""] },
  { name: "port flag without value", argv: ["--port"] },
  { name: "non-numeric port flag", argv: ["--port", "http"] },
  { name: "pool 0", argv: ["8000", "0.0.0.0", "0"] },
  { name: "pool flag 0", argv: ["--pool", "0"] },
  { name: "pool -1 positional", argv: ["8000", "0.0.0.0", "-1"] },
  { name: "pool -1 after --", argv: ["8000", "0.0.0.0", "--", "-1"] },
  { name: "pool flag -1", argv: ["--pool", "-1"] },
  { name: "pool flag =-1", argv: ["--pool=-1"] },
  { name: "pool too large", argv: ["--pool", "10001"] },
  { name: "non-numeric pool", argv: ["8000", "0.0.0.0", "many"] },
  { name: "negative queue", argv: ["--queue=-5"] },
  { name: "non-numeric queue", argv: ["--queue", "lots"] },
  { name: "max-head below 256", argv: ["--max-head", "100"] },
  { name: "non-numeric max-body", argv: ["--max-body", "8k"] },
  { name: "unknown flag", argv: ["--frobnicate"] },
  { name: "unknown short flag", argv: ["-x"] },
  { name: "value given to a boolean flag", argv: ["--help=yes"] },
  { name: "four positionals", argv: ["8000", "0.0.0.0", "20", "extra"] },
  { name: "conflicting port", argv: ["8000", "--port", "9000"] },
  { name: "conflicting host", argv: ["8000", "0.0.0.0", "--host", "127.0.0.1"] },
  { name: "conflicting pool", argv: ["8000", "0.0.0.0", "20", "--pool", "5"] },
  { name: "bad log level", argv: ["--log-level", "verbose"] },
  { name: "empty log level", argv: ["--log-level", ""] },
  { name: "empty host flag", argv: ["--host", ""] },
  { name: "empty host positional", argv: ["8000", ""] },
  { name: "blank host", argv: ["--host", "   "] },
  { name: "host with a space", argv: ["--host", "a b"] },
  { name: "empty root", argv: ["--root", ""] },
];

for (const { name, argv } of ERROR_CASES) {
  Deno.test(`parseCli() refuses ${name}: ${JSON.stringify(argv)}`, () => {
    assert.throws(() => parseCli(argv), (error: unknown) => {
      assert.ok(error instanceof CliError, `expected CliError, got ${error}`);
      assert.equal(error.name, "CliError");
      assert.ok(error.message.trim().length > 0, "message must not be empty");
      assert.ok(!error.message.includes("\n"), `message must be one line: ${error.message}`);
      return true;
    });
  });
}
