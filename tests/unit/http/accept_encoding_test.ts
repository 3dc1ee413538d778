/**
 * Accept-Encoding negotiation (RFC 9110 §12.5.3) as a table: field values and the codings a
 * representation has in, the chosen coding out; and properties over generated values (a coding
 * weighed 0 is never chosen, the choice has the highest weight, nothing throws). The e2e tests
 * (compression_test.ts) check the same choices on the wire.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BR,
  choicesFor,
  type Coding,
  GZIP,
  negotiateEncoding,
} from "../../../src/http/accept_encoding.ts";
import { FieldList } from "../../../src/http/fields.ts";

const BOTH = BR | GZIP;

function fields(...values: string[]): FieldList {
  const list = new FieldList();
  list.add("host", "127.0.0.1:8080");
  for (const value of values) list.add("accept-encoding", value);
  return list;
}

/** Each row: Accept-Encoding field values (none: no field), then the choice per available set. */
const CASES: {
  values: string[];
  /** With br and gzip available, with br only, with gzip only. */
  both: Coding;
  br?: Coding;
  gzip?: Coding;
  why: string;
}[] = [
  { values: [], both: "identity", br: "identity", gzip: "identity", why: "no field" },
  { values: [""], both: "identity", why: "empty: no coding wanted" },
  { values: ["   "], both: "identity", why: "only spaces" },
  { values: ["gzip, deflate, br, zstd"], both: "br", br: "br", gzip: "gzip", why: "Chromium" },
  { values: ["gzip, deflate, br"], both: "br", br: "br", gzip: "gzip", why: "older browsers" },
  { values: ["gzip, deflate"], both: "gzip", br: "identity", gzip: "gzip", why: "no br" },
  { values: ["deflate, gzip, br, zstd"], both: "br", why: "curl --compressed" },
  { values: ["br"], both: "br", gzip: "identity", why: "br only" },
  { values: ["gzip"], both: "gzip", br: "identity", why: "gzip only" },
  { values: ["x-gzip"], both: "gzip", why: "x-gzip is gzip (§8.4.1.3)" },
  { values: ["GZIP"], both: "gzip", why: "codings are case-insensitive" },
  { values: ["Br, X-GZip"], both: "br", gzip: "gzip", why: "case-insensitive" },
  { values: ["deflate, zstd, compress"], both: "identity", why: "none the server has" },
  { values: ["br;q=0, gzip"], both: "gzip", br: "identity", why: "br refused" },
  { values: ["br;q=0.5, gzip;q=0.8"], both: "gzip", br: "br", why: "higher weight" },
  { values: ["br;q=0.8, gzip;q=0.8"], both: "br", why: "br first at equal weight" },
  { values: ["gzip;q=1.0, br;q=0.999"], both: "gzip", why: "three decimals count" },
  { values: ["br;q=0.001"], both: "br", why: "the lowest weight above 0" },
  { values: ["br;q=0.000"], both: "identity", why: "0 with decimals is 0" },
  { values: ["gzip;q=0.5"], both: "gzip", why: "unweighed identity is only what is left" },
  { values: ["gzip;q=0.5, identity"], both: "identity", why: "identity preferred by weight" },
  { values: ["gzip;q=0.5, identity;q=0.5"], both: "gzip", why: "a coding first at equal" },
  { values: ["identity"], both: "identity", why: "identity only" },
  { values: ["identity;q=0"], both: "identity", why: "nothing acceptable: identity anyway" },
  { values: ["identity;q=0, gzip"], both: "gzip", br: "identity", why: "gzip, not br" },
  { values: ["*"], both: "br", br: "br", gzip: "gzip", why: "anything" },
  { values: ["*;q=0"], both: "identity", why: "nothing: identity anyway" },
  { values: ["*;q=0, gzip"], both: "gzip", br: "identity", why: "* excludes the unlisted" },
  { values: ["*, br;q=0"], both: "gzip", br: "identity", why: "listed beats *" },
  { values: ["identity, *;q=0.5"], both: "identity", why: "identity by weight over *" },
  { values: ["gzip;q=0, x-gzip"], both: "identity", why: "any q=0 for a coding excludes it" },
  { values: ["br, br;q=0"], both: "identity", why: "duplicates: the lowest weight" },
  { values: ["br ; q=0.5 , gzip ;q=0.4"], both: "br", why: "OWS around ; and ," },
  { values: [",, br ,,"], both: "br", why: "empty list elements" },
  { values: ["br;q=1.5"], both: "identity", why: "qvalue above 1: member ignored" },
  { values: ["br;q=abc, gzip"], both: "gzip", why: "bad qvalue: that member ignored" },
  { values: ["br;q=0.0001"], both: "identity", why: "four decimals: malformed" },
  { values: ["br;q= 0.5"], both: "identity", why: "no space after q=" },
  { values: ["br;level=5"], both: "identity", why: "no parameter but q" },
  { values: ["b r, gzip"], both: "gzip", why: "not a token" },
  { values: ["br\u00ff"], both: "identity", why: "not ASCII" },
  { values: ["br;"], both: "identity", why: "an empty parameter" },
  { values: ["gzip", "br"], both: "br", why: "two field lines are one list" },
  { values: ["br;q=0", "gzip"], both: "gzip", why: "a refusal on another line" },
];

