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
