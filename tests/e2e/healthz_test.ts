/**
 * `GET /healthz` end to end over raw TCP: `200 ok` while serving, even with every worker busy
 * and the queue full; `503` with Retry-After and `Connection: close` once a stop has begun (the
 * drain window is tests/e2e/drain_test.ts).
 */

import assert from "node:assert/strict";
import { get, RawClient } from "../helpers/raw_client.ts";
import { bigRoot, refused, stalledDownload } from "../helpers/stop.ts";
import { parseExposition, sampleValue } from "../helpers/exposition.ts";
import { tempRoot, waitFor, withServer } from "../helpers/server.ts";

Deno.test("GET /healthz is 200 ok; HEAD the same without a body; a file named healthz is shadowed", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await Deno.writeTextFile(`${root.path}/healthz`, "a file\n");
  await withServer({ root: root.path }, async (server) => {
    const res = await get(server.port, "/healthz");
    assert.equal(res.status, 200);
    assert.equal(res.text(), "ok\n");
    assert.equal(res.header("content-type"), "text/plain; charset=utf-8");
    assert.equal(res.header("cache-control"), "no-store");
    assert.equal(res.header("connection"), "keep-alive");
    const head = await get(server.port, "/healthz", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.header("content-length"), "3");
    assert.equal(head.body.length, 0);
    const withQuery = await get(server.port, "/healthz?probe=1");
    assert.equal(withQuery.text(), "ok\n", "the query does not matter");
  });
});

Deno.test("GET /healthz and /metrics are answered with every worker busy and the queue full", async () => {
  await using root = await bigRoot();
  const clients: RawClient[] = [];
  try {
    await withServer(
      { root: root.path, poolSize: 1, queueLimit: 1, metrics: true },
      async (server) => {
        clients.push(await stalledDownload(server.port));
        await waitFor(() => server.state.pool.busy === 1, { what: "the worker taken" });
        clients.push(await stalledDownload(server.port));
        await waitFor(() => server.state.pool.queued === 1, { what: "one request queued" });
        const page = await get(server.port, "/index.html");
        assert.equal(page.status, 503, "the queue is full");
        assert.equal(page.text(), "503 Service Unavailable\n");
        const health = await get(server.port, "/healthz", { timeoutMs: 2000 });
        assert.equal(health.status, 200);
        assert.equal(health.text(), "ok\n");
        const metrics = parseExposition((await get(server.port, "/metrics")).text());
        assert.equal(sampleValue(metrics, "denohttpd_pool_busy"), 1);
        assert.equal(sampleValue(metrics, "denohttpd_queue_length"), 1);
        assert.equal(
          sampleValue(metrics, "http_requests_total", { method: "GET", code: "503" }),
          1,
        );
        // Let the downloads go, so the stop need not wait out its grace period.
        for (const client of clients) client.close();
      },
    );
  } finally {
    for (const client of clients) client.close();
  }
});

Deno.test("GET /healthz is 503 once stop() has begun: a probe whose head completes in the grace period", async () => {
  await using root = await bigRoot();
  let download: RawClient | null = null;
  try {
    await withServer({ root: root.path, poolSize: 1 }, async (server) => {
      const { port } = server;
      // A download in flight keeps the grace period going.
      download = await stalledDownload(port);
      await waitFor(() => server.state.pool.busy === 1, { what: "the download served" });
      using probe = await RawClient.connect(port);
      await probe.send(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
      await waitFor(() => [...server.state.connections].some((c) => c.state === "reading"), {
        what: "the probe's head begun",
      });
      const stopped = server.stop();
      await waitFor(() => server.state.stopping, { what: "the stop begun" });
      await probe.send("\r\n");
      const res = await probe.response();
      assert.equal(res.status, 503);
      assert.equal(res.header("retry-after"), "1");
      assert.equal(res.header("connection"), "close");
      assert.equal(res.header("cache-control"), "no-store");
      assert.ok(await probe.closed(), "the probe's connection stays open");
      probe.close();
      assert.ok(await refused(port), "new connections are refused once the drain (none) is over");
      (download as RawClient).close();
      await stopped;
    });
  } finally {
    (download as RawClient | null)?.close();
  }
});
