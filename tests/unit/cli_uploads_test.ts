/**
 * parseCli() (src/cli.ts): the upload limits --uploads-max-bytes, --min-free-bytes (sizes with
 * K/M/G/T suffixes) and --upload-rate N/s (0 turns it off); bad values are one-line CliErrors.
 */

import assert from "node:assert/strict";
import { CliError, parseCli } from "../../src/cli.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "../../src/config.ts";

function configOf(argv: string[]): ServerConfig {
  const result = parseCli(argv);
  assert.equal(result.kind, "run");
  return (result as { kind: "run"; config: ServerConfig }).config;
}

Deno.test("parseCli() upload limit defaults: 1 GiB stored, 64 MiB free, 50 uploads/s in bursts of 100", () => {
  const config = configOf([]);
  assert.equal(config.uploadsMaxBytes, 1024 ** 3);
  assert.equal(config.minFreeBytes, 64 * 1024 ** 2);
  assert.equal(config.uploadRatePerSecond, 50);
  assert.equal(config.uploadBurst, 100);
  assert.equal(DEFAULT_CONFIG.uploadBurst, 2 * DEFAULT_CONFIG.uploadRatePerSecond);
});

const ACCEPTED: [string[], Partial<ServerConfig>][] = [
  [["--uploads-max-bytes", "1048576"], { uploadsMaxBytes: 1048576 }],
  [["--uploads-max-bytes", "512M"], { uploadsMaxBytes: 512 * 1024 ** 2 }],
  [["--uploads-max-bytes", "2g"], { uploadsMaxBytes: 2 * 1024 ** 3 }],
  [["--uploads-max-bytes", "1T"], { uploadsMaxBytes: 1024 ** 4 }],
  [["--uploads-max-bytes", "0"], { uploadsMaxBytes: 0 }],
  [["--min-free-bytes", "100K"], { minFreeBytes: 100 * 1024 }],
  [["--min-free-bytes=0"], { minFreeBytes: 0 }],
  [["--upload-rate", "10/s"], { uploadRatePerSecond: 10, uploadBurst: 20 }],
  [["--upload-rate", "0.5/s"], { uploadRatePerSecond: 0.5, uploadBurst: 1 }],
  [["--upload-rate", "2.5/s"], { uploadRatePerSecond: 2.5, uploadBurst: 5 }],
  [["--upload-rate", "0"], { uploadRatePerSecond: 0 }],
];

for (const [argv, want] of ACCEPTED) {
  Deno.test(`parseCli() accepts ${argv.join(" ")}`, () => {
    const config = configOf(argv);
    for (const [key, value] of Object.entries(want)) {
      assert.equal(config[key as keyof ServerConfig], value, key);
    }
  });
}

const REFUSED: [string[], RegExp][] = [
  [["--uploads-max-bytes", "lots"], /invalid --uploads-max-bytes "lots"/],
  [["--uploads-max-bytes=-1"], /invalid --uploads-max-bytes "-1"/],
  [["--uploads-max-bytes", "1.5G"], /invalid --uploads-max-bytes/],
  [["--uploads-max-bytes", "1KB"], /invalid --uploads-max-bytes/],
  [["--uploads-max-bytes", "99999999999T"], /too large/],
  [["--min-free-bytes", ""], /invalid --min-free-bytes/],
  [["--upload-rate", "10"], /invalid --upload-rate "10": expected N\/s/],
  [["--upload-rate", "10/m"], /invalid --upload-rate/],
  [["--upload-rate", "0/s"], /invalid --upload-rate/],
  [["--upload-rate=-1/s"], /invalid --upload-rate/],
  [["--upload-rate", "fast"], /invalid --upload-rate/],
];

for (const [argv, message] of REFUSED) {
  Deno.test(`parseCli() refuses ${JSON.stringify(argv.join(" "))} with one line`, () => {
    assert.throws(() => parseCli(argv), (error: unknown) => {
      assert.ok(error instanceof CliError);
      assert.match(error.message, message);
      assert.ok(!error.message.includes("\n"));
      return true;
    });
  });
}
