/**
 * What listener threads (`--threads`) share and split, without a server: `share` (the pool, the
 * password checks), pools sharing one bound of their queues, `sumSnapshots`, ServerMetrics regions summed by whichever thread
 * renders, UploadSpace and SharedRateLimiter (the same arithmetic as one thread's, and bounds
 * that hold while real worker threads hammer one SharedArrayBuffer at once).
 */

import assert from "node:assert/strict";
import { RateLimiter, SharedRateLimiter } from "../../../src/handlers/rate_limit.ts";
import { UPLOAD_RESULTS, uploadResults } from "../../../src/handlers/upload.ts";
import { UploadSpace } from "../../../src/handlers/upload_store.ts";
import { type MetricsSnapshot, ServerMetrics } from "../../../src/server/metrics.ts";
import { WorkerPool } from "../../../src/server/pool.ts";
import { share, sumSnapshots } from "../../../src/server/thread_messages.ts";
import type { AccessRecord } from "../../../src/server/access_log.ts";
import { parseExposition, sampleValue } from "../../helpers/exposition.ts";

const SHARE_CASES: ReadonlyArray<{ total: number; threads: number; sizes: number[] }> = [
  { total: 10, threads: 1, sizes: [10] },
  { total: 10, threads: 2, sizes: [5, 5] },
  { total: 10, threads: 3, sizes: [4, 3, 3] },
  { total: 10, threads: 4, sizes: [3, 3, 2, 2] },
  { total: 200, threads: 3, sizes: [67, 67, 66] },
  { total: 2, threads: 2, sizes: [1, 1] },
  { total: 0, threads: 2, sizes: [0, 0] },
  { total: 1, threads: 3, sizes: [1, 0, 0] },
];

for (const { total, threads, sizes } of SHARE_CASES) {
  Deno.test(`share(${total}, ${threads}) gives ${JSON.stringify(sizes)}, consecutive`, () => {
    const shares = sizes.map((_, t) => share(total, threads, t));
    assert.deepEqual(shares.map((s) => s.size), sizes);
    assert.equal(shares.reduce((sum, s) => sum + s.size, 0), total);
    // Each thread's first follows the previous one's last: worker numbers never repeat.
    let next = 0;
    for (const s of shares) {
      assert.equal(s.first, next);
      next += s.size;
    }
  });
}

Deno.test("sumSnapshots() adds every field", () => {
  const one = {
    busy: 1,
    size: 5,
    queued: 2,
    served: 10,
    rejected: 1,
    open: 4,
    requests: 12,
    lost: 0,
  };
  assert.deepEqual(sumSnapshots([one, { ...one, busy: 3, lost: 2 }]), {
    busy: 4,
    size: 10,
    queued: 4,
    served: 20,
    rejected: 2,
    open: 8,
    requests: 24,
    lost: 2,
  });
  assert.equal(sumSnapshots([]).size, 0);
});

function exchange(status: number, bytes: number, durationMs: number): AccessRecord {
  return {
    timeMs: 0,
    conn: 1,
    client: "127.0.0.1",
    request: null,
    hostNote: "",
    status,
    bytes,
    durationMs,
    worker: 0,
    queuedMs: 0,
    fate: "keep-alive",
    note: undefined,
  };
}

function snapshot(part: Partial<MetricsSnapshot>): MetricsSnapshot {
  return {
    connectionsOpen: 0,
    poolBusy: 0,
    poolSize: 0,
    queueLength: 0,
    cacheHits: 0,
    cacheMisses: 0,
    uploads: uploadResults(),
    residentBytes: 1,
    startTimeSeconds: 0,
    ...part,
  };
}

