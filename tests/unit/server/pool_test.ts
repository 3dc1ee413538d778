/**
 * WorkerPool (src/server/pool.ts): numbered workers, a bounded FIFO queue, 503 when it is full,
 * and the snapshot the server logs (SPEC.md "Connections and the worker pool").
 */

import assert from "node:assert/strict";
import { PoolClosedError, WorkerPool } from "../../../src/server/pool.ts";

/** Acquires `n` workers that must be free at once. */
function takeAll(pool: WorkerPool, n: number): number[] {
  const workers: number[] = [];
  for (let i = 0; i < n; i++) {
    const worker = pool.acquire();
    assert.equal(typeof worker, "number", `acquire #${i + 1} should be immediate`);
    workers.push(worker as number);
  }
  return workers;
}

/** Acquires a worker that must queue. */
function queue(pool: WorkerPool): Promise<number> {
  const waiting = pool.acquire();
  assert.ok(waiting instanceof Promise, "acquire on a full pool should return a Promise");
  return waiting;
}

/** Lets every pending promise callback run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

for (const size of [1, 2, 10, 64]) {
  Deno.test(`WorkerPool.acquire() hands out workers 1..${size} immediately`, () => {
    const pool = new WorkerPool(size, 5);
    const workers = takeAll(pool, size);
    assert.equal(new Set(workers).size, size, "worker numbers must be distinct");
    assert.deepEqual(
      [...workers].sort((a, b) => a - b),
      Array.from({ length: size }, (_, i) => i + 1),
    );
    assert.equal(pool.busy, size);
  });
}

Deno.test("WorkerPool.acquire() returns a Promise when every worker is busy", async () => {
  const pool = new WorkerPool(2, 5);
  takeAll(pool, 2);
  const waiting = queue(pool);
  assert.equal(pool.queued, 1);
  pool.release(1);
  assert.equal(await waiting, 1);
});

Deno.test("WorkerPool.release() resumes queued waiters in FIFO order", async () => {
  const pool = new WorkerPool(2, 10);
  const [a, b] = takeAll(pool, 2) as [number, number];
  const order: string[] = [];
  const waiters = ["w1", "w2", "w3", "w4"].map((name) =>
    queue(pool).then((worker) => {
      order.push(name);
      return worker;
    })
  );
  pool.release(b);
  await settle();
  assert.deepEqual(order, ["w1"]);
  pool.release(a);
  pool.release(await waiters[0]!);
  pool.release(await waiters[1]!);
  await settle();
  assert.deepEqual(order, ["w1", "w2", "w3", "w4"]);
  assert.deepEqual(await Promise.all(waiters), [b, a, b, a]);
});

Deno.test("WorkerPool.release() hands the worker straight to a waiter", async () => {
  const pool = new WorkerPool(3, 10);
  const workers = takeAll(pool, 3);
  const first = queue(pool);
  const second = queue(pool);
  pool.release(workers[1]!);
  assert.equal(pool.busy, 3, "busy stays at size while a waiter takes the worker");
  assert.equal(pool.queued, 1);
  assert.equal(await first, workers[1]);
  assert.equal(pool.acquire() instanceof Promise, true, "no worker came free for newcomers");
  pool.release(workers[0]!);
  assert.equal(await second, workers[0]);
  assert.equal(pool.busy, 3);
});

Deno.test("WorkerPool.release() keeps FIFO order across queue compaction", async () => {
  const count = 3000;
  const late = 10;
  const pool = new WorkerPool(1, count + late);
  takeAll(pool, 1);
  const order: number[] = [];
  const enqueue = (id: number) => queue(pool).then((worker) => (order.push(id), worker));
  const waiters = Array.from({ length: count }, (_, i) => enqueue(i));
  for (let i = 0; i < count + late; i++) {
    if (i === 2000) {
      // Newcomers joining after the queue has been compacted still wait behind everyone.
      for (let j = 0; j < late; j++) waiters.push(enqueue(count + j));
      assert.equal(pool.queued, count - i + late);
    }
    pool.release(1);
    assert.equal(await waiters[i]!, 1);
  }
  assert.deepEqual(order, Array.from({ length: count + late }, (_, i) => i));
  assert.equal(pool.queued, 0);
  pool.release(1);
  assert.equal(pool.busy, 0);
  assert.equal(pool.snapshot().served, 1 + count + late);
});

const LIMIT_CASES: ReadonlyArray<{ size: number; queueLimit: number; extra: number }> = [
  { size: 1, queueLimit: 0, extra: 3 },
  { size: 2, queueLimit: 1, extra: 2 },
  { size: 3, queueLimit: 5, extra: 1 },
];

for (const { size, queueLimit, extra } of LIMIT_CASES) {
  Deno.test(
    `WorkerPool.acquire() returns null beyond a queue of ${queueLimit} (size ${size})`,
    () => {
      const pool = new WorkerPool(size, queueLimit);
      takeAll(pool, size);
      for (let i = 0; i < queueLimit; i++) queue(pool).catch(() => {});
      for (let i = 0; i < extra; i++) assert.equal(pool.acquire(), null);
      assert.deepEqual(pool.snapshot(), {
        busy: size,
        size,
        queued: queueLimit,
        served: size,
        rejected: extra,
      });
      pool.close();
    },
  );
}

Deno.test("WorkerPool.acquire() queues again once the queue drains below its limit", async () => {
  const pool = new WorkerPool(1, 1);
  takeAll(pool, 1);
  const waiting = queue(pool);
  assert.equal(pool.acquire(), null);
  pool.release(1);
  assert.equal(await waiting, 1);
  const again = queue(pool);
  pool.release(1);
  assert.equal(await again, 1);
  assert.equal(pool.snapshot().rejected, 1);
});

Deno.test("WorkerPool.snapshot() reports busy, size, queued, served and rejected", async () => {
  const pool = new WorkerPool(2, 1);
  assert.deepEqual(pool.snapshot(), { busy: 0, size: 2, queued: 0, served: 0, rejected: 0 });
  const [a, b] = takeAll(pool, 2) as [number, number];
  assert.deepEqual(pool.snapshot(), { busy: 2, size: 2, queued: 0, served: 2, rejected: 0 });
  const waiting = queue(pool);
  assert.equal(pool.acquire(), null);
  assert.deepEqual(pool.snapshot(), { busy: 2, size: 2, queued: 1, served: 2, rejected: 1 });
  pool.release(a);
  assert.equal(await waiting, a);
  assert.deepEqual(pool.snapshot(), { busy: 2, size: 2, queued: 0, served: 3, rejected: 1 });
  pool.release(a);
  pool.release(b);
  assert.deepEqual(pool.snapshot(), { busy: 0, size: 2, queued: 0, served: 3, rejected: 1 });
  assert.equal(pool.size, 2);
  assert.equal(pool.queueLimit, 1);
});

Deno.test("WorkerPool.idle() resolves at once when no worker is busy", async () => {
  const pool = new WorkerPool(2, 1);
  await pool.idle();
  const worker = pool.acquire() as number;
  pool.release(worker);
  await pool.idle();
});

Deno.test("WorkerPool.idle() resolves only when every worker is released", async () => {
  const pool = new WorkerPool(3, 5);
  const [a, b, c] = takeAll(pool, 3) as [number, number, number];
  const waiting = queue(pool);
  let idle = false;
  const done = pool.idle().then(() => {
    idle = true;
  });
  pool.release(a); // handed to the waiter: still 3 busy
  const d = await waiting;
  await settle();
  assert.equal(idle, false);
  pool.release(b);
  pool.release(c);
  await settle();
  assert.equal(idle, false, "one worker is still busy");
  pool.release(d);
  await done;
  assert.equal(idle, true);
  assert.equal(pool.busy, 0);
});

Deno.test("WorkerPool.close() rejects queued waiters with PoolClosedError", async () => {
  const pool = new WorkerPool(1, 5);
  takeAll(pool, 1);
  const waiters = [queue(pool), queue(pool), queue(pool)];
  pool.close();
  assert.equal(pool.queued, 0);
  for (const waiting of waiters) {
    await assert.rejects(waiting, (error: unknown) => {
      assert.ok(error instanceof PoolClosedError);
      assert.equal(error.name, "PoolClosedError");
      return true;
    });
  }
});

Deno.test("WorkerPool.acquire() returns null after close()", async () => {
  const pool = new WorkerPool(2, 5);
  const worker = pool.acquire() as number;
  pool.close();
  assert.equal(pool.acquire(), null, "free workers are not handed out after close");
  pool.release(worker);
  assert.equal(pool.acquire(), null);
  assert.equal(pool.busy, 0);
  await pool.idle();
});

Deno.test("WorkerPool.idle() still resolves for requests in flight after close()", async () => {
  const pool = new WorkerPool(2, 5);
  const [a, b] = takeAll(pool, 2) as [number, number];
  pool.close();
  let idle = false;
  const done = pool.idle().then(() => {
    idle = true;
  });
  pool.release(a);
  await settle();
  assert.equal(idle, false);
  pool.release(b);
  await done;
});

const BAD_ARGS: ReadonlyArray<{ size: number; queueLimit: number }> = [
  { size: 0, queueLimit: 10 },
  { size: -1, queueLimit: 10 },
  { size: 1.5, queueLimit: 10 },
  { size: Number.NaN, queueLimit: 10 },
  { size: Infinity, queueLimit: 10 },
  { size: 2, queueLimit: -1 },
  { size: 2, queueLimit: 0.5 },
];

for (const { size, queueLimit } of BAD_ARGS) {
  Deno.test(`new WorkerPool(${size}, ${queueLimit}) throws RangeError`, () => {
    assert.throws(() => new WorkerPool(size, queueLimit), RangeError);
  });
}
