/**
 * The worker pool: a counting semaphore of numbered workers with a bounded FIFO queue.
 *
 * A "worker" is a permit to serve one request (read its body, read its file, write the
 * response); Deno runs them all on one thread, so the pool bounds concurrency and memory, not
 * threads. Each worker owns one file buffer, so streaming memory is poolSize x chunk size.
 *
 * Invariants: busy + free === size; a waiter is resumed only by `release`, strictly in arrival
 * order; the queue never holds more than `queueLimit` waiters. With a shared count (listener
 * threads, see threads.ts) the pools holding it together never hold more than `queueLimit`.
 */

export interface PoolSnapshot {
  busy: number;
  size: number;
  queued: number;
  /** Requests that have been given a worker since start. */
  served: number;
  /** Requests that found the queue full. */
  rejected: number;
}

interface Waiter {
  resolve: (worker: number) => void;
  reject: (error: Error) => void;
}

export class PoolClosedError extends Error {
  constructor() {
    super("worker pool closed");
    this.name = "PoolClosedError";
  }
}

export class WorkerPool {
  readonly size: number;
  readonly queueLimit: number;
  /** Free worker numbers (1-based); the most recently freed is reused first (warm buffers). */
  #free: number[];
  #queue: Waiter[] = [];
  #queueHead = 0;
  #served = 0;
  #rejected = 0;
  #closed = false;
  #idleWaiters: (() => void)[] = [];
  /** Waiters of every pool that holds it (Int32Array over a SharedArrayBuffer); null: this one's. */
  readonly #sharedQueued: Int32Array | null;

  /**
   * `firstWorker`: the number of the first worker (a thread's share of `--pool`); `sharedQueued`:
   * a count of waiters shared with other threads' pools, `queueLimit` bounding them together.
   */
  constructor(
    size: number,
    queueLimit: number,
    firstWorker = 1,
    sharedQueued: Int32Array | null = null,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError("pool size must be >= 1");
    if (!Number.isInteger(queueLimit) || queueLimit < 0) {
      throw new RangeError("queue limit must be >= 0");
    }
    this.size = size;
    this.queueLimit = queueLimit;
    this.#free = Array.from({ length: size }, (_, i) => firstWorker + size - 1 - i);
    this.#sharedQueued = sharedQueued;
  }

  get busy(): number {
    return this.size - this.#free.length;
  }

  get queued(): number {
    return this.#queue.length - this.#queueHead;
  }

  /**
   * A worker number at once when one is free; a promise of one when the request must queue;
   * null when the queue is full (the caller answers 503).
   */
  acquire(): number | Promise<number> | null {
    if (this.#closed) return null;
    const worker = this.#free.pop();
    if (worker !== undefined) {
      this.#served++;
      return worker;
    }
    if (!this.#mayQueue()) {
      this.#rejected++;
      return null;
    }
    return new Promise<number>((resolve, reject) => this.#queue.push({ resolve, reject }));
  }

  /** Whether one more may wait: in this queue, or in all that share the count (counted then). */
  #mayQueue(): boolean {
    const shared = this.#sharedQueued;
    if (shared === null) return this.queued < this.queueLimit;
    if (Atomics.add(shared, 0, 1) < this.queueLimit) return true;
    Atomics.sub(shared, 0, 1);
    return false;
  }

  /** Returns `worker` to the pool, or hands it straight to the longest-waiting request. */
  release(worker: number): void {
    const waiter = this.#queue[this.#queueHead];
    if (waiter !== undefined) {
      this.#queue[this.#queueHead] = undefined as unknown as Waiter;
      this.#queueHead++;
      if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#queueHead);
        this.#queueHead = 0;
      }
      this.#served++;
      if (this.#sharedQueued !== null) Atomics.sub(this.#sharedQueued, 0, 1);
      waiter.resolve(worker);
      return;
    }
    this.#free.push(worker);
    if (this.#free.length === this.size) {
      for (const wake of this.#idleWaiters.splice(0)) wake();
    }
  }

  /** Refuses new requests and fails the queued ones (shutdown). */
  close(): void {
    this.#closed = true;
    const waiting = this.#queue.slice(this.#queueHead);
    this.#queue = [];
    this.#queueHead = 0;
    if (this.#sharedQueued !== null) Atomics.sub(this.#sharedQueued, 0, waiting.length);
    for (const waiter of waiting) waiter.reject(new PoolClosedError());
  }

  /** Resolves when no worker is busy. */
  idle(): Promise<void> {
    if (this.busy === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  snapshot(): PoolSnapshot {
    return {
      busy: this.busy,
      size: this.size,
      queued: this.queued,
      served: this.#served,
      rejected: this.#rejected,
    };
  }
}
