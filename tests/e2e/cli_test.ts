/**
 * The command line end to end: bad arguments end with one line and status 2, --help prints
 * usage, and a busy port is a one-line start-up failure. Each run is bounded in time.
 */

import assert from "node:assert/strict";
import { runCli } from "../helpers/server.ts";

/** A log line: RFC 3339 timestamp first. */
const LOG_LINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}) /;

function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

const BAD_ARGUMENTS: { name: string; args: string[]; mentions: RegExp }[] = [
  { name: "port abc", args: ["abc"], mentions: /port/i },
  { name: "--pool 0", args: ["--pool", "0"], mentions: /pool/i },
  { name: "unknown flag", args: ["--frobnicate"], mentions: /frobnicate/ },
  { name: "positional pool 0", args: ["8080", "127.0.0.1", "0"], mentions: /pool/i },
  { name: "four positionals", args: ["1", "2", "3", "4"], mentions: /argument/i },
  { name: "port out of range", args: ["65536"], mentions: /port/i },
  { name: "negative port", args: ["--port", "-1"], mentions: /port/i },
];

for (const c of BAD_ARGUMENTS) {
  Deno.test(`main.ts ${c.args.join(" ")} (${c.name}) exits 2 with a one-line error`, async () => {
    const { code, out, err } = await runCli(c.args);
    assert.equal(code, 2, `exit status ${code}; stderr: ${err}`);
    assert.equal(out, "", "bad arguments wrote to stdout");
    assert.ok(err.endsWith("\n"), "stderr does not end with a newline");
    assert.equal(lines(err).length, 1, `stderr is not one line:\n${err}`);
    assert.ok(!err.includes("    at "), `stack trace on stderr:\n${err}`);
    assert.ok(!/error: Uncaught/i.test(err), `uncaught error:\n${err}`);
    assert.match(err, c.mentions);
  });
}

Deno.test("main.ts --help exits 0 with usage on stdout", async () => {
  for (const flag of ["--help", "-h"]) {
    const { code, out, err } = await runCli([flag]);
    assert.equal(code, 0, `${flag}: exit status ${code}`);
    assert.equal(err, "", `${flag}: wrote to stderr`);
    assert.match(out, /usage/i);
    for (const word of ["port", "host", "pool", "--root"]) {
      assert.ok(out.includes(word), `${flag}: usage does not mention ${word}`);
    }
  }
});

/** A start-up failure: non-zero exit, no stack trace, the reason in one line. */
function assertStartupFailure(
  run: { code: number; out: string; err: string },
  message: RegExp,
): void {
  const { code, out, err } = run;
  assert.notEqual(code, 0, "the server started anyway");
  assert.equal(out, "");
  assert.ok(!err.includes("    at "), `stack trace on stderr:\n${err}`);
  assert.ok(!/error: Uncaught/i.test(err), `uncaught error:\n${err}`);
  // The failure may also appear as a timestamped log line; beside those, one message line.
  const errLines = lines(err);
  const plain = errLines.filter((line) => !LOG_LINE.test(line));
  assert.ok(plain.length <= 1, `more than one non-log line on stderr:\n${err}`);
  for (const line of plain) assert.match(line, /^denohttpd: /, `unexpected stderr line: ${line}`);
  assert.ok(errLines.some((line) => message.test(line)), `no line matches ${message}:\n${err}`);
}

Deno.test("main.ts on a port already in use exits non-zero with a one-line message", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (blocker.addr as Deno.NetAddr).port;
    assertStartupFailure(await runCli([String(port)]), new RegExp(`${port}.*in use`, "i"));
  } finally {
    blocker.close();
  }
});

Deno.test("main.ts --root of a missing folder exits non-zero with a one-line message", async () => {
  assertStartupFailure(
    await runCli(["0", "--root", "resources/no-such-folder"]),
    /no-such-folder/,
  );
});
