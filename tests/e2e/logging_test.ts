/**
 * The access log loses nothing: a spawned server answering a fast burst of pipelined requests
 * writes one access line for each of them, all on stderr by the time it has stopped.
 */

import assert from "node:assert/strict";
import {
  LISTENING,
  PROJECT_DIR,
  startArgs,
  tempRoot,
  waitFor,
  withSpawnedServer,
} from "../helpers/server.ts";

const REQUESTS_PER_CONNECTION = 99; // below keep-alive's max=100, so every one is answered
const CONNECTIONS = 30;

async function burst(port: number): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const one = `GET /sample.txt?burst HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
    const last =
      `GET /sample.txt?burst HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`;
    const all = one.repeat(REQUESTS_PER_CONNECTION - 1) + last;
    const writing = conn.write(new TextEncoder().encode(all));
    // Read to EOF: the server closes after the last response.
    const sink = new Uint8Array(64 * 1024);
    let text = "";
    const decoder = new TextDecoder();
    for (;;) {
      const n = await conn.read(sink);
      if (n === null) break;
      text += decoder.decode(sink.subarray(0, n), { stream: true });
    }
    await writing;
    return text.split("HTTP/1.1 200 OK\r\n").length - 1;
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed by the server.
    }
  }
}

Deno.test({
  name: "access log: one line per request, none dropped under a burst",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withSpawnedServer(["0"], async (server) => {
      const answered = await Promise.all(
        Array.from({ length: CONNECTIONS }, () => burst(server.port)),
      );
      const total = CONNECTIONS * REQUESTS_PER_CONNECTION;
      assert.equal(answered.reduce((a, b) => a + b, 0), total);
      server.process.kill("SIGTERM");
      assert.equal((await server.status).code, 0);
      const lines = server.log().split("\n").filter((line) =>
        / \[INF\] denohttpd·access: conn#\d+ GET \/sample\.txt\?burst HTTP\/1\.1 \(host 127\.0\.0\.1:\d+ accepted\) -> 200 OK, \d+ body bytes, (keep-alive|close)/
          .test(line)
      );
      assert.equal(lines.length, total, "every request has its access line");
    });
  },
});

Deno.test({
  name: "access log: a download cut short is logged with the bytes sent and why",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using root = await tempRoot({ files: [] });
    await Deno.writeFile(`${root.path}/big.png`, new Uint8Array(32 * 1024 * 1024));
    await withSpawnedServer(["0"], { root: root.path }, async (server) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(
        new TextEncoder().encode(`GET /big.png HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`),
      );
      // Read a little, then reset the connection (SO_LINGER is not needed: unread data does it).
      await conn.read(new Uint8Array(1000));
      conn.close();
      const line = await waitForLine(
        server.log,
        /GET \/big\.png .* -> 200 OK, \d+ body bytes, aborted: /,
      );
      const sent = Number(/200 OK, (\d+) body bytes/.exec(line)![1]);
      assert.ok(sent < 32 * 1024 * 1024, `logged ${sent} bytes for a download cut short`);
    });
  },
});

Deno.test({
  name: "access log: braces in a target are logged as they are",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withSpawnedServer(["0"], async (server) => {
      for (const target of ["/x}y", "/a{b}c", "/{id}"]) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
        await conn.write(new TextEncoder().encode(
          `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`,
        ));
        while (await conn.read(new Uint8Array(4096)) !== null) { /* until closed */ }
        conn.close();
        const escaped = target.replace(/[{}]/g, (c) => `\\${c}`);
        await waitForLine(server.log, new RegExp(`GET ${escaped} HTTP/1\\.1 .* -> 404 Not Found`));
      }
    });
  },
});

Deno.test({
  name: "access log: a stderr nobody reads neither stalls the server nor holds it at exit",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // stderr is a pipe that is never read: it fills after 64 KiB (a few hundred lines).
    const child = new Deno.Command(Deno.execPath(), {
      args: startArgs(["--port", "0", "--log-level", "debug"]),
      cwd: PROJECT_DIR,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      // The port is in the first line; read just that, then never read stderr again.
      const reader = child.stderr.getReader();
      let text = "";
      while (!LISTENING.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`server exited:\n${text}`);
        text += new TextDecoder().decode(value);
      }
      const port = Number(LISTENING.exec(text)![1]);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("the server stalled on its log")), 10_000);
      });
      try {
        const counts = await Promise.race([
          Promise.all(Array.from({ length: 20 }, () => burst(port))),
          stalled,
        ]);
        assert.equal(counts.reduce((a, b) => a + b, 0), 20 * REQUESTS_PER_CONNECTION);
      } finally {
        clearTimeout(timer);
      }
      reader.releaseLock();
      // Stopping does not hang on the lines stderr never took.
      child.kill("SIGTERM");
      const stopped = await Promise.race([
        child.status.then((status) => status.code),
        new Promise<string>((resolve) => setTimeout(() => resolve("still running"), 8_000)),
      ]);
      assert.equal(stopped, 0, "a SIGTERM with a stuck stderr ends the process with status 0");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      await child.status;
    }
  },
});

/** Waits (at most 5 s) for a log line matching `pattern`; returns it. */
async function waitForLine(log: () => string, pattern: RegExp): Promise<string> {
  const find = () => log().split("\n").find((l) => pattern.test(l));
  await waitFor(() => find() !== undefined, {
    what: () => `a log line matching ${pattern}:\n${log()}`,
    intervalMs: 20,
  });
  return find()!;
}

Deno.test({
  name: "log: lines beyond ASCII (a user's name) are written as UTF-8 among ASCII ones",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withSpawnedServer(["0", "--auth", "jürgen:pässwörd", "--auth-scope", "all"], async (
      server,
    ) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      const credentials = btoa(String.fromCharCode(...new TextEncoder().encode("jürgen:pässwörd")));
      const request = (target: string) =>
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
        `Authorization: Basic ${credentials}\r\n\r\n`;
      await conn.write(
        new TextEncoder().encode(request("/sample.txt?a") + request("/sample.txt?b")),
      );
      const reader = new Uint8Array(64 * 1024);
      let received = "";
      while ((received.match(/HTTP\/1\.1 200/g) ?? []).length < 2) {
        const n = await conn.read(reader);
        if (n === null) break;
        received += new TextDecoder().decode(reader.subarray(0, n));
      }
      conn.close();
      server.process.kill("SIGTERM");
      assert.equal((await server.status).code, 0);
      const log = server.log();
      for (const target of ["/sample.txt?a", "/sample.txt?b"]) {
        assert.match(
          log,
          new RegExp(
            ` \\[INF\\] denohttpd·access: conn#\\d+ GET \\${target.replace("?", "\\?")} ` +
              `HTTP/1\\.1 \\(host 127\\.0\\.0\\.1:\\d+ accepted, user jürgen\\) -> 200 OK`,
          ),
        );
      }
      assert.match(log, / \[INF\] denohttpd·conn: conn#\d+ open from 127\.0\.0\.1:\d+\n/);
      assert.ok(!log.includes("\ufffd"), "nothing was mis-encoded");
    });
  },
});
