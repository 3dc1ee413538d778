/**
 * A token bucket per client address (uploads, failed logins): each address may spend `burst` at
 * once and earns `ratePerSecond` back, like nginx's `limit_req` with `burst`. What is counted is
 * the caller's choice: a caller that only counts failures spends before the attempt (so attempts
 * in flight are bounded too) and gives the token back with `refund` when it succeeds.
 *
 * Invariants: an address never spends more than `burst` + `ratePerSecond` × elapsed seconds;
 * memory stays bounded by `maxAddresses` (buckets that have refilled carry no state and are the
 * first to go; past that, the longest unused).
 */

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
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
  take(address: string, now = Date.now()): number {
    let bucket = this.#buckets.get(address);
    if (bucket === undefined) {
      if (this.#buckets.size >= this.#maxAddresses) this.#prune(now);
      bucket = { tokens: this.burst, at: now };
    } else {
      this.#buckets.delete(address); // re-inserted below: the map stays in order of last use
      bucket.tokens = Math.min(
        this.burst,
        bucket.tokens + (now - bucket.at) / 1000 * this.ratePerSecond,
      );
      bucket.at = now;
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
