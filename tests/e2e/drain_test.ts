/**
 * The stop as a balancer sees it, over raw TCP. `--drain`: for the window the server still
 * accepts and serves, `/healthz` answers 503, every response closes its connection; requests
 * queued when the window ends are served within the grace; a second stop ends the window. And
 * with or without a drain, a connection accepted just before the stop is answered, not reset.
 */

import assert from "node:assert/strict";
import { get, RawClient, requestHead } from "../helpers/raw_client.ts";
import { bigRoot, refused, stalledDownload } from "../helpers/stop.ts";
import { tempRoot, waitFor, withServer, withSpawnedServer } from "../helpers/server.ts";

const SPAWNED = { sanitizeOps: false, sanitizeResources: false };

Deno.test("--drain: still serving, /healthz 503 on new and kept-alive connections, every response closing; then refused", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await withServer({ root: root.path, drainMs: 500 }, async (server) => {
    const { port } = server;
    using kept = await RawClient.connect(port);
    await kept.send(requestHead(port, "/index.html"));
    assert.equal((await kept.response()).header("connection"), "keep-alive");
    const began = performance.now();
    const stopped = server.stop();
    assert.ok(server.state.draining);
    // The kept-alive connection is not closed under the client: it is answered, then closed.
    await kept.send(requestHead(port, "/healthz"));
    const onKept = await kept.response();
    assert.equal(onKept.status, 503);
    assert.equal(onKept.header("retry-after"), "1");
    assert.equal(onKept.header("connection"), "close");
    assert.ok(await kept.closed(), "the kept-alive connection stays open after its 503");
    kept.close();
    // New connections are still accepted; pages are served, each closing its connection.
    const page = await get(port, "/index.html");
    assert.equal(page.status, 200);
    assert.equal(page.header("connection"), "close");
    const health = await get(port, "/healthz");
    assert.equal(health.status, 503);
    assert.equal(health.text(), "503 Service Unavailable\n");
    const summary = await stopped;
    assert.ok(performance.now() - began >= 450, "the drain was cut short");
    assert.equal(summary.refused, 0);
    assert.ok(await refused(port), "the listener is still open after the drain and the stop");
  });
});

Deno.test("--drain: a second stop() ends the drain at once", async () => {
  await withServer({ drainMs: 60_000 }, async (server) => {
    const began = performance.now();
    const first = server.stop();
    assert.ok(server.state.draining);
    const second = server.stop();
    assert.equal(first, second, "one stop, not two");
    await second;
    assert.ok(performance.now() - began < 5_000, "the drain ran its 60 s");
    assert.ok(!server.state.draining);
  });
});

Deno.test({
  name: "SIGTERM with --drain: /healthz 503 and pages still served during the drain, then exit 0",
  ...SPAWNED,
  async fn() {
    await withSpawnedServer(["0", "--drain", "1"], async (server) => {
      assert.equal((await get(server.port, "/healthz")).status, 200);
      server.process.kill("SIGTERM");
      await waitFor(() => /draining for 1 s/.test(server.log()), { what: () => server.log() });
      const health = await get(server.port, "/healthz");
      assert.equal(health.status, 503);
      assert.equal(health.header("connection"), "close");
      const page = await get(server.port, "/");
      assert.equal(page.status, 200);
      assert.equal(page.header("connection"), "close");
      assert.equal((await server.status).code, 0);
      assert.match(server.log(), /stopped after \d+ ms/);
    });
  },
});

Deno.test({
  name: "SIGTERM twice with --drain: the second ends the drain, exit 0 at once",
  ...SPAWNED,
  async fn() {
    await withSpawnedServer(["0", "--drain", "600"], async (server) => {
      server.process.kill("SIGTERM");
      await waitFor(() => /draining for 600 s/.test(server.log()), { what: () => server.log() });
      const began = performance.now();
      server.process.kill("SIGTERM");
      assert.equal((await server.status).code, 0);
      assert.ok(performance.now() - began < 5_000);
    });
  },
});

Deno.test("--drain: requests queued when the drain ends are served within the grace, not refused", async () => {
  await using root = await bigRoot();
  await withServer({ root: root.path, poolSize: 1, drainMs: 200 }, async (server) => {
    const { port } = server;
    const download = await stalledDownload(port);
    await waitFor(() => server.state.pool.busy === 1, { what: "the worker taken" });
    using queued = await RawClient.connect(port);
    await queued.send(requestHead(port, "/index.html"));
    await waitFor(() => server.state.pool.queued === 1, { what: "a request queued" });
    const stopped = server.stop();
    await waitFor(() => server.state.stopping, { what: "the drain over" });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(server.state.pool.queued, 1, "the queued request was refused at the stop");
    download.close(); // the worker comes free
    const res = await queued.response();
    assert.equal(res.status, 200);
    assert.equal(res.header("connection"), "close");
    queued.close();
    const summary = await stopped;
    assert.equal(summary.refused, 0);
  });
});

Deno.test("--drain: requests still queued at the end of the grace get 503, the one in flight is cut", async () => {
  await using root = await bigRoot();
  const config = { root: root.path, poolSize: 1, drainMs: 100, shutdownGraceMs: 300 };
  await withServer(config, async (server) => {
    const { port } = server;
    using download = await stalledDownload(port);
    await waitFor(() => server.state.pool.busy === 1, { what: "the worker taken" });
    using queued = await RawClient.connect(port);
    await queued.send(requestHead(port, "/index.html"));
    await waitFor(() => server.state.pool.queued === 1, { what: "a request queued" });
    const summary = await server.stop();
    const res = await queued.response();
    assert.equal(res.status, 503);
    assert.equal(res.header("retry-after"), "1");
    assert.deepEqual({ refused: summary.refused, cut: summary.cut }, { refused: 1, cut: 1 });
    download.close();
  });
});

Deno.test("stop(): a connection accepted just before the stop has its request answered, not reset", async () => {
  await withServer({}, async (server) => {
    const { port } = server;
    using early = await RawClient.connect(port);
    using silent = await RawClient.connect(port);
    await waitFor(() => server.state.connections.size === 2, { what: "both accepted" });
    const stopped = server.stop();
    await waitFor(() => server.state.stopping, { what: "the stop begun" });
    // Its request was on its way (a proxy writes right after connecting): it gets an answer.
    await early.send(requestHead(port, "/"));
    const res = await early.response();
    assert.equal(res.status, 503, "without a drain the pool is closed: 503, not a reset");
    assert.equal(res.header("retry-after"), "1");
    assert.equal(res.header("connection"), "close");
    early.close();
    // One that sends nothing is closed a second after it was accepted.
    assert.ok(await silent.closed(3000), "a silent connection kept the stop waiting");
    await stopped;
  });
});

Deno.test("--drain: a connection accepted just before the drain ends is served", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await withServer({ root: root.path, drainMs: 300 }, async (server) => {
    const { port } = server;
    const stopped = server.stop();
    using late = await RawClient.connect(port);
    await waitFor(() => server.state.stopping, { what: "the drain over" });
    await late.send(requestHead(port, "/index.html"));
    const res = await late.response();
    assert.equal(res.status, 200);
    assert.equal(res.header("connection"), "close");
    late.close();
    await stopped;
    assert.ok(await refused(port));
  });
});
