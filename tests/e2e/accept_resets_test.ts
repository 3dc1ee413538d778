/**
 * Connections reset before the server accepts them (port scanners, health checks) must not
 * stall the server. The resets are made by python3 (SO_LINGER 0, then close: a TCP RST) while
 * this process's event loop is blocked, so they are all in the backlog, already reset, when the
 * server's accept loop next runs — the order a busy server sees under a scan.
 */

import assert from "node:assert/strict";
import { exchange } from "../helpers/raw_client.ts";
import { startTestServer } from "../helpers/server.ts";

const RESET_SCRIPT = `
import socket, struct, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
for _ in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.connect(("127.0.0.1", port))
    s.close()
`;

const BATCHES = 10;
/** Below the listen backlog, so every connect completes while the loop is blocked. */
const PER_BATCH = 100;

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

Deno.test("accept loop: 1000 connections reset before accept, then a request is answered within 100 ms", async () => {
  const server = await startTestServer();
  try {
    for (let batch = 1; batch <= BATCHES; batch++) {
      // Synchronous on purpose: nothing in this process runs until python3 has finished.
      const made = new Deno.Command("python3", {
        args: ["-c", RESET_SCRIPT, String(server.port), String(PER_BATCH)],
        stdout: "null",
        stderr: "piped",
      }).outputSync();
      assert.equal(made.code, 0, new TextDecoder().decode(made.stderr));
      const expected = batch * PER_BATCH;
      const drained = await waitUntil(
        () => server.state.stats.lostBeforeAccept >= expected,
        5_000,
      );
      assert.ok(
        drained,
        `after batch ${batch}: ${server.state.stats.lostBeforeAccept} of ${expected} resets seen`,
      );
    }
    const started = performance.now();
    const response = await exchange(
      server.port,
      `GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`,
    );
    const elapsed = performance.now() - started;
    assert.equal(response.status, 200);
    assert.ok(elapsed < 100, `the request took ${elapsed.toFixed(1)} ms`);
    assert.equal(server.state.stats.connections, 1, "only the real request was a connection");
  } finally {
    await server.stop();
  }
});