Deno.test("ServerMetrics on a shared buffer: any thread's render() sums every thread's counters and gauges", () => {
  const buffer = new SharedArrayBuffer(ServerMetrics.bytesFor(3));
  const threads = [0, 1, 2].map((thread) =>
    new ServerMetrics({ buffer, thread, threads: 3, startTimeSeconds: 1_700_000_000 })
  );
  const [a, b, c] = threads as [ServerMetrics, ServerMetrics, ServerMetrics];
  a.record(exchange(200, 100, 0.1));
  b.record(exchange(200, 50, 2));
  b.record(exchange(404, 9, 0.1));
  c.record(exchange(503, 0, 30));
  const uploadsB = b.uploadCounters();
  uploadsB.created += 2;
  uploadsB.refused_rate++;
  c.uploadCounters().created++;
  // Gauges as each thread last published them; the rendering thread's come from its snapshot.
  const gauges: Partial<MetricsSnapshot>[] = [
    { connectionsOpen: 2, poolBusy: 1, poolSize: 4, cacheHits: 5 },
    { connectionsOpen: 7, poolBusy: 3, poolSize: 5, cacheHits: 10 },
    { connectionsOpen: 1, poolSize: 5, queueLength: 2, cacheMisses: 4 },
  ];
  threads.forEach((thread, i) => thread.publish(snapshot(gauges[i] as Partial<MetricsSnapshot>)));
  for (const [i, renderer] of threads.entries()) {
    const own = gauges[i] as Partial<MetricsSnapshot>;
    const families = parseExposition(renderer.render(snapshot(own)));
    assert.equal(sampleValue(families, "http_requests_total", { method: "other", code: "200" }), 2);
    assert.equal(sampleValue(families, "http_requests_total", { method: "other", code: "404" }), 1);
    assert.equal(sampleValue(families, "http_requests_total", { method: "other", code: "503" }), 1);
    assert.equal(sampleValue(families, "http_response_bytes_total"), 159);
    assert.equal(sampleValue(families, "http_request_duration_seconds_count"), 4);
    assert.equal(sampleValue(families, "denohttpd_connections_open"), 10);
    assert.equal(sampleValue(families, "denohttpd_pool_busy"), 4);
    assert.equal(sampleValue(families, "denohttpd_pool_size"), 14);
    assert.equal(sampleValue(families, "denohttpd_queue_length"), 2);
    assert.equal(sampleValue(families, "denohttpd_cache_hits_total"), 15);
    assert.equal(sampleValue(families, "denohttpd_cache_misses_total"), 4);
    assert.equal(sampleValue(families, "denohttpd_uploads_total", { result: "created" }), 3);
    assert.equal(sampleValue(families, "denohttpd_uploads_total", { result: "refused_rate" }), 1);
    assert.equal(sampleValue(families, "process_start_time_seconds"), 1_700_000_000);
  }
  // The rendering thread's gauges are its live ones, not what it published last.
  const live = parseExposition(a.render(snapshot({ ...gauges[0], connectionsOpen: 9 })));
  assert.equal(sampleValue(live, "denohttpd_connections_open"), 17);
});

Deno.test("ServerMetrics.uploadCounters() is a record of every result, written into the region", () => {
  const metrics = new ServerMetrics({
    buffer: new SharedArrayBuffer(ServerMetrics.bytesFor(1)),
    thread: 0,
    threads: 1,
    startTimeSeconds: 0,
  });
  const counters = metrics.uploadCounters();
  assert.deepEqual(Object.keys(counters), [...UPLOAD_RESULTS]);
  counters.failed++;
  assert.equal(metrics.uploadCounters().failed, 1, "a second view reads the same cells");
});

