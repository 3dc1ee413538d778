/**
 * encodeMarked (src/log.ts): a batch of log lines encoded with "·" put back at each recorded
 * offset, by the copy path for ASCII and the plain path for anything else, always the same
 * bytes as encoding the intended text.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeMarked } from "../../src/log.ts";

const encoder = new TextEncoder();

/** The text the batch stands for: the character at each mark replaced by "·". */
function intended(text: string, marks: readonly number[]): string {
  let out = "";
  let from = 0;
  for (const at of marks) {
    out += text.slice(from, at) + "\u00b7";
    from = at + 1;
  }
  return out + text.slice(from);
}

const CASES: { text: string; marks: number[] }[] = [
  { text: "a.b", marks: [1] },
  { text: ".", marks: [0] },
  { text: "plain ascii\n", marks: [] },
  { text: "x.y.z\n", marks: [1, 3] },
  { text: "..", marks: [0, 1] },
  // Beyond ASCII before, after and between marks (a user name, a system message).
  { text: "é.b", marks: [1] },
  { text: "a.é\n", marks: [1] },
  { text: "a.€.😀.", marks: [1, 3, 6] },
  // Control characters are text, not marks: only the recorded offsets change.
  { text: "\x01.\x01\x00", marks: [1] },
];

for (const { text, marks } of CASES) {
  Deno.test(`encodeMarked() of ${JSON.stringify(text)} at ${JSON.stringify(marks)}`, () => {
    assert.deepEqual(encodeMarked(encoder, text, marks), encoder.encode(intended(text, marks)));
  });
}

Deno.test("encodeMarked() equals encoding the intended text, for any lines and marks", () => {
  const line = fc.tuple(fc.string({ unit: "grapheme", maxLength: 40 }), fc.boolean());
  fc.assert(
    fc.property(fc.array(line, { maxLength: 20 }), (lines) => {
      let text = "";
      const marks: number[] = [];
      for (const [content, marked] of lines) {
        if (marked) {
          marks.push(text.length);
          text += ".";
        }
        text += content;
      }
      assert.deepEqual(encodeMarked(encoder, text, marks), encoder.encode(intended(text, marks)));
    }),
  );
});
