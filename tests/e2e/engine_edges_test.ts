/**
 * Edges of the connection engine where a deadline meets an exchange already answered: a body
 * drained after its response, a body too slow while the handler reads it, a stop during either,
 * and a lingering peer during a stop. Each exchange gets exactly one access record.
 */

import assert from "node:assert/strict";
import type { AccessRecord } from "../../src/server/access_log.ts";
import type { RunningServer } from "../../src/server/listener.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { withServer } from "../helpers/server.ts";

const FAST = { bodyTimeoutMs: 300, shutdownGraceMs: 300 };

function recorded(server: RunningServer): AccessRecord[] {
  const records: AccessRecord[] = [];
  const original = server.state.recordExchange.bind(server.state);
  server.state.recordExchange = (record) => {
    records.push(record);
    original(record);
  };
  return records;
}

function post(port: number, target: string, length: number, type = "application/json"): string {
  return `POST ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${type}\r\n` +
    `Content-Length: ${length}\r\n\r\n`;
}

Deno.test("a body drained after its response that never arrives closes the connection, with no second response", async () => {
  await withServer(FAST, async (server) => {
    const records = recorded(server);
    using client = await RawClient.connect(server.port);
    await client.send(post(server.port, "/index.html", 100) + "0123456789");
    const res = await client.response();
    assert.equal(res.status, 405);
    assert.ok(await client.closed(3000), "the connection stays open");
    assert.equal(client.pending, 0, "bytes after the 405 (an unsolicited 408?)");
    assert.equal(records.length, 1);
    assert.equal(records[0]!.status, 405);
  });
});

Deno.test("a body too slow while the handler reads it: one 408, one access record with its request", async () => {
  await withServer(FAST, async (server) => {
    const records = recorded(server);
    using client = await RawClient.connect(server.port);
    await client.send(post(server.port, "/upload", 100) + '{"a":');
    const res = await client.response({ timeoutMs: 3000 });
    assert.equal(res.status, 408);
    assert.ok(await client.closed(3000));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(records.length, 1, JSON.stringify(records.map((r) => [r.status, r.fate])));
    assert.equal(records[0]!.status, 408);
    assert.equal(records[0]!.request?.target, "/upload");
  });
});

Deno.test("stop() while a body is drained after its response counts it served, not cut", async () => {
  await withServer(FAST, async (server) => {
    using client = await RawClient.connect(server.port);
    await client.send(post(server.port, "/index.html", 100) + "0123456789");
    assert.equal((await client.response()).status, 405);
    const summary = await server.stop();
    assert.deepEqual([summary.served, summary.cut], [1, 0]);
  });
});

Deno.test("stop() does not wait the whole grace period for a peer that trickles bytes while lingering", async () => {
  await withServer({ lingerIdleMs: 1000 }, async (server) => {
    using client = await RawClient.connect(server.port);
    await client.send(
      `GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal((await client.response()).status, 200);
    let trickling = true;
    const trickle = (async () => {
      while (trickling) {
        await client.send("x").catch(() => {
          trickling = false;
        });
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    const summary = await server.stop();
    const took = performance.now() - started;
    trickling = false;
    await trickle;
    // The grace period is 10 s; lingering is cut to lingerIdleMs once the stop begins.
    assert.ok(took < 2500, `the stop took ${took.toFixed(0)} ms`);
    assert.equal(summary.cut, 0);
  });
});