Deno.test("UploadSpace.reserve() refuses beyond the bound; settle() stores or gives back", () => {
  const space = new UploadSpace(new SharedArrayBuffer(UploadSpace.BYTES));
  assert.equal(space.reserve(4096, 8192), true);
  assert.equal(space.reserve(4096, 8192), true);
  assert.equal(space.reserve(4096, 8192), false, "stored + reserved would pass the bound");
  space.settle(4096, true);
  space.settle(4096, false);
  assert.deepEqual([space.stored, space.reserved, space.storedInAll], [4096, 0, 4096]);
  assert.equal(space.reserve(4096, 8192), true);
  assert.equal(space.reserve(4096, 0), true, "0: no bound");
  space.measured(0, 1_000);
  assert.equal(space.stored, 0);
  assert.equal(space.storedInAll, 4096, "never decreases");
  assert.equal(space.claimMeasurement(2_000, 5_000), false, "measured 1 s ago");
  assert.equal(space.claimMeasurement(6_000, 5_000), true);
  assert.equal(space.claimMeasurement(6_001, 5_000), false, "claimed: one measurement at a time");
});

Deno.test("SharedRateLimiter answers as RateLimiter does, call for call", () => {
  const rates: [number, number][] = [[2, 4], [0.5, 1], [10, 3], [1 / 60, 10]];
  for (const [rate, burst] of rates) {
    const one = new RateLimiter(rate, burst);
    const shared = new SharedRateLimiter(rate, burst);
    const steps: [string, number][] = [];
    for (let i = 0; i < 200; i++) {
      steps.push([`10.0.0.${i % 7}`, 1_000 + Math.floor(i / 3) * 97]);
    }
    for (const [address, now] of steps) {
      assert.equal(shared.take(address, now), one.take(address, now), `${rate}/s ${address}`);
      if (now % 2 === 0) {
        one.refund(address);
        shared.refund(address);
      }
    }
  }
});

Deno.test("SharedRateLimiter: two views of one buffer count against the same bucket", () => {
  const buffer = new SharedArrayBuffer(SharedRateLimiter.BYTES);
  const a = new SharedRateLimiter(1, 3, buffer);
  const b = new SharedRateLimiter(1, 3, buffer);
  assert.equal(a.take("192.0.2.1", 0), 0);
  assert.equal(b.take("192.0.2.1", 0), 0);
  assert.equal(a.take("192.0.2.1", 0), 0);
  assert.equal(b.take("192.0.2.1", 0), 1, "the burst of 3 is spent, whichever view spent it");
  assert.equal(b.take("192.0.2.2", 0), 0, "another address has its own bucket");
});

