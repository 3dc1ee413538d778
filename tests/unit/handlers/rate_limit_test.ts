/**
 * RateLimiter and addressKey (src/handlers/rate_limit.ts): the token bucket's arithmetic,
 * Retry-After, fractional rates, the memory bound, and IPv6 keyed per /64.
 */

import assert from "node:assert/strict";
import { addressKey, RateLimiter } from "../../../src/handlers/rate_limit.ts";

Deno.test("RateLimiter.take() lets a burst through, then refuses with the seconds to wait", () => {
  const limiter = new RateLimiter(2, 4);
  const t = 1_000;
  assert.deepEqual([0, 1, 2, 3].map(() => limiter.take("a", t)), [0, 0, 0, 0]);
  assert.equal(limiter.take("a", t), 1, "one token comes back in half a second: Retry-After 1");
  // Half a second later one token has come back.
  assert.equal(limiter.take("a", t + 500), 0);
  assert.equal(limiter.take("a", t + 500), 1);
  // Another address has its own bucket.
  assert.equal(limiter.take("b", t + 500), 0);
});

Deno.test("RateLimiter.take() never holds more than the burst, however long an address was away", () => {
  const limiter = new RateLimiter(10, 3);
  for (let i = 0; i < 3; i++) assert.equal(limiter.take("a", 0), 0);
  const later = 3_600_000;
  for (let i = 0; i < 3; i++) assert.equal(limiter.take("a", later), 0);
  assert.ok(limiter.take("a", later) > 0);
});

Deno.test("RateLimiter.take() with a fractional rate answers Retry-After in whole seconds", () => {
  const limiter = new RateLimiter(0.5, 1);
  assert.equal(limiter.take("a", 0), 0);
  assert.equal(limiter.take("a", 0), 2, "one token every 2 s");
  assert.equal(limiter.take("a", 1_000), 1);
  assert.equal(limiter.take("a", 2_000), 0);
});

Deno.test("RateLimiter.take() is not fooled by time going backwards", () => {
  const limiter = new RateLimiter(1, 1);
  assert.equal(limiter.take("a", 10_000), 0);
  // An earlier reading (not from the monotonic clock it uses by default) earns nothing.
  const wait = limiter.take("a", 5_000);
  assert.ok(wait >= 1 && wait <= 1, `Retry-After ${wait}`);
});

Deno.test("RateLimiter keeps at most maxAddresses buckets", () => {
  const limiter = new RateLimiter(1, 1, 100);
  for (let i = 0; i < 1000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`, 0);
  assert.ok(limiter.size <= 100, `${limiter.size} buckets`);
  // A full bucket costs nothing to forget: the refilled ones go first.
  for (let i = 0; i < 1000; i++) limiter.take(`10.1.${i >> 8}.${i & 255}`, 10_000);
  assert.ok(limiter.size <= 100);
});

const KEYS: [string, string][] = [
  ["192.0.2.7", "192.0.2.7"],
  ["::1", "0:0:0:0::/64"],
  ["2001:db8::1", "2001:db8:0:0::/64"],
  ["2001:db8::ffff:2", "2001:db8:0:0::/64"],
  ["2001:0DB8:0000:0042:0000:8a2e:0370:7334", "2001:db8:0:42::/64"],
  ["2001:db8:0:43::1", "2001:db8:0:43::/64"],
  ["::ffff:192.0.2.7", "192.0.2.7"],
];

for (const [address, key] of KEYS) {
  Deno.test(`addressKey(${address}) is ${key}`, () => {
    assert.equal(addressKey(address), key);
  });
}
