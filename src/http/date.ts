/**
 * IMF-fixdate (RFC 9110 §5.6.7) for the `Date` field, cached for the current second.
 *
 * Invariant: the string changes at most once a second; formatting is off the hot path.
 */

let cachedSecond = -1;
let cachedValue = "";

/** `Wed, 25 Nov 2026 20:49:50 GMT` for `nowMs` (default: now). */
export function httpDate(nowMs: number = Date.now()): string {
  const second = Math.floor(nowMs / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    // toUTCString() emits exactly the IMF-fixdate layout.
    cachedValue = new Date(second * 1000).toUTCString();
  }
  return cachedValue;
}

/** `YYYYMMDD_HHMMSS` in UTC, for upload file names. */
export function fileStamp(nowMs: number): string {
  const d = new Date(nowMs);
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}_` +
    `${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}`;
}
