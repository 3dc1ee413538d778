/**
 * `deno task compile` produces a standalone executable with the same permission scope.
 *
 * Compiling needs Deno's `denort` runtime, which `deno compile` downloads on first use (or takes
 * from DENORT_BIN). Where that download is impossible the test is reported as ignored, with the
 * reason printed; everywhere else it builds the binary and checks it serves and stays sandboxed.
 */

import assert from "node:assert/strict";
import { exchange } from "../helpers/raw_client.ts";
import { PROJECT_DIR, TEST_TMP, withSpawnedServer } from "../helpers/server.ts";

const binary = `${TEST_TMP}/denohttpd-compiled`;

async function tryCompile(): Promise<string | null> {
  await Deno.mkdir(TEST_TMP, { recursive: true });
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--allow-net",
      "--allow-read=resources",
      "--allow-write=resources/uploads",
      "--allow-sys=statfs",
      "--output",
      binary,
      "main.ts",
    ],
    cwd: PROJECT_DIR,
    stdin: "null",
  }).output();
  if (out.success) return null;
  const err = new TextDecoder().decode(out.stderr);
  if (/dns error|download|failed to lookup|network|connect/i.test(err)) {
    console.warn(`deno compile cannot fetch its runtime here; compile test ignored`);
    return "runtime download unavailable";
  }
  throw new Error(`deno compile failed:\n${err}`);
}

const skipReason = await tryCompile();

Deno.test({
  name: "deno compile output serves resources/ and rejects reads outside its scope",
  ignore: skipReason !== null,
  async fn() {
    try {
      await withSpawnedServer(["0"], { executable: binary }, async ({ port }) => {
        const ok = await exchange(port, `GET / HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
        assert.equal(ok.status, 200);
        const denied = await exchange(
          port,
          `GET /../deno.json HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`,
        );
        assert.equal(denied.status, 403);
      });
    } finally {
      await Deno.remove(binary).catch(() => {});
    }
  },
});
