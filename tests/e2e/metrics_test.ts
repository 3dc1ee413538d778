/**
 * `--metrics` end to end over raw TCP: `GET /metrics` answers valid Prometheus text whose
 * counts follow the requests made (the scrapes themselves included), HEAD answers its head, a
 * peer outside `--metrics-allow` gets 403 (also when a trusted proxy forwards for an allowed
 * address), uploads are counted by result, and without `--metrics` the path is the router's.
 */

import assert from "node:assert/strict";
import { bytes, exchange, get, RawClient, requestHead } from "../helpers/raw_client.ts";
import { type Family, parseExposition, sampleValue } from "../helpers/exposition.ts";
import { tempRoot, waitFor, withServer } from "../helpers/server.ts";

const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

async function scrape(port: number): Promise<Map<string, Family>> {
  const res = await get(port, "/metrics");
  assert.equal(res.status, 200, res.text());
  assert.equal(res.header("content-type"), CONTENT_TYPE);
  assert.equal(res.header("cache-control"), "no-store");
  return parseExposition(res.text());
}

function requests(families: Map<string, Family>, method: string, code: number): number {
  return sampleValue(families, "http_requests_total", { method, code: String(code) }) ?? 0;
}

function value(families: Map<string, Family>, name: string, labels?: Record<string, string>) {
  const found = sampleValue(families, name, labels);
  assert.ok(found !== undefined, `no sample ${name} ${JSON.stringify(labels ?? {})}`);
  return found;
}

Deno.test("GET /metrics: the counts follow the requests made, scrapes included", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  const size = (await Deno.stat(`${root.path}/index.html`)).size;
  await withServer({ root: root.path, metrics: true }, async (server) => {
    const { port } = server;
    const before = await scrape(port);
    assert.equal(requests(before, "GET", 200), 0, "a scrape counts once it is answered");
    for (let i = 0; i < 3; i++) assert.equal((await get(port, "/index.html")).status, 200);
    assert.equal((await get(port, "/index.html", { method: "HEAD" })).status, 200);
    assert.equal((await get(port, "/missing.html")).status, 404);
    const brew = await exchange(port, requestHead(port, "/", { method: "BREW" }));
    assert.equal(brew.status, 501);
    const after = await scrape(port);
    assert.equal(requests(after, "GET", 200), 3 + 1, "three pages and the first scrape");
    assert.equal(requests(after, "HEAD", 200), 1);
    assert.equal(requests(after, "GET", 404), 1);
    assert.equal(requests(after, "other", 501), 1);
    const total = (after.get("http_requests_total")?.samples ?? []).reduce(
      (n, s) => n + s.value,
      0,
    );
    assert.equal(value(after, "http_request_duration_seconds_count"), total);
    assert.ok(value(after, "http_response_bytes_total") >= 3 * size);
    // Three GETs and a HEAD of one small file: one miss, then hits.
    assert.ok(value(after, "denohttpd_cache_hits_total") >= 3);
    assert.ok(value(after, "denohttpd_cache_misses_total") >= 2, "index.html once, missing.html");
    assert.equal(value(after, "denohttpd_pool_size"), 10);
    assert.equal(value(after, "denohttpd_pool_busy"), 0, "a scrape takes no worker");
    assert.equal(value(after, "denohttpd_queue_length"), 0);
    assert.equal(value(after, "denohttpd_connections_open"), 1, "the scrape's own");
    assert.ok(value(after, "process_resident_memory_bytes") > 1 << 20);
    const started = value(after, "process_start_time_seconds");
    assert.ok(started <= Date.now() / 1000 && started > Date.now() / 1000 - 3600, `${started}`);
  });
});

Deno.test("HEAD /metrics: the head of a GET, no body; a pipelined request still parses", async () => {
  await withServer({ metrics: true }, async (server) => {
    using client = await RawClient.connect(server.port);
    await client.send(
      requestHead(server.port, "/metrics", { method: "HEAD" }) + requestHead(server.port, "/"),
    );
    const head = await client.response({ head: true });
    assert.equal(head.status, 200);
    assert.equal(head.header("content-type"), CONTENT_TYPE);
    assert.ok(Number(head.header("content-length")) > 1000);
    assert.equal((await client.response()).status, 200);
  });
});

