/**
 * withoutPasswords() and grantCommand() (src/server/sandbox_hint.ts): the grant line repeats
 * the operator's arguments, but never the password of an `--auth USER:PASSWORD`.
 */

import assert from "node:assert/strict";
import { grantCommand, withoutPasswords } from "../../../src/server/sandbox_hint.ts";

const ROWS: ReadonlyArray<[string[], string[]]> = [
  [["--auth", "alice:s3cret"], ["--auth", "alice:PASSWORD"]],
  [["--auth=alice:s3:cret"], ["--auth=alice:PASSWORD"]],
  [["--auth", "nocolon"], ["--auth", "USER:PASSWORD"]],
  [["8080", "--auth", "a:1", "--auth", "b:2", "--root", "x"], [
    "8080",
    "--auth",
    "a:PASSWORD",
    "--auth",
    "b:PASSWORD",
    "--root",
    "x",
  ]],
  [["--auth-file", "users", "--auth-scope", "all"], [
    "--auth-file",
    "users",
    "--auth-scope",
    "all",
  ]],
  [["--auth"], ["--auth"]],
  [["--", "--auth", "a:b"], ["--", "--auth", "a:b"]],
];

for (const [args, want] of ROWS) {
  Deno.test(`withoutPasswords(${JSON.stringify(args)})`, () => {
    assert.deepEqual(withoutPasswords(args), want);
  });
}

Deno.test("grantCommand() never prints an --auth password", () => {
  const line = grantCommand({ root: "/srv/site", uploads: null }, [
    "--root",
    "/srv/site",
    "--auth",
    "alice:hunter2",
  ]);
  assert.ok(line !== null);
  assert.ok(!line.includes("hunter2"), line);
  assert.ok(line.endsWith("--root /srv/site --auth alice:PASSWORD"), line);
});
