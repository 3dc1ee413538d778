/**
 * parseCli() (src/cli.ts) and threads() for `--threads N|auto`: 1 by default, `auto` one per
 * CPU but at most the pool, N at most the pool (each thread serves a share of it), anything
 * else refused with one line (exit status 2 in main.ts, tested in tests/e2e/threads_test.ts).
 */

import assert from "node:assert/strict";
import { CliError, parseCli, threads, USAGE } from "../../src/cli.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "../../src/config.ts";

function configOf(argv: string[]): ServerConfig {
  const result = parseCli(argv);
  assert.equal(result.kind, "run");
  return (result as { kind: "run"; config: ServerConfig }).config;
}

Deno.test("parseCli() defaults to one thread, and the default configuration is unchanged by it", () => {
  assert.equal(DEFAULT_CONFIG.threads, 1);
  assert.deepEqual(configOf([]), { ...DEFAULT_CONFIG });
});

const CPUS = navigator.hardwareConcurrency;

const RUN_CASES: ReadonlyArray<{ argv: string[]; want: Partial<ServerConfig> }> = [
  { argv: ["--threads", "1"], want: { threads: 1 } },
  { argv: ["--threads", "2"], want: { threads: 2 } },
  { argv: ["--threads=4"], want: { threads: 4 } },
  { argv: ["--threads", "10"], want: { threads: 10 } },
  { argv: ["--threads", "auto"], want: { threads: Math.min(CPUS, 10) } },
  {
    argv: ["8000", "127.0.0.1", "20", "--threads", "20"],
    want: { port: 8000, poolSize: 20, threads: 20 },
  },
  { argv: ["--pool", "1", "--threads", "auto"], want: { poolSize: 1, threads: 1 } },
  // deno task start:threads says `--threads auto`; one given after it wins.
  { argv: ["--threads", "auto", "8080", "--threads", "2"], want: { port: 8080, threads: 2 } },
];

for (const { argv, want } of RUN_CASES) {
  Deno.test(`parseCli() reads ${JSON.stringify(argv)}`, () => {
    assert.deepEqual(configOf(argv), { ...DEFAULT_CONFIG, ...want });
  });
}

const THREADS_CASES: ReadonlyArray<[text: string, pool: number, cpus: number, want: number]> = [
  ["auto", 10, 2, 2],
  ["auto", 10, 64, 10],
  ["auto", 300, 512, 256],
  ["auto", 10, 0, 1],
  ["3", 3, 1, 3],
];

for (const [text, pool, cpus, want] of THREADS_CASES) {
  Deno.test(`threads(${JSON.stringify(text)}) with pool ${pool} and ${cpus} CPUs is ${want}`, () => {
    assert.equal(threads(text, pool, cpus), want);
  });
}

const ERROR_CASES: ReadonlyArray<{ argv: string[]; mentions: RegExp }> = [
  {
    argv: ["--threads", "0"],
    mentions: /invalid --threads "0": expected a number of threads from 1 to 256, or auto/,
  },
  { argv: ["--threads=-1"], mentions: /invalid --threads "-1"/ },
  { argv: ["--threads", "-1"], mentions: /threads/ },
  { argv: ["--threads", "x"], mentions: /invalid --threads "x"/ },
  { argv: ["--threads", "AUTO"], mentions: /invalid --threads "AUTO"/ },
  { argv: ["--threads", "2.0"], mentions: /invalid --threads "2.0"/ },
  { argv: ["--threads", " 2"], mentions: /invalid --threads " 2"/ },
  { argv: ["--threads", "1e1"], mentions: /invalid --threads "1e1"/ },
  { argv: ["--threads", "257", "--pool", "1000"], mentions: /from 1 to 256/ },
  { argv: ["--threads", "11"], mentions: /--threads 11 is more than the pool \(10\)/ },
  { argv: ["--pool", "2", "--threads", "3"], mentions: /more than the pool \(2\)/ },
  { argv: ["--threads"], mentions: /threads/ },
];

for (const { argv, mentions } of ERROR_CASES) {
  Deno.test(`parseCli() refuses ${JSON.stringify(argv)}`, () => {
    assert.throws(() => parseCli(argv), (error: unknown) => {
      assert.ok(error instanceof CliError, `expected CliError, got ${error}`);
      assert.ok(!error.message.includes("\n"), `message must be one line: ${error.message}`);
      assert.match(error.message, mentions);
      return true;
    });
  });
}

Deno.test("USAGE names --threads N|auto and what it needs", () => {
  assert.ok(USAGE.includes("--threads N|auto"));
  assert.ok(USAGE.includes("--unstable-net"));
});
