/**
 * A token bucket per client address (uploads, failed logins): each address may spend `burst` at
 * once and earns `ratePerSecond` back, like nginx's `limit_req` with `burst`. What is counted is
 * the caller's choice: a caller that only counts failures spends before the attempt (so attempts
 * in flight are bounded too) and gives the token back with `refund` when it succeeds.
 *
 * Invariants: an address never spends more than `burst` + `ratePerSecond` × elapsed seconds;
 * memory stays bounded by `maxAddresses` (buckets that have refilled carry no state and are the
 * first to go; past that, the longest unused). Time is the monotonic clock, so a step of the
 * wall clock neither blocks an address nor frees it. IPv6 clients are counted per /64 (see
 * `addressKey`): one host can rotate through the addresses of its own subnet.
 *
 * With several listener threads (`--threads`) the limit is the same for all of them:
 * `SharedRateLimiter` keeps the buckets in a SharedArrayBuffer every thread uses, behind a lock
 * held only for the arithmetic of one address.
 */

/** What a caller needs of a limiter: one thread's `RateLimiter`, or the threads' shared one. */
export interface AddressLimiter {
  readonly ratePerSecond: number;
  readonly burst: number;
  take(address: string, now?: number): number;
  refund(address: string): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter implements AddressLimiter {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly #maxAddresses: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(ratePerSecond: number, burst: number, maxAddresses = 10_000) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new RangeError("rate > 0 and burst >= 1");
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.#maxAddresses = maxAddresses;
  }

  /** Buckets held (for tests and metrics). */
  get size(): number {
    return this.#buckets.size;
  }

  /**
   * Spends one token of `address`: 0 when it had one, otherwise the whole seconds until it will
   * (for `Retry-After`), and nothing is spent.
   */
  take(address: string, now = performance.now()): number {
    let bucket = this.#buckets.get(address);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxAddresses) this.#prune(now);
      bucket = { tokens: this.burst, at: now };
    } else {
      this.#buckets.delete(address); // re-inserted below: the map stays in order of last use
      const elapsedMs = Math.max(0, now - bucket.at);
      bucket.tokens = Math.min(this.burst, bucket.tokens + elapsedMs / 1000 * this.ratePerSecond);
      bucket.at = Math.max(bucket.at, now);
    }
    this.#buckets.set(address, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.ratePerSecond));
  }

  /** Gives back a token `take` just spent for `address` (the attempt did not count). */
  refund(address: string): void {
    const bucket = this.#buckets.get(address);
    if (bucket !== undefined) bucket.tokens = Math.min(this.burst, bucket.tokens + 1);
  }

  /** Drops buckets that have refilled; if none has, the least recently used tenth. */
  #prune(now: number): void {
    for (const [address, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) / 1000 * this.ratePerSecond >= this.burst) {
        this.#buckets.delete(address);
      }
    }
    if (this.#buckets.size < this.#maxAddresses) return;
    let drop = Math.ceil(this.#maxAddresses / 10);
    for (const address of this.#buckets.keys()) {
      if (drop-- <= 0) break;
      this.#buckets.delete(address);
    }
  }
}

/** Slots of a shared table (a power of two); an address is looked for in PROBE_SLOTS of them. */
const SHARED_SLOTS = 16_384;
const PROBE_SLOTS = 16;
/** Bytes of the lock word (padded to the alignment of what follows). */
const LOCK_BYTES = 8;

/** A clock every thread reads alike: each thread's `performance.now()` starts at its own origin. */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The token buckets of `RateLimiter` in a SharedArrayBuffer, so that every thread that holds the
 * buffer counts against the same buckets: an address gets what it would get from one thread,
 * however its connections are spread.
 *
 * Invariants: the same arithmetic as `RateLimiter` (burst, rate, Retry-After, time never going
 * back), under one lock (`SharedLock`) held for a few array accesses, never across an await. An
 * address is found by a 64-bit hash of its key in a window of PROBE_SLOTS slots of a table of
 * SHARED_SLOTS; memory is fixed. When its window is full, the slot whose bucket is fullest is
 * reused (a refilled bucket carries no state, so that loses nothing; otherwise that address
 * starts again with a full bucket, as when `RateLimiter` prunes). Time is `sharedNow()`.
 */
export class SharedRateLimiter implements AddressLimiter {
  /** Bytes of the buffer a limiter needs. */
  static readonly BYTES = LOCK_BYTES + SHARED_SLOTS * 8 + SHARED_SLOTS * 16;

  readonly ratePerSecond: number;
  readonly burst: number;
  readonly #lock: SharedLock;
  /** Two 32-bit hashes per slot; both zero: the slot is empty. */
  readonly #keys: Uint32Array;
  readonly #tokens: Float64Array;
  readonly #at: Float64Array;

