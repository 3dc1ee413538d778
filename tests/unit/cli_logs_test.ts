/**
 * parseCli() (src/cli.ts): --access-log FILE|off, --error-log FILE, --log-format
 * text|combined|json; bad values are one-line CliErrors.
 */

import assert from "node:assert/strict";
import { CliError, parseCli } from "../../src/cli.ts";
import type { ServerConfig } from "../../src/config.ts";

function configOf(argv: string[]): ServerConfig {
  const result = parseCli(argv);
  assert.equal(result.kind, "run");
  return (result as { kind: "run"; config: ServerConfig }).config;
}

Deno.test("parseCli() log defaults: stderr for both logs, text lines", () => {
  const config = configOf([]);
  assert.equal(config.errorLog, null);
  assert.equal(config.accessLog, null);
  assert.equal(config.logFormat, "text");
});

const ACCEPTED: [string[], Partial<ServerConfig>][] = [
  [["--access-log", "/var/log/denohttpd/access.log"], {
    accessLog: "/var/log/denohttpd/access.log",
  }],
  [["--access-log", "off"], { accessLog: "off" }],
  [["--error-log", "logs/error.log"], { errorLog: "logs/error.log" }],
  [["--log-format", "combined"], { logFormat: "combined" }],
  [["--log-format", "json"], { logFormat: "json" }],
  [["--log-format=text"], { logFormat: "text" }],
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
  [["--log-format", "apache"], /invalid --log-format "apache": use text, combined, json/],
  [["--log-format", "JSON"], /invalid --log-format/],
  [["--access-log", ""], /invalid --access-log "": expected a file path/],
  [["--error-log", "a\nb"], /invalid --error-log "a\\nb"/],
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

Deno.test("parseCli() takes --error-log off as a file named off (the error log cannot be off)", () => {
  assert.equal(configOf(["--error-log", "off"]).errorLog, "off");
});