Deno.test("GET /metrics from a peer outside --metrics-allow is 403, and counted", async () => {
  await withServer({ metrics: true, metricsAllow: ["10.0.0.0/8", "::1/128"] }, async (server) => {
    const res = await get(server.port, "/metrics");
    assert.equal(res.status, 403);
    assert.equal(res.text(), "403 Forbidden\n");
    assert.equal(res.header("connection"), "keep-alive");
    // HEAD too; and the refusals are requests like any other.
    assert.equal((await get(server.port, "/metrics", { method: "HEAD" })).status, 403);
    const text = server.state.metrics?.render({
      connectionsOpen: 0,
      poolBusy: 0,
      poolSize: 1,
      queueLength: 0,
      cacheHits: 0,
      cacheMisses: 0,
      uploads: server.state.site.uploads.results,
      residentBytes: 0,
      startTimeSeconds: 0,
    });
    const families = parseExposition(text ?? "");
    assert.equal(requests(families, "GET", 403), 1);
    assert.equal(requests(families, "HEAD", 403), 1);
  });
});

Deno.test("GET /metrics: a trusted proxy forwarding for an allowed address is still refused", async () => {
  const config = {
    metrics: true,
    metricsAllow: ["10.0.0.0/8"],
    trustProxy: ["127.0.0.1"],
  };
  await withServer(config, async (server) => {
    const res = await get(server.port, "/metrics", {
      fields: [["X-Forwarded-For", "10.1.2.3"], ["Forwarded", "for=10.1.2.3"]],
    });
    assert.equal(res.status, 403, "the allow list is of TCP peers, never forwarded addresses");
  });
});

Deno.test("GET /metrics without --metrics is the router's: a file named metrics, or 404", async () => {
  await withServer({}, async (server) => {
    assert.equal((await get(server.port, "/metrics")).status, 404);
  });
  await using root = await tempRoot({ files: ["index.html"] });
  await Deno.writeTextFile(`${root.path}/metrics`, "a file\n");
  await withServer({ root: root.path }, async (server) => {
    const res = await get(server.port, "/metrics");
    assert.equal(res.status, 200);
    assert.equal(res.text(), "a file\n");
  });
});

function upload(port: number, body: string, contentType = "application/json"): Uint8Array {
  return bytes(
    `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${contentType}\r\n` +
      `Content-Length: ${bytes(body).length}\r\n\r\n${body}`,
  );
}

Deno.test("denohttpd_uploads_total counts uploads by result", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  const config = {
    root: root.path,
    metrics: true,
    maxBodyBytes: 64,
    // One 4 KiB block: the first upload fills it.
    uploadsMaxBytes: 4096,
    uploadRatePerSecond: 0.001,
    // Five uploads reach the handler within the rate; the sixth does not.
    uploadBurst: 5,
  };
  await withServer(config, async (server) => {
    const { port } = server;
    const statuses: number[] = [];
    statuses.push((await exchange(port, upload(port, '{"a":1}'))).status); // one block stored
    statuses.push((await exchange(port, upload(port, '{"a":1}', "text/plain"))).status);
    statuses.push((await exchange(port, upload(port, "{nope"))).status);
    // Refused by the parser (Content-Length over --max-body) before it is an upload: not one.
    statuses.push(
      (await exchange(port, upload(port, JSON.stringify({ a: "x".repeat(80) })))).status,
    );
    statuses.push((await exchange(port, upload(port, '{"b":"0123456789"}'))).status); // 7 + 18 > 20
    // A client that leaves mid-body: no response, counted once the server sees it go.
    const client = await RawClient.connect(port);
    await client.send(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: 40\r\n\r\n{"a":`,
    );
    await waitFor(() => server.state.pool.busy === 1, { what: "the upload reading its body" });
    client.close();
    await waitFor(() => server.state.site.uploads.results.aborted === 1, { what: "an abort" });
    statuses.push((await exchange(port, upload(port, '{"a":2}'))).status); // the 6th: over the rate
    assert.deepEqual(statuses, [201, 415, 400, 413, 507, 429]);
    const families = await scrape(port);
    const results = Object.fromEntries(
      (families.get("denohttpd_uploads_total")?.samples ?? []).map((
        s,
      ) => [s.labels.result, s.value]),
    );
    assert.deepEqual(results, {
      created: 1,
      refused_rate: 1,
      refused_storage: 1,
      invalid: 2,
      aborted: 1,
      failed: 0,
    });
    assert.equal(requests(families, "POST", 201), 1);
    assert.equal(requests(families, "POST", 499), 1, "the upload that ended without a response");
  });
});
