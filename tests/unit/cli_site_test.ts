/**
 * parseCli() (src/cli.ts) for the flags that shape how the site is served: --strict-types,
 * --cache-control, --no-compression, --listing and --list-uploads (README "Command line").
 */

import assert from "node:assert/strict";
import { CliError, parseCli, USAGE } from "../../src/cli.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "../../src/config.ts";

function configOf(argv: string[]): ServerConfig {
  const result = parseCli(argv);
  assert.equal(result.kind, "run");
  return (result as { kind: "run"; config: ServerConfig }).config;
}

const RUN_CASES: ReadonlyArray<{ argv: string[]; want: Partial<ServerConfig> }> = [
  { argv: [], want: { strictTypes: false } },
  { argv: ["--strict-types"], want: { strictTypes: true } },
  { argv: ["8000", "--strict-types"], want: { port: 8000, strictTypes: true } },
  { argv: [], want: { cacheControl: null } },
  { argv: ["--cache-control", "no-cache"], want: { cacheControl: "no-cache" } },
  { argv: ["--cache-control=max-age=60"], want: { cacheControl: "max-age=60" } },
  {
    argv: ["--cache-control", "public, max-age=31536000, immutable"],
    want: { cacheControl: "public, max-age=31536000, immutable" },
  },
  { argv: ["--cache-control", "  max-age=60 "], want: { cacheControl: "max-age=60" } },
  { argv: ["--cache-control", 'private="a b"'], want: { cacheControl: 'private="a b"' } },
  { argv: [], want: { compression: true } },
  { argv: ["--no-compression"], want: { compression: false } },
  {
    argv: ["8000", "--no-compression", "--listing"],
    want: { port: 8000, compression: false, listing: true },
  },
  { argv: [], want: { listing: false, listUploads: false } },
  { argv: ["--listing"], want: { listing: true } },
  { argv: ["--list-uploads"], want: { listUploads: true } },
  { argv: ["--listing", "--list-uploads"], want: { listing: true, listUploads: true } },
  {
    argv: ["--strict-types", "--listing", "--cache-control", "no-cache"],
    want: { strictTypes: true, listing: true, cacheControl: "no-cache" },
  },
];

for (const { argv, want } of RUN_CASES) {
  Deno.test(`parseCli() reads ${JSON.stringify(argv)}`, () => {
    assert.deepEqual(configOf(argv), { ...DEFAULT_CONFIG, ...want });
  });
}

const ERROR_CASES: ReadonlyArray<{ name: string; argv: string[] }> = [
  { name: "a value given to --strict-types", argv: ["--strict-types=yes"] },
  { name: "a value given to --listing", argv: ["--listing=yes"] },
  { name: "a value given to --no-compression", argv: ["--no-compression=1"] },
  { name: "--compression (only its negation exists)", argv: ["--compression"] },
  { name: "a value given to --list-uploads", argv: ["--list-uploads=1"] },
  { name: "--cache-control without a value", argv: ["--cache-control"] },
  { name: "empty --cache-control", argv: ["--cache-control", ""] },
  { name: "blank --cache-control", argv: ["--cache-control", "   "] },
  { name: "CRLF in --cache-control", argv: ["--cache-control", "max-age=1\r\nSet-Cookie: a=b"] },
  { name: "LF in --cache-control", argv: ["--cache-control", "max-age=1\nX: y"] },
  { name: "CR in --cache-control", argv: ["--cache-control", "max-age=1\rX: y"] },
  { name: "NUL in --cache-control", argv: ["--cache-control", "max-age=1\0"] },
  { name: "tab in --cache-control", argv: ["--cache-control", "no-cache,\tno-store"] },
  { name: "DEL in --cache-control", argv: ["--cache-control", "no-cache\x7f"] },
  { name: "non-ASCII in --cache-control", argv: ["--cache-control", "max-âge=1"] },
];

for (const { name, argv } of ERROR_CASES) {
  Deno.test(`parseCli() refuses ${name}: ${JSON.stringify(argv)}`, () => {
    assert.throws(() => parseCli(argv), (error: unknown) => {
      assert.ok(error instanceof CliError, `expected CliError, got ${error}`);
      assert.ok(error.message.trim().length > 0, "message must not be empty");
      assert.ok(!error.message.includes("\n"), `message must be one line: ${error.message}`);
      return true;
    });
  });
}

for (
  const flag of [
    "--strict-types",
    "--cache-control",
    "--no-compression",
    "--listing",
    "--list-uploads",
  ]
) {
  Deno.test(`USAGE names ${flag}`, () => {
    assert.match(USAGE, new RegExp(`^  ${flag}\\b`, "m"));
  });
}
