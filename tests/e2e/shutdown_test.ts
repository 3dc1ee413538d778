/**
 * Graceful stop under load: requests still waiting for a worker when SIGTERM arrives get
 * `503` + `Retry-After` + `Connection: close` at once; those in flight finish; the summary counts
 * what was served, refused and cut; and every access and close line is written before exit.
 */

import assert from "node:assert/strict";
import { RawClient, requestHead } from "../helpers/raw_client.ts";
import { tempDir, waitFor, withServer, withSpawnedServer } from "../helpers/server.ts";

const SPAWNED = { sanitizeOps: false, sanitizeResources: false };
/** Larger than the socket buffers on both sides, so a client that does not read holds a worker. */
const BIG_BYTES = 32 * 1024 * 1024;

async function bigRoot() {
  const dir = await tempDir();
  await Deno.mkdir(`${dir.path}/uploads`);
  const file = await Deno.open(`${dir.path}/big.png`, { write: true, create: true });
  await file.truncate(BIG_BYTES);
  file.close();
  return dir;
}

/** Opens `n` connections that each ask for big.png and do not read yet. */
async function stalledDownloads(port: number, n: number): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (let i = 0; i < n; i++) {
    const client = await RawClient.connect(port);
    await client.send(requestHead(port, "/big.png"));
    clients.push(client);
  }
  return clients;
}

Deno.test({
  name:
    "SIGTERM with 2 downloads in flight and 4 queued: 503 at once for the queued, the 2 finish, every line logged",
  ...SPAWNED,
  async fn() {
    await using root = await bigRoot();
    const relative = root.path.slice(root.path.indexOf("tests/.tmp"));
    await withSpawnedServer(["0", "127.0.0.1", "2"], { root: relative }, async (server) => {
      const clients = await stalledDownloads(server.port, 6);
      try {
        // All six accepted (one still in the listen queue at the stop would be reset with it),
        // and the pool saturated.
        await waitFor(
          () => /conn#6 open from/.test(server.log()) && /queuing conn#/.test(server.log()),
          {
            what: () => `6 connections accepted, requests queued:\n${server.log()}`,
          },
        );
        const stopAt = performance.now();
        server.process.kill("SIGTERM");
        // The queued ones (conn#3..#6) are refused at once, in well under the 10 s grace.
        for (const client of clients.slice(2)) {
          const res = await client.response({ timeoutMs: 2000 });
          assert.equal(res.status, 503);
          assert.equal(res.header("retry-after"), "1");
          assert.equal(res.header("connection"), "close");
          assert.ok(await client.closed(2000), "a refused connection stays open");
        }
        assert.ok(performance.now() - stopAt < 2000, "the refusals waited for the grace period");
        // The two in flight complete whole (their heads went out before the stop), then close.
        for (const client of clients.slice(0, 2)) {
          const res = await client.response({ timeoutMs: 8000 });
          assert.equal(res.status, 200);
          assert.equal(res.body.length, BIG_BYTES);
          assert.ok(await client.closed(2000), "a connection stays open after the stop");
        }
      } finally {
        for (const client of clients) client.close();
      }
      assert.equal((await server.status).code, 0);
      const log = server.log();
      const access = log.split("\n").filter((line) =>
        /·access: conn#\d+ GET \/big\.png/.test(line)
      );
      assert.equal(access.length, 6, `access lines:\n${access.join("\n")}`);
      assert.equal(access.filter((line) => / -> 503 /.test(line)).length, 4);
      assert.equal(access.filter((line) => / -> 200 OK, 33554432 body bytes/.test(line)).length, 2);
      const closes = log.split("\n").filter((line) => /·conn: conn#\d+ closed after/.test(line));
      assert.equal(closes.length, 6, `close lines:\n${closes.join("\n")}`);
      assert.match(
        log,
        /stopped after \d+ ms: 6 connection\(s\), 6 request\(s\); 2 response\(s\) served, 4 refused at the stop, 0 cut at the deadline/,
      );
    });
  },
});

Deno.test("stop(): exchanges still running at the deadline are cut and counted", async () => {
  await using root = await bigRoot();
  const clients: RawClient[] = [];
  try {
    await withServer({ root: root.path, poolSize: 1, shutdownGraceMs: 300 }, async (server) => {
      clients.push(...await stalledDownloads(server.port, 3));
      await waitFor(() => server.state.pool.queued === 2, { what: "2 queued" });
      const summary = await server.stop();
      assert.deepEqual(
        { served: summary.served, refused: summary.refused, cut: summary.cut },
        { served: 0, refused: 2, cut: 1 },
      );
      assert.equal(server.state.connections.size, 0);
    });
  } finally {
    for (const client of clients) client.close();
  }
});
