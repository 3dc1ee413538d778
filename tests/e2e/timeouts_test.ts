/**
 * Slow and silent clients: heads and bodies that drip, connections that never speak, readers
 * that never read. Each is cut off by its deadline, and none delays a normal request.
 */

import assert from "node:assert/strict";
import { exchange, RawClient } from "../helpers/raw_client.ts";
import { type TempRoot, tempRoot, waitFor, withServer } from "../helpers/server.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A scratch root with index.html and a 48 MiB big.txt of `fill` bytes: larger than loopback
 * socket buffers, so a reader that never reads stalls the writer.
 */
async function rootWithBigFile(fill: number): Promise<TempRoot> {
  const root = await tempRoot({ files: ["index.html"] });
  try {
    using big = await Deno.open(`${root.path}/big.txt`, { write: true, create: true });
    const block = new Uint8Array(1 << 20).fill(fill);
    for (let i = 0; i < 48; i++) await big.write(block);
  } catch (error) {
    await root.remove();
    throw error;
  }
  return root;
}

/** Time for a normal GET / on a fresh connection, in ms. */
async function timedGet(port: number): Promise<number> {
  const started = performance.now();
  const res = await exchange(port, `GET / HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
  assert.equal(res.status, 200);
  return performance.now() - started;
}

Deno.test("a head that drips is cut off with 408 while others are served at once", async () => {
  await withServer({ headTimeoutMs: 800 }, async (server) => {
    using slow = await RawClient.connect(server.port);
    await slow.send("GET / HTTP/1.1\r\n");
    const started = Date.now();
    const drip = (async () => {
      for (const c of "Host: localhost:1234") {
        await sleep(150);
        try {
          await slow.send(c);
        } catch {
          return; // the server closed the connection: expected
        }
      }
    })();
    for (let i = 0; i < 3; i++) assert.ok(await timedGet(server.port) < 500);
    const res = await slow.response({ timeoutMs: 3000 });
    assert.equal(res.status, 408);
    assert.equal(res.header("connection"), "close");
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 700 && elapsed < 2000, `408 after ${elapsed} ms`);
    assert.ok(await slow.closed());
    await drip;
  });
});

Deno.test("a connection that never sends a byte is closed silently", async () => {
  await withServer({ headTimeoutMs: 600 }, async (server) => {
    using silent = await RawClient.connect(server.port);
    const started = Date.now();
    assert.ok(await silent.closed(3000), "server kept a silent connection open");
    assert.equal(silent.pending, 0, "nothing is sent to a client that never asked");
    assert.ok(Date.now() - started < 1500);
  });
});

Deno.test("a body that drips is cut off with 408 and its worker is freed", async () => {
  await withServer({ bodyTimeoutMs: 800, poolSize: 1 }, async (server) => {
    using slow = await RawClient.connect(server.port);
    await slow.send(
      `POST /upload HTTP/1.1\r\nHost: localhost:${server.port}\r\n` +
        `Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":`,
    );
    const drip = (async () => {
      for (let i = 0; i < 20; i++) {
        await sleep(100);
        try {
          await slow.send(" ");
        } catch {
          return;
        }
      }
    })();
    const res = await slow.response({ timeoutMs: 3000 });
    assert.equal(res.status, 408);
    assert.ok(await slow.closed());
    await drip;
    // The single worker is free again.
    assert.ok(await timedGet(server.port) < 500);
  });
});

Deno.test("readers that never read do not delay others and are dropped at the write deadline", async () => {
  await using scratch = await rootWithBigFile(0x61);
  await withServer({ root: scratch.path, writeTimeoutMs: 1000, poolSize: 3 }, async (server) => {
    const stalled: RawClient[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const client = await RawClient.connect(server.port);
        await client.send(`GET /big.txt HTTP/1.1\r\nHost: localhost:${server.port}\r\n\r\n`);
        stalled.push(client);
      }
      await sleep(200);
      assert.equal(server.state.pool.busy, 3, "each stalled download holds a worker");
      // All workers are held by stalled writes: a new request queues until a deadline frees one.
      const started = Date.now();
      assert.equal(
        (await exchange(
          server.port,
          `GET / HTTP/1.1\r\nHost: localhost:${server.port}\r\n\r\n`,
        )).status,
        200,
      );
      const waited = Date.now() - started;
      assert.ok(waited < 2500, `queued request waited ${waited} ms`);
      await waitFor(() => server.state.connections.size === 0, {
        what: "the server to drop the stalled connections",
        timeoutMs: 4000,
        intervalMs: 50,
      });
      for (const client of stalled) assert.ok(await client.closed(5000));
      assert.equal(server.state.pool.busy, 0);
    } finally {
      for (const client of stalled) client.close();
    }
  });
});

Deno.test("a reader that never reads holds one worker only; others are served at once", async () => {
  await using scratch = await rootWithBigFile(0x62);
  await withServer({ root: scratch.path, writeTimeoutMs: 1000 }, async (server) => {
    using stalled = await RawClient.connect(server.port);
    await stalled.send(`GET /big.txt HTTP/1.1\r\nHost: localhost:${server.port}\r\n\r\n`);
    await sleep(200);
    for (let i = 0; i < 5; i++) assert.ok(await timedGet(server.port) < 500);
    // Reading now would let the download resume; first wait for the write deadline to drop it.
    await waitFor(() => server.state.connections.size === 0, {
      what: "the server to drop the stalled connections",
      timeoutMs: 4000,
      intervalMs: 50,
    });
    assert.ok(await stalled.closed(5000));
  });
});
