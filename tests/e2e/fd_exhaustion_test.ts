/**
 * Out of file descriptors: the server runs under `prlimit --nofile`, idle connections take the
 * descriptors left, and a file that must be opened is answered `503` with `Retry-After: 1`
 * (not `500`), logged as one line at most once a second; once connections close, the same
 * request is served again.
 */

import assert from "node:assert/strict";
import { RawClient, requestHead } from "../helpers/raw_client.ts";
import { LISTENING, PROJECT_DIR, tempDir, waitFor } from "../helpers/server.ts";

/** A Deno server uses about 28 descriptors at rest; this leaves a handful for connections. */
const NOFILE = 40;
const BIG_BYTES = 256 * 1024; // above the small-file cache: every GET opens the file

Deno.test({
  name:
    "out of file descriptors: 503 + Retry-After for a file open, one log line, served again after",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await using root = await tempDir();
    await Deno.mkdir(`${root.path}/uploads`);
    await Deno.writeFile(`${root.path}/big.png`, new Uint8Array(BIG_BYTES).fill(7));
    await Deno.writeTextFile(`${root.path}/index.html`, "<!doctype html><p>hi</p>\n");
    const process = new Deno.Command("prlimit", {
      args: [
        `--nofile=${NOFILE}:${NOFILE}`,
        Deno.execPath(),
        "run",
        "--allow-net",
        `--allow-read=${root.path}`,
        `--allow-write=${root.path}/uploads`,
        "--allow-sys=statfs",
        "main.ts",
        "--port",
        "0",
        "--root",
        root.path,
      ],
      cwd: PROJECT_DIR,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let log = "";
    const reading = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of process.stderr) log += decoder.decode(chunk, { stream: true });
    })();
    const idle: Deno.TcpConn[] = [];
    const clients: RawClient[] = [];
    try {
      await waitFor(() => LISTENING.test(log), { what: () => `the server to start:\n${log}` });
      const port = Number(LISTENING.exec(log)![1]);
      // Connections accepted (and served) while descriptors are left.
      for (let i = 0; i < 5; i++) {
        const client = await RawClient.connect(port);
        clients.push(client);
        await client.send(requestHead(port, "/index.html"));
        assert.equal((await client.response()).status, 200);
      }
      // Take every descriptor left; the rest wait in the backlog.
      for (let i = 0; i < NOFILE; i++) {
        idle.push(await Deno.connect({ port, hostname: "127.0.0.1" }));
      }
      await waitFor(() => /accept failed/.test(log), { what: () => `accept to fail:\n${log}` });

      for (const client of clients) {
        await client.send(requestHead(port, "/big.png"));
        const refused = await client.response();
        assert.equal(refused.status, 503, refused.text());
        assert.equal(refused.header("retry-after"), "1");
        // The connection closes, which gives a descriptor back.
        assert.equal(refused.header("connection"), "close");
      }
      const warnings = log.split("\n").filter((line) =>
        line.includes("[WRN]") && line.includes("out of file descriptors")
      );
      assert.ok(warnings.length >= 1 && warnings.length <= 2, `warnings:\n${warnings.join("\n")}`);
      assert.ok(!/internal error|\n {4}at /.test(log), `a stack trace in the log:\n${log}`);

      for (const conn of idle.splice(0)) conn.close();
      await waitFor(async () => {
        const client = await RawClient.connect(port);
        clients.push(client);
        await client.send(requestHead(port, "/big.png"));
        return (await client.response()).status === 200;
      }, { what: "the file to be served again", intervalMs: 100 });
    } finally {
      for (const client of clients) client.close();
      for (const conn of idle) conn.close();
      process.kill("SIGKILL");
      await process.status;
      await reading;
    }
  },
});
