/**
 * The worker pool end to end: idle and slow clients hold no worker; a busy pool queues in FIFO
 * order and answers 503 (with Retry-After, then close) once the queue is full; the log says so.
 */

import assert from "node:assert/strict";
import { get, RawClient, type RawResponse, requestHead } from "../helpers/raw_client.ts";
import { tempRoot, waitFor, withServer, withSpawnedServer } from "../helpers/server.ts";

/** A 100-byte JSON body, and the POST head announcing it. */
const SLOW_BODY = `{"slow":"${"s".repeat(100 - 12)}"}`;
function slowUploadHead(port: number): string {
  return `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${SLOW_BODY.length}\r\n\r\n`;
}

Deno.test("pool: 10 idle keep-alive and 10 half-head clients do not lock out the next", async () => {
  await withServer({ poolSize: 2 }, async (server) => {
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const client = await RawClient.connect(server.port);
        clients.push(client);
        await client.send(requestHead(server.port, "/"));
        const res = await client.response();
        assert.equal(res.status, 200);
        assert.equal(res.header("connection"), "keep-alive");
      }
      for (let i = 0; i < 10; i++) {
        const client = await RawClient.connect(server.port);
        clients.push(client);
        await client.send(`GET /about.html HTTP/1.1\r\nHost: 127.0`);
      }
      // Let the server see all of it before the newcomer arrives.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      const res = await get(server.port, "/", { timeoutMs: 3000 });
      const elapsed = performance.now() - started;
      assert.equal(res.status, 200);
      assert.ok(elapsed < 1000, `the 21st client waited ${Math.round(elapsed)} ms`);
      // The idle ones are still usable afterwards.
      const first = clients[0] as RawClient;
      await first.send(requestHead(server.port, "/contact.html"));
      assert.equal((await first.response()).status, 200);
    } finally {
      for (const client of clients) client.close();
    }
  });
});

Deno.test("pool: a full queue answers 503 with Retry-After and closes; the queued one waits", async () => {
  await using root = await tempRoot();
  await withServer({ root: root.path, poolSize: 1, queueLimit: 1 }, async (server) => {
    using holder = await RawClient.connect(server.port);
    using queued = await RawClient.connect(server.port);
    using refused = await RawClient.connect(server.port);
    const pool = server.state.pool;
    // Hold the only worker: the upload's head is complete, its body only half sent.
    await holder.send(slowUploadHead(server.port) + SLOW_BODY.slice(0, 40));
    await waitFor(() => pool.snapshot().busy === 1, { what: "the upload to take the worker" });

    await queued.send(requestHead(server.port, "/"));
    await waitFor(() => pool.snapshot().queued === 1, { what: "the GET to queue" });
    let queuedAnswered = false;
    const queuedResponse = queued.response({ timeoutMs: 5000 }).then((res) => {
      queuedAnswered = true;
      return res;
    });

    await refused.send(requestHead(server.port, "/"));
    const res503 = await refused.response();
    assert.equal(res503.status, 503);
    const retryAfter = res503.header("retry-after");
    assert.ok(retryAfter !== null && /^\d+$/.test(retryAfter), `Retry-After: ${retryAfter}`);
    assert.equal(res503.header("connection"), "close");
    assert.ok(await refused.closed(), "connection left open after 503");

    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(queuedAnswered, false, "the queued request was served while the worker was busy");

    await holder.send(SLOW_BODY.slice(40));
    const created = await holder.response();
    assert.equal(created.status, 201);
    const served: RawResponse = await queuedResponse;
    assert.equal(served.status, 200);
    assert.equal(served.header("content-type"), "text/html; charset=utf-8");

    // Once drained, the server takes new work again.
    assert.equal((await get(server.port, "/")).status, 200);
  });
});

// The spawned server's piped stderr is read by the helper until the child exits; awaiting
// its status is the last step, but the pipe's read op may finish a tick later.
Deno.test({
  name: "pool: spawned --pool 1 --queue 1 logs saturation and which worker took the queued one",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using root = await tempRoot();
    // Debug level logs each request on arrival, before its response.
    const args = ["0", "--pool", "1", "--queue", "1", "--log-level", "debug"];
    await withSpawnedServer(args, { root: root.path }, async (server) => {
      const clients: RawClient[] = [];
      try {
        const { port } = server;
        const log = server.log;
        const [holder, queued, refused] = await Promise.all(
          [0, 1, 2].map(() => RawClient.connect(port)),
        ) as [RawClient, RawClient, RawClient];
        clients.push(holder, queued, refused);

        await holder.send(slowUploadHead(port) + SLOW_BODY.slice(0, 40));
        await waitFor(() => log().includes("POST /upload HTTP/1.1"), {
          what: "the upload in the log",
        });
        await queued.send(requestHead(port, "/about.html"));
        await waitFor(() => log().includes("pool saturated"), { what: "a saturation warning" });

        await refused.send(requestHead(port, "/"));
        const res503 = await refused.response();
        assert.equal(res503.status, 503);
        assert.ok(res503.header("retry-after") !== null);
        assert.equal(res503.header("connection"), "close");
        assert.ok(await refused.closed(), "connection left open after 503");
        refused.close();

        await holder.send(SLOW_BODY.slice(40));
        assert.equal((await holder.response()).status, 201);
        assert.equal((await queued.response()).status, 200);
        await waitFor(() => /worker #1 took queued/.test(log()), {
          what: "the queued pick-up in the log",
        });

        const lines = log().split("\n");
        const saturated = lines.find((line) => line.includes("pool saturated"));
        assert.ok(saturated !== undefined);
        assert.match(saturated, /queu/i);
        assert.ok(lines.some((line) => /worker #1 took queued/.test(line)));
        assert.ok(
          lines.some((line) => /\[INF\].* -> 200 OK, .*; queued \d+ ms for worker #1$/.test(line)),
          "the access line of the queued request names its worker and wait",
        );
        assert.ok(lines.some((line) => /\b503\b/.test(line)), "the 503 is not logged");

        server.process.kill("SIGTERM");
        assert.equal((await server.status).code, 0);
      } finally {
        for (const client of clients) client.close();
      }
    });
  },
});
