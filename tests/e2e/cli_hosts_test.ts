/**
 * --cors, --allow-host and --uploads on the real command line: a malformed value ends with one
 * line on stderr and exit status 2, before anything listens; --help names the three flags.
 */

import assert from "node:assert/strict";
import { runCli } from "../helpers/server.ts";

const BAD: { args: string[]; mentions: RegExp }[] = [
  { args: ["--cors", "https://app.example/"], mentions: /--cors "https:\/\/app\.example\/"/ },
  { args: ["--cors", "app.example"], mentions: /--cors/ },
  { args: ["--cors", "https://a.example", "--cors", "ftp//x"], mentions: /--cors "ftp\/\/x"/ },
  { args: ["--allow-host", "http://myhost.lan"], mentions: /--allow-host/ },
  { args: ["--allow-host", "myhost.lan:99999"], mentions: /--allow-host/ },
  { args: ["--uploads", ""], mentions: /--uploads/ },
];

for (const c of BAD) {
  Deno.test(`main.ts ${JSON.stringify(c.args)} exits 2 with a one-line error`, async () => {
    const { code, out, err } = await runCli(c.args);
    assert.equal(code, 2, `exit status ${code}; stderr: ${err}`);
    assert.equal(out, "");
    assert.ok(err.endsWith("\n"));
    assert.equal(err.trimEnd().split("\n").length, 1, `not one line:\n${err}`);
    assert.match(err, /^denohttpd: invalid |^denohttpd: --uploads/);
    assert.match(err, c.mentions);
  });
}

Deno.test("main.ts --help describes --cors, --allow-host and --uploads", async () => {
  const { code, out } = await runCli(["--help"]);
  assert.equal(code, 0);
  for (const flag of ["--cors ORIGIN", "--allow-host NAME", "--uploads DIR", "DNS rebinding"]) {
    assert.ok(out.includes(flag), flag);
  }
});