Deno.test("SharedRateLimiter keeps limiting with far more addresses than slots", () => {
  const limiter = new SharedRateLimiter(1, 2);
  // 100,000 addresses, each spending its burst: memory stays fixed, and an address seen again
  // at once is still limited (its slot is the most recently used in its window).
  for (let i = 0; i < 100_000; i++) {
    const address = `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
    assert.equal(limiter.take(address, 0), 0);
    assert.equal(limiter.take(address, 0), 0);
    assert.ok(limiter.take(address, 0) > 0, address);
  }
});

/** Runs `source` in `n` worker threads with `buffer`; resolves with what each posts back. */
async function inWorkers(n: number, source: string, buffer: SharedArrayBuffer): Promise<unknown[]> {
  const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  try {
    return await Promise.all(
      Array.from({ length: n }, (_, index) =>
        new Promise((resolve, reject) => {
          const worker = new Worker(url, { type: "module" });
          // Generous: under `deno test` a worker's modules are type-checked as it starts.
          const timer = setTimeout(() => {
            worker.terminate();
            reject(new Error("worker timed out"));
          }, 60_000);
          worker.onmessage = (event) => {
            clearTimeout(timer);
            worker.terminate();
            resolve(event.data);
          };
          worker.onerror = (event) => {
            event.preventDefault();
            clearTimeout(timer);
            worker.terminate();
            reject(new Error(event.message));
          };
          worker.postMessage({ buffer, index });
        })),
    );
  } finally {
    URL.revokeObjectURL(url);
  }
}

const STORE_MODULE = new URL("../../../src/handlers/upload_store.ts", import.meta.url).href;
const RATE_MODULE = new URL("../../../src/handlers/rate_limit.ts", import.meta.url).href;

Deno.test("UploadSpace: 4 threads reserving at once never pass the bound, and the count ends exact", async () => {
  const buffer = new SharedArrayBuffer(UploadSpace.BYTES);
  const bound = 4096 * 50;
  const results = await inWorkers(
    4,
    `import { UploadSpace } from "${STORE_MODULE}";
    self.onmessage = (event) => {
      const space = new UploadSpace(event.data.buffer);
      let kept = 0, refused = 0, worst = 0;
      for (let i = 0; i < 20000; i++) {
        if (!space.reserve(4096, ${bound})) { refused++; continue; }
        worst = Math.max(worst, space.taken);
        // Keep one in fifty; give the rest back (failed uploads).
        const keep = i % 50 === 0;
        space.settle(4096, keep);
        if (keep) kept++;
      }
      self.postMessage({ kept, refused, worst });
    };`,
    buffer,
  ) as { kept: number; refused: number; worst: number }[];
  const space = new UploadSpace(buffer);
  const kept = results.reduce((sum, r) => sum + r.kept, 0);
  assert.equal(space.reserved, 0, "every reservation settled");
  assert.equal(space.stored, kept * 4096, "stored is exactly what was kept");
  assert.ok(space.stored <= bound, `stored ${space.stored}`);
  for (const r of results) assert.ok(r.worst <= bound, `saw ${r.worst} > ${bound}`);
  assert.ok(results.some((r) => r.refused > 0), "the bound was reached");
});

Deno.test("SharedRateLimiter: 4 threads taking from one address at once get exactly the burst", async () => {
  const buffer = new SharedArrayBuffer(SharedRateLimiter.BYTES);
  const results = await inWorkers(
    4,
    `import { SharedRateLimiter } from "${RATE_MODULE}";
    self.onmessage = (event) => {
      // A rate so slow that nothing comes back during the test: only the burst of 1000.
      const limiter = new SharedRateLimiter(1e-9, 1000, event.data.buffer);
      let granted = 0;
      for (let i = 0; i < 5000; i++) if (limiter.take("198.51.100.7") === 0) granted++;
      self.postMessage(granted);
    };`,
    buffer,
  ) as number[];
  assert.equal(results.reduce((sum, n) => sum + n, 0), 1000);
});

Deno.test("WorkerPool: pools sharing a count of waiters hold at most queueLimit together, in FIFO order each", async () => {
  const queued = new Int32Array(new SharedArrayBuffer(4));
  const a = new WorkerPool(1, 3, 1, queued);
  const b = new WorkerPool(1, 3, 2, queued);
  assert.equal(a.acquire(), 1);
  assert.equal(b.acquire(), 2);
  const order: string[] = [];
  const wait = (pool: WorkerPool, name: string) => {
    const taken = pool.acquire();
    assert.ok(taken instanceof Promise, `${name} waits`);
    return taken.then((worker) => {
      order.push(`${name}:${worker}`);
      return worker;
    }, () => order.push(`${name}:refused`));
  };
  const a1 = wait(a, "a1");
  const a2 = wait(a, "a2");
  const b1 = wait(b, "b1");
  assert.equal(queued[0], 3);
  assert.equal(a.acquire(), null, "the shared bound is reached");
  assert.equal(b.acquire(), null, "in the other pool too");
  assert.equal(queued[0], 3, "a refusal counts nothing");
  a.release(1);
  assert.equal(await a1, 1);
  assert.equal(queued[0], 2);
  const b2 = wait(b, "b2");
  assert.equal(b.snapshot().queued, 2);
  b.close();
  await Promise.all([b1, b2]);
  assert.equal(queued[0], 1, "a closed pool's waiters no longer count");
  a.release(1);
  await a2;
  assert.equal(queued[0], 0);
  assert.deepEqual(order, ["a1:1", "b1:refused", "b2:refused", "a2:1"]);
});
