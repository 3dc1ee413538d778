/**
 * The spawned server's life: what its log says from start to stop, and graceful shutdown on
 * SIGTERM and SIGINT with a request in flight (it finishes; new connections are refused).
 *
 * Every test here spawns main.ts; the helper reads the child's piped stderr until it exits,
 * and that read op may complete a tick after the exit status resolves, so the op and resource
 * sanitizers are off for these tests only.
 */

import assert from "node:assert/strict";
import { bytes, RawClient } from "../helpers/raw_client.ts";
import {
  RESOURCES,
  type SpawnedServer,
  tempRoot,
  waitFor,
  withSpawnedServer,
} from "../helpers/server.ts";

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\b/;
const SPAWNED = { sanitizeOps: false, sanitizeResources: false };

/** Log lines (non-empty). */
function logLines(server: SpawnedServer): string[] {
  return server.log().split("\n").filter((line) => line.trim() !== "");
}

/** The first log line containing every one of `parts` (strings or patterns). */
function findLine(server: SpawnedServer, ...parts: (string | RegExp)[]): string | undefined {
  return logLines(server).find((line) =>
    parts.every((part) => typeof part === "string" ? line.includes(part) : part.test(line))
  );
}

function assertLogged(server: SpawnedServer, what: string, ...parts: (string | RegExp)[]): string {
  const line = findLine(server, ...parts);
  assert.ok(line !== undefined, `no log line for ${what}:\n${server.log()}`);
  return line;
}

async function assertRefused(port: number): Promise<void> {
  let conn: Deno.TcpConn | null = null;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
  } catch (error) {
    assert.ok(error instanceof Deno.errors.ConnectionRefused, `connect failed with ${error}`);
    return;
  }
  conn.close();
  assert.fail("a new connection was accepted after the stop signal");
}