  constructor(
    ratePerSecond: number,
    burst: number,
    buffer: SharedArrayBuffer = new SharedArrayBuffer(SharedRateLimiter.BYTES),
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) throw new RangeError("rate > 0 and burst >= 1");
    if (buffer.byteLength < SharedRateLimiter.BYTES) throw new RangeError("buffer too small");
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.#lock = new SharedLock(new Int32Array(buffer, 0, 1));
    this.#keys = new Uint32Array(buffer, LOCK_BYTES, SHARED_SLOTS * 2);
    const floats = LOCK_BYTES + SHARED_SLOTS * 8;
    this.#tokens = new Float64Array(buffer, floats, SHARED_SLOTS);
    this.#at = new Float64Array(buffer, floats + SHARED_SLOTS * 8, SHARED_SLOTS);
  }

  /** See `RateLimiter.take`. */
  take(address: string, now = sharedNow()): number {
    this.#lock.acquire();
    try {
      const slot = this.#slot(address, now);
      const tokens = this.#tokens[slot] as number;
      if (tokens >= 1) {
        this.#tokens[slot] = tokens - 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - tokens) / this.ratePerSecond));
    } finally {
      this.#lock.release();
    }
  }

  /** See `RateLimiter.refund`. */
  refund(address: string): void {
    const [h1, h2] = hashes(address);
    this.#lock.acquire();
    try {
      const mask = SHARED_SLOTS - 1;
      for (let probe = 0; probe < PROBE_SLOTS; probe++) {
        const slot = (h1 + probe) & mask;
        if (this.#keys[slot * 2] === h1 && this.#keys[slot * 2 + 1] === h2) {
          this.#tokens[slot] = Math.min(this.burst, (this.#tokens[slot] as number) + 1);
          return;
        }
      }
    } finally {
      this.#lock.release();
    }
  }

  /**
   * The slot of `address`, its bucket brought up to `now` (a new full one when it has none).
   * Called with the lock held.
   */
  #slot(address: string, now: number): number {
    const [h1, h2] = hashes(address);
    const mask = SHARED_SLOTS - 1;
    let reuse = -1;
    let reuseFill = -Infinity;
    for (let probe = 0; probe < PROBE_SLOTS; probe++) {
      const slot = (h1 + probe) & mask;
      const k1 = this.#keys[slot * 2] as number;
      const k2 = this.#keys[slot * 2 + 1] as number;
      if (k1 === h1 && k2 === h2) {
        const at = this.#at[slot] as number;
        const elapsedMs = Math.max(0, now - at);
        this.#tokens[slot] = Math.min(
          this.burst,
          (this.#tokens[slot] as number) + elapsedMs / 1000 * this.ratePerSecond,
        );
        this.#at[slot] = Math.max(at, now);
        return slot;
      }
      if (k1 === 0 && k2 === 0) {
        // Slots are never emptied, so the address is not further on.
        reuse = slot;
        break;
      }
      const fill = (this.#tokens[slot] as number) +
        Math.max(0, now - (this.#at[slot] as number)) / 1000 * this.ratePerSecond;
      if (fill > reuseFill) {
        reuse = slot;
        reuseFill = fill;
      }
    }
    this.#keys[reuse * 2] = h1;
    this.#keys[reuse * 2 + 1] = h2;
    this.#tokens[reuse] = this.burst;
    this.#at[reuse] = now;
    return reuse;
  }
}

/**
 * A mutual-exclusion lock on one Int32 of a SharedArrayBuffer (a futex as in Drepper's "Futexes
 * Are Tricky"): 0 free, 1 held, 2 held with waiters. Uncontended it costs one compare-and-swap
 * each way; a thread that finds it held spins briefly, then sleeps in `Atomics.wait` until the
 * holder wakes it, so more threads than cores never spin through each other's time slices.
 */
export class SharedLock {
  readonly #word: Int32Array;

  constructor(word: Int32Array) {
    this.#word = word;
  }

  acquire(): void {
    const word = this.#word;
    let state = Atomics.compareExchange(word, 0, 0, 1);
    if (state === 0) return;
    for (let spin = 0; spin < 100 && state !== 0; spin++) {
      state = Atomics.compareExchange(word, 0, 0, 1);
    }
    if (state === 0) return;
    if (state !== 2) state = Atomics.exchange(word, 0, 2);
    while (state !== 0) {
      Atomics.wait(word, 0, 2);
      state = Atomics.exchange(word, 0, 2);
    }
  }

  release(): void {
    if (Atomics.sub(this.#word, 0, 1) !== 1) {
      Atomics.store(this.#word, 0, 0);
      Atomics.notify(this.#word, 0, 1);
    }
  }
}

/** Two independent 32-bit hashes of `text` (FNV-1a with two offsets), never both zero. */
function hashes(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x9e3779b9;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  a >>>= 0;
  b >>>= 0;
  return a === 0 && b === 0 ? [0, 1] : [a, b];
}

/**
 * The key an address is limited by: an IPv4 address as it is; an IPv6 address by its /64 (the
 * size of one subnet a single host may own); an IPv4-mapped IPv6 address as the IPv4 one.
 */
export function addressKey(address: string): string {
  if (!address.includes(":")) return address;
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped !== null) return mapped[1] as string;
  const [head = "", tail = ""] = lower.split("::", 2);
  const left = head === "" ? [] : head.split(":");
  const right = lower.includes("::") ? (tail === "" ? [] : tail.split(":")) : [];
  const groups = lower.includes("::")
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right]
    : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, "")).join(":")}::/64`;
}