Deno.test("negotiateEncoding(): Accept-Encoding values and available codings → the coding", () => {
  for (const { values, both, br, gzip, why } of CASES) {
    const label = `${JSON.stringify(values)} (${why})`;
    assert.equal(negotiateEncoding(fields(...values), BOTH), both, `${label}, br and gzip`);
    if (br !== undefined) {
      assert.equal(negotiateEncoding(fields(...values), BR), br, `${label}, br`);
    }
    if (gzip !== undefined) {
      assert.equal(negotiateEncoding(fields(...values), GZIP), gzip, `${label}, gzip`);
    }
    // Nothing available but identity: always identity.
    assert.equal(negotiateEncoding(fields(...values), 0), "identity", `${label}, none`);
  }
});

Deno.test("choicesFor(): the same answer parsed, remembered, and past the map's bound", () => {
  const first = choicesFor("gzip;q=0.7, br;q=0.6");
  assert.deepEqual(first, ["identity", "br", "gzip", "gzip"]);
  assert.equal(choicesFor("gzip;q=0.7, br;q=0.6"), first, "remembered");
  // Many distinct values (the map is emptied when full): answers stay right.
  for (let i = 0; i < 300; i++) {
    assert.deepEqual(choicesFor(`br;q=0.${i % 10}, x-${i}`), [
      "identity",
      i % 10 === 0 ? "identity" : "br",
      "identity",
      i % 10 === 0 ? "identity" : "br",
    ]);
  }
  assert.deepEqual(choicesFor("gzip;q=0.7, br;q=0.6"), first);
  // A value too long to remember is parsed each time, with the same answer.
  const long = `${"x-unknown, ".repeat(40)}gzip`;
  assert.deepEqual(choicesFor(long), ["identity", "identity", "gzip", "gzip"]);
});

const CODING_NAMES = ["br", "gzip", "x-gzip", "identity", "*", "deflate", "zstd", "BR", "Gzip"];
const memberArb = fc.record({
  coding: fc.constantFrom(...CODING_NAMES),
  q: fc.option(
    fc.oneof(
      fc.constantFrom("0", "1", "0.5", "0.0", "1.000", "0.001", "0.999"),
      fc.integer({ min: 0, max: 1000 }).map((n) => (n / 1000).toString()),
    ),
  ),
});
const valueArb = fc.array(memberArb, { maxLength: 6 }).map((members) =>
  members.map(({ coding, q }) => q === null ? coding : `${coding};q=${q}`).join(", ")
);

/** Reference weights (thousandths) of one coding: -1 unlisted; the lowest of its members. */
function weightOf(value: string, names: string[]): number {
  let weight = -1;
  for (const member of value.split(",")) {
    const [coding, q] = member.trim().split(";q=");
    if (coding === undefined || !names.includes(coding.toLowerCase())) continue;
    const w = q === undefined ? 1000 : Math.round(Number(q) * 1000);
    weight = weight === -1 ? w : Math.min(weight, w);
  }
  return weight;
}

function acceptable(value: string, coding: "br" | "gzip"): number {
  const own = weightOf(value, coding === "br" ? ["br"] : ["gzip", "x-gzip"]);
  if (own !== -1) return own;
  const star = weightOf(value, ["*"]);
  return star === -1 ? 0 : star;
}

Deno.test("negotiateEncoding(): never a coding weighed 0 or unavailable; always the heaviest", () => {
  fc.assert(
    fc.property(valueArb, fc.integer({ min: 0, max: 3 }), (value, available) => {
      const choice = negotiateEncoding(fields(value), available);
      const br = (available & BR) !== 0 ? acceptable(value, "br") : 0;
      const gzip = (available & GZIP) !== 0 ? acceptable(value, "gzip") : 0;
      if (choice === "br") {
        assert.ok(br > 0, `br chosen at weight ${br} for ${value}`);
        assert.ok(br >= gzip, `br (${br}) chosen over heavier gzip (${gzip}) for ${value}`);
      } else if (choice === "gzip") {
        assert.ok(gzip > 0, `gzip chosen at weight ${gzip} for ${value}`);
        assert.ok(gzip > br, `gzip (${gzip}) chosen over br (${br}) for ${value}`);
      } else {
        // Identity: no coding acceptable, or identity weighed above them.
        let identity = weightOf(value, ["identity"]);
        if (identity === -1) identity = Math.max(0, weightOf(value, ["*"]));
        assert.ok(
          (br === 0 && gzip === 0) || identity > Math.max(br, gzip),
          `identity chosen over br ${br} / gzip ${gzip} for ${value}`,
        );
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("negotiateEncoding(): any string is answered, never thrown on", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 80 }), fc.integer({ min: 0, max: 3 }), (value, avail) => {
      const choice = negotiateEncoding(fields(value), avail);
      assert.ok(["identity", "br", "gzip"].includes(choice));
      if (choice === "br") assert.ok((avail & BR) !== 0);
      if (choice === "gzip") assert.ok((avail & GZIP) !== 0);
    }),
    { numRuns: 2000 },
  );
});
