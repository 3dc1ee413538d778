/**
 * The access log loses nothing: a spawned server answering a fast burst of pipelined requests
 * writes one access line for each of them, all on stderr by the time it has stopped.
 */

import assert from "node:assert/strict";
import { spawnServer } from "../helpers/server.ts";

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
    const server = await spawnServer(["0"]);
    try {
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
    } finally {
      try {
        server.process.kill("SIGKILL");
      } catch {
        // Already exited.
      }
    }
  },
});
