/**
 * ThrottledWarning (src/log.ts): the first warning at once, repeats within the interval counted
 * and reported in one line when it has passed, so none goes unreported.
 */

import assert from "node:assert/strict";
import { ThrottledWarning } from "../../src/log.ts";

Deno.test("ThrottledWarning: one line at once, then one summary of the repeats", async () => {
  const lines: string[] = [];
  const warning = new ThrottledWarning(
    { warn: (message: string) => lines.push(message) } as never,
    100,
  );
  warning.warn("disk full: a");
  for (let i = 0; i < 20; i++) warning.warn(`disk full: ${i}`);
  assert.deepEqual(lines, ["disk full: a"]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, /^disk full: 19 \(20 like it in the last 0\.\d s\)$/);
  // Quiet again: the next one is logged at once.
  await new Promise((resolve) => setTimeout(resolve, 120));
  warning.warn("disk full: later");
  assert.equal(lines[2], "disk full: later");
});