Deno.test({
  name: "log: timestamps on every line; startup, request, status, bytes and fate are logged",
  ...SPAWNED,
  fn: async () => {
    // A scratch root, so this server's start-up cleanup never touches resources/uploads.
    await using root = await tempRoot({ files: ["index.html"] });
    await Deno.copyFile(`${RESOURCES}/notes.txt`, `${root.path}/notes.txt`);
    await withSpawnedServer(["0", "--pool", "3"], { root: root.path }, async (server) => {
      const { port } = server;
      const indexSize = (await Deno.stat(`${root.path}/index.html`)).size;
      const notesSize = (await Deno.stat(`${root.path}/notes.txt`)).size;

      using a = await RawClient.connect(port);
      await a.send(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      assert.equal((await a.response()).status, 200);
      await a.send(
        `GET /notes.txt HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal((await a.response()).status, 200);
      assert.ok(await a.closed());
      const aPeer = `127.0.0.1:${(a.conn.localAddr as Deno.NetAddr).port}`;
      a.close();

      using b = await RawClient.connect(port);
      await b.send(`GET /missing.html HTTP/1.0\r\n\r\n`);
      assert.equal((await b.response()).status, 404);
      assert.ok(await b.closed());
      b.close();

      await waitFor(() => findLine(server, /\b404\b/) !== undefined, {
        what: "the 404 in the log",
      });
      server.process.kill("SIGTERM");
      assert.equal((await server.status).code, 0);

      for (const line of logLines(server)) {
        assert.match(line, TIMESTAMP, `log line without an RFC 3339 timestamp: ${line}`);
      }
      const startup = assertLogged(server, "startup", `127.0.0.1:${port}`);
      assert.match(
        startup,
        /\b3\b.*worker|(worker|pool)\D*\b3\b/i,
        `startup line does not give the pool size: ${startup}`,
      );
      assert.ok(startup.includes(await Deno.realPath(root.path)), `no root in: ${startup}`);
      assert.match(startup, /Ctrl\+C|SIGINT|SIGTERM/, `startup line does not say how to stop`);

      assertLogged(server, "connection open with its peer", aPeer);
      assertLogged(server, "request line GET /", "GET / HTTP/1.1");
      assertLogged(server, "request line GET /notes.txt", "GET /notes.txt HTTP/1.1");
      assertLogged(server, "HTTP/1.0 request", "GET /missing.html HTTP/1.0");
      assertLogged(server, "host accepted", /host/i, `127.0.0.1:${port}`, /accept/i);
      assertLogged(
        server,
        "200 with bytes, keep-alive",
        /\b200\b/,
        String(indexSize),
        /keep-alive/,
      );
      assertLogged(server, "200 with bytes, close", /\b200\b/, String(notesSize), /close/);
      assertLogged(server, "404 and close", /\b404\b/, /close/);
      assertLogged(server, "connection fate", /closed/i, /request/i);
      assertLogged(server, "a stopped summary", /stopped/i, /\b3 request/);
    });
  },
});

Deno.test({
  name: "SIGTERM lets an in-flight upload finish, refuses new connections, exits 0",
  ...SPAWNED,
  fn: async () => {
    await using root = await tempRoot({ files: ["index.html"] });
    // Debug level logs each request on arrival, before its response.
    await withSpawnedServer(["0", "--log-level", "debug"], { root: root.path }, async (server) => {
      const { port } = server;
      using idle = await RawClient.connect(port);
      using uploader = await RawClient.connect(port);
      await idle.send(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      assert.equal((await idle.response()).status, 200);

      const body = JSON.stringify({ inFlight: true, note: "body finished after SIGTERM" });
      await uploader.send(
        `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n` +
          body.slice(0, 10),
      );
      await waitFor(() => server.log().includes("POST /upload HTTP/1.1"), {
        what: "the upload in the log",
      });

      server.process.kill("SIGTERM");
      await waitFor(() => /stopping/i.test(server.log()), { what: "the stopping line" });
      assert.ok(await idle.closed(), "an idle keep-alive connection was kept open at shutdown");
      await assertRefused(port);

      await new Promise((resolve) => setTimeout(resolve, 300));
      await uploader.send(body.slice(10));
      const res = await uploader.response();
      assert.equal(res.status, 201);
      const location = res.header("location") ?? "";
      const saved = await Deno.readFile(`${root.path}${location}`);
      assert.deepEqual(saved, bytes(body));
      assert.ok(await uploader.closed());

      assert.equal((await server.status).code, 0);
      assertLogged(server, "a stopped summary", /stopped/i);
      assert.ok(!/ {4}at |uncaught/i.test(server.log()), `error in the log:\n${server.log()}`);
      // The server closes after this response, so it is the last and must say so (SPEC
      // "Keep-alive"; RFC 9112 §9.6); its head is written after the stop began.
      assert.equal(res.header("connection"), "close", "last response before close says keep-alive");
    });
  },
});

/** Reads one Content-Length response straight off `conn` into one buffer (no re-copying). */
async function readLargeResponse(
  conn: Deno.TcpConn,
): Promise<{ head: string; body: Uint8Array }> {
  const decoder = new TextDecoder();
  let headBuf = new Uint8Array(0);
  const chunk = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await conn.read(chunk);
    if (n === null) throw new Error("closed before the head");
    const grown = new Uint8Array(headBuf.length + n);
    grown.set(headBuf);
    grown.set(chunk.subarray(0, n), headBuf.length);
    headBuf = grown;
    const text = decoder.decode(headBuf.subarray(0, Math.min(headBuf.length, 8192)));
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) continue;
    const head = text.slice(0, end);
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1]);
    const body = new Uint8Array(length);
    let filled = Math.min(length, headBuf.length - end - 4);
    body.set(headBuf.subarray(end + 4, end + 4 + filled));
    while (filled < length) {
      const m = await conn.read(body.subarray(filled));
      if (m === null) throw new Error(`closed after ${filled} of ${length} body bytes`);
      filled += m;
    }
    return { head, body };
  }
}

Deno.test({
  name: "SIGINT lets a slowly read download finish, refuses new connections, exits 0",
  ...SPAWNED,
  fn: async () => {
    await using root = await tempRoot({ files: ["index.html"] });
    const size = 16 * 1024 * 1024;
    const content = new Uint8Array(size);
    for (let i = 0; i < size; i += 4096) content[i] = (i / 4096) & 0xff;
    await Deno.writeFile(`${root.path}/big.png`, content);
    // Debug level logs each request on arrival, before its response.
    await withSpawnedServer(["0", "--log-level", "debug"], { root: root.path }, async (server) => {
      const { port } = server;
      using conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const request = `GET /big.png HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
      await conn.write(bytes(request));
      // Read nothing yet: the server is left blocked mid-stream with most of the file unsent.
      await waitFor(() => server.log().includes("GET /big.png"), {
        what: "the download in the log",
      });
      await new Promise((resolve) => setTimeout(resolve, 200));

      server.process.kill("SIGINT");
      await waitFor(() => /stopping/i.test(server.log()), { what: "the stopping line" });
      await assertRefused(port);

      const { head, body } = await readLargeResponse(conn);
      assert.match(head, /^HTTP\/1\.1 200 /);
      assert.equal(body.length, size);
      assert.deepEqual(body, content, "downloaded bytes differ from the file");
      // Its head went out before the signal (so it may say keep-alive); the close follows it.
      assert.equal(await conn.read(new Uint8Array(16)), null, "connection kept open at shutdown");

      assert.equal((await server.status).code, 0);
      assertLogged(server, "the transfer with its byte count", /\b200\b/, String(size));
      assertLogged(server, "a stopped summary", /stopped/i);
    });
  },
});
