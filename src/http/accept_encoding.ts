/**
 * Accept-Encoding (RFC 9110 §12.5.3): which content coding of a representation a request gets,
 * among the ones the server holds for it (`BR`, `GZIP`, or both, as a bit mask).
 *
 * Invariants:
 * - A coding is chosen only when the field makes it acceptable: listed with a weight above 0,
 *   or matched by `*` with one. A coding listed more than once (`gzip` and its alias `x-gzip`,
 *   §8.4.1.3, included) takes its lowest weight, so any `q=0` for it excludes it. A member
 *   that does not follow the grammar (`coding *( OWS ";" OWS weight )`) counts for nothing.
 * - Among acceptable codings the highest weight wins; at equal weights br before gzip, and a
 *   coding before identity (it is the smaller representation). Identity competes only when the
 *   field weighs it (`identity;q=…` or `*`); otherwise it is what is left.
 * - When no available coding is acceptable, identity: also when the field excludes identity
 *   (`identity;q=0`, `*;q=0`), since §12.5.3 prefers a response without coding to a 406 there.
 * - No field: identity. §12.5.3 lets a server pick any coding then, but a client that did not
 *   ask (curl without --compressed, wrk, scripts) may not decode one. An empty field: identity.
 * - The hot path allocates nothing: the values browsers send are recognised by comparison, and
 *   any other value is parsed once and its answer kept in a small bounded map.
 */

import type { FieldList } from "./fields.ts";
import { isToken } from "./fields.ts";

export type Coding = "identity" | "br" | "gzip";

/** Bits of the `available` mask: the codings a representation exists in besides identity. */
export const BR = 1;
export const GZIP = 2;

/** The coding chosen for each `available` mask (0 to 3): what one field value asks for. */
export type Choices = readonly [Coding, Coding, Coding, Coding];

/** Weights are kept in thousandths (qvalue has at most three decimals, §12.4.2). */
const FULL = 1000;
/** A coding the field does not name, not even by `*`. */
const UNLISTED = -1;

/** br where the representation has it, else gzip, else identity. */
const BR_THEN_GZIP: Choices = ["identity", "br", "gzip", "br"];
/** gzip where it exists; nothing else is acceptable. */
const GZIP_ONLY: Choices = ["identity", "identity", "gzip", "gzip"];
const IDENTITY_ONLY: Choices = ["identity", "identity", "identity", "identity"];

/**
 * The values browsers send, answered without parsing: Chromium, Firefox and Safari today, and
 * without zstd (older versions; Chromium over plain HTTP).
 */
const KNOWN: ReadonlyMap<string, Choices> = new Map([
  ["gzip, deflate, br, zstd", BR_THEN_GZIP],
  ["gzip, deflate, br", BR_THEN_GZIP],
  ["gzip, deflate", GZIP_ONLY],
]);

/** Distinct other values remembered; the map is emptied when full. */
const MAX_REMEMBERED = 64;
/** Longer values are parsed every time rather than kept (they are not what clients send). */
const MAX_REMEMBERED_LENGTH = 256;
const remembered = new Map<string, Choices>();

/**
 * The coding the request in `fields` gets for a representation available in `available`
 * (`BR | GZIP` bits) besides identity.
 */
export function negotiateEncoding(fields: FieldList, available: number): Coding {
  const value = acceptEncodingValue(fields);
  if (value === null) return "identity";
  return (choicesFor(value)[available & 3] as Coding);
}

/** The Accept-Encoding field value, several field lines joined as one list (§5.3); or null. */
function acceptEncodingValue(fields: FieldList): string | null {
  const { names } = fields;
  const first = names.indexOf("accept-encoding");
  if (first < 0) return null;
  if (names.lastIndexOf("accept-encoding") === first) return fields.values[first] as string;
  return fields.getAll("accept-encoding").join(", ");
}

/** What a field value asks for, for every `available` mask. */
export function choicesFor(value: string): Choices {
  const known = KNOWN.get(value) ?? remembered.get(value);
  if (known !== undefined) return known;
  const choices = parseChoices(value);
  if (value.length <= MAX_REMEMBERED_LENGTH) {
    if (remembered.size >= MAX_REMEMBERED) remembered.clear();
    remembered.set(value, choices);
  }
  return choices;
}

/** Parses a field value into its choices (see the invariants). */
function parseChoices(value: string): Choices {
  let br = UNLISTED;
  let gzip = UNLISTED;
  let identity = UNLISTED;
  let star = UNLISTED;
  for (const member of value.split(",")) {
    const parsed = parseMember(member);
    if (parsed === null) continue;
    const [coding, weight] = parsed;
    if (coding === "br") br = lower(br, weight);
    else if (coding === "gzip" || coding === "x-gzip") gzip = lower(gzip, weight);
    else if (coding === "identity") identity = lower(identity, weight);
    else if (coding === "*") star = lower(star, weight);
  }
  // `*` stands for every coding the field does not name (§12.5.3). Identity the field does not
  // weigh (by name or by `*`) is acceptable but states no preference: it is what is left when
  // no coding is acceptable, never preferred to one the client listed (`gzip;q=0.5`).
  if (br === UNLISTED) br = star === UNLISTED ? 0 : star;
  if (gzip === UNLISTED) gzip = star === UNLISTED ? 0 : star;
  if (identity === UNLISTED) identity = star === UNLISTED ? 0 : star;
  const choices = [0, 1, 2, 3].map((available) => {
    let choice: Coding = "identity";
    let weight = 0;
    if ((available & BR) !== 0 && br > 0) {
      choice = "br";
      weight = br;
    }
    if ((available & GZIP) !== 0 && gzip > weight) {
      choice = "gzip";
      weight = gzip;
    }
    if (identity > weight) choice = "identity";
    return choice;
  }) as unknown as Choices;
  // Share the common answers, so remembered values hold no arrays of their own.
  for (const shared of [BR_THEN_GZIP, GZIP_ONLY, IDENTITY_ONLY]) {
    if (shared.every((coding, i) => coding === choices[i])) return shared;
  }
  return choices;
}

function lower(current: number, weight: number): number {
  return current === UNLISTED ? weight : Math.min(current, weight);
}

/**
 * One list member: `coding *( OWS ";" OWS weight )`, the coding lower-cased (codings are
 * case-insensitive, §8.4.1) with its weight in thousandths (1000 without one); null when
 * empty or malformed.
 */
function parseMember(member: string): [string, number] | null {
  const parts = member.split(";");
  const coding = (parts[0] as string).trim().toLowerCase();
  if (!isToken(coding)) return null;
  let weight = FULL;
  for (let i = 1; i < parts.length; i++) {
    const parameter = (parts[i] as string).trim();
    if (parameter.length < 2 || (parameter[0] !== "q" && parameter[0] !== "Q")) return null;
    if (parameter[1] !== "=") return null;
    const q = qvalue(parameter.slice(2));
    if (q === null) return null;
    weight = q;
  }
  return [coding, weight];
}

/** qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) (§12.4.2), in thousandths. */
function qvalue(text: string): number | null {
  if (!/^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/.test(text)) return null;
  return Math.round(Number(text) * FULL);
}
