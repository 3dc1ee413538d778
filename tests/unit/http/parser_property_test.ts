/**
 * Property-based tests of RequestParser (fast-check): split invariance over valid request
 * streams, total behaviour under byte mutations, and the bound on bytes buffered for a head.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { type ParserLimits, type RequestHead, RequestParser } from "../../../src/http/parser.ts";
import { HttpError } from "../../../src/http/status.ts";

const LIMITS: ParserLimits = { maxHeadBytes: 8192, maxHeaderCount: 100, maxBodyBytes: 8192 };

// ---- a model of valid requests and its serialisation --------------------------------------------

interface ModelRequest {
  leadingEmptyLines: number;
  method: string;
  target: string;
  minor: 0 | 1;
  host: string | null;
  /** Extra fields; names never collide with the framing and connection fields. */
  fields: Array<[string, string]>;
  connection: "none" | "close" | "keep-alive";
  framing: "none" | "length" | "chunked";
  body: Uint8Array;
  /** Chunked: sizes of the chunks the body is cut into, and their presentation. */
  chunkSizes: number[];
  upperHex: boolean;
  extension: string | null;
  trailers: Array<[string, string]>;
}

const TOKEN_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";

function charsOf(alphabet: string, minLength: number, maxLength: number) {
  return fc.array(fc.constantFrom(...alphabet), { minLength, maxLength }).map((a) => a.join(""));
}

const tokenArb = charsOf(TOKEN_CHARS, 1, 10);
const targetArb = charsOf("abcdefghijklmnopqrstuvwxyz0123456789-._~%/?=&", 0, 24).map((s) =>
  `/${s}`
);
/** A field value with no leading or trailing whitespace: visible ASCII or obs-text, inner SP/HTAB. */
const valueArb = fc.array(
  fc.oneof(
    fc.integer({ min: 0x21, max: 0x7e }),
    fc.integer({ min: 0x80, max: 0xff }),
    fc.constantFrom(0x20, 0x09),
  ),
  { maxLength: 24 },
).map((codes) => String.fromCharCode(...codes).replace(/^[ \t]+|[ \t]+$/g, ""));
const fieldArb = fc.tuple(tokenArb.map((name) => `X-${name}`), valueArb) as fc.Arbitrary<
  [string, string]
>;

const requestArb: fc.Arbitrary<ModelRequest> = fc.record({
  leadingEmptyLines: fc.nat({ max: 2 }),
  method: fc.constantFrom("GET", "HEAD", "POST", "PUT", "DELETE", "get", "M-SEARCH"),
  target: targetArb,
  minor: fc.constantFrom(0 as const, 1 as const),
  host: fc.option(charsOf("abcdefghijklmnopqrstuvwxyz0123456789.:-", 0, 20), { nil: null }),
  fields: fc.array(fieldArb, { maxLength: 6 }),
  connection: fc.constantFrom("none" as const, "close" as const, "keep-alive" as const),
  framing: fc.constantFrom("none" as const, "length" as const, "chunked" as const),
  body: fc.uint8Array({ minLength: 1, maxLength: 300 }),
  chunkSizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
  upperHex: fc.boolean(),
  extension: fc.option(fc.constantFrom(";a=b", ' ; name="v w"', ";x"), { nil: null }),
  trailers: fc.array(fieldArb, { maxLength: 3 }),
}).map((r) => {
  // HTTP/1.1 needs exactly one Host; chunked is HTTP/1.1 only (RFC 9112 §3.2, §6.1).
  const host = r.minor === 1 && r.host === null ? "localhost" : r.host;
  const framing = r.minor === 0 && r.framing === "chunked" ? "length" : r.framing;
  const body = framing === "none" ? new Uint8Array(0) : r.body;
  return { ...r, host, framing, body };
});

function latin1Bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function serialise(r: ModelRequest): Uint8Array {
  let head = "\r\n".repeat(r.leadingEmptyLines);
  head += `${r.method} ${r.target} HTTP/1.${r.minor}\r\n`;
  if (r.host !== null) head += `Host: ${r.host}\r\n`;
  for (const [name, value] of r.fields) head += `${name}: ${value}\r\n`;
  if (r.connection !== "none") head += `Connection: ${r.connection}\r\n`;
  if (r.framing === "length") head += `Content-Length: ${r.body.length}\r\n`;
  if (r.framing === "chunked") head += "Transfer-Encoding: chunked\r\n";
  head += "\r\n";
  const parts = [latin1Bytes(head)];
  if (r.framing === "length") parts.push(r.body);
  if (r.framing === "chunked") {
    let at = 0;
    let i = 0;
    while (at < r.body.length) {
      const size = Math.min(r.chunkSizes[i++ % r.chunkSizes.length]!, r.body.length - at);
      const hex = size.toString(16);
      parts.push(latin1Bytes(`${r.upperHex ? hex.toUpperCase() : hex}${r.extension ?? ""}\r\n`));
      parts.push(r.body.subarray(at, at + size), latin1Bytes("\r\n"));
      at += size;
    }
    let last = `0${r.extension ?? ""}\r\n`;
    for (const [name, value] of r.trailers) last += `${name}: ${value}\r\n`;
    parts.push(latin1Bytes(`${last}\r\n`));
  }
  return concat(parts);
}

// ---- driving the parser -------------------------------------------------------------------------

interface Parsed {
  head: RequestHead;
  body: Uint8Array;
  ended: boolean;
}

/** Pulls events until "need-more" (at most `maxEvents`); body views are copied. */
function drain(parser: RequestParser, out: Parsed[], maxEvents: number): void {
  for (let i = 0; i < maxEvents; i++) {
    const event = parser.next();
    const current = out.at(-1);
    if (event.kind === "need-more") return;
    if (event.kind === "head") {
      assert.ok(current === undefined || current.ended, "head inside a request");
      out.push({ head: event.head, body: new Uint8Array(0), ended: false });
    } else if (event.kind === "body") {
      assert.ok(current !== undefined && !current.ended, "body outside a request");
      current.body = concat([current.body, event.data]);
    } else {
      assert.ok(current !== undefined && !current.ended, "end outside a request");
      current.ended = true;
    }
  }
  assert.fail(`no "need-more" after ${maxEvents} events: the parser does not make progress`);
}

/** Feeds `bytes` cut at `cuts` (sorted offsets) and parses everything; returns what is left. */
function parsePieces(
  bytes: Uint8Array,
  cuts: number[],
  limits = LIMITS,
): { requests: Parsed[]; buffered: number } {
  const parser = new RequestParser(limits);
  const out: Parsed[] = [];
  const maxEvents = 4 * bytes.length + 16;
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    parser.feed(bytes.subarray(from, cut));
    from = cut;
    drain(parser, out, maxEvents);
  }
  return { requests: out, buffered: parser.buffered };
}

function cutsArb(length: number): fc.Arbitrary<number[]> {
  return fc.uniqueArray(fc.integer({ min: 0, max: length }), { maxLength: 24 }).map((cuts) =>
    cuts.sort((a, b) => a - b)
  );
}

function assertMatchesModel(got: Parsed[], model: ModelRequest[]): void {
  assert.equal(got.length, model.length, "number of requests");
  model.forEach((want, i) => {
    const { head, body, ended } = got[i]!;
    assert.ok(ended, `request ${i} ended`);
    assert.equal(head.method, want.method);
    assert.equal(head.target, want.target);
    assert.equal(head.minor, want.minor);
    assert.equal(head.host, want.host);
    assert.equal(head.chunked, want.framing === "chunked");
    const keepAlive = want.connection === "close"
      ? false
      : want.connection === "keep-alive" || want.minor === 1;
    assert.equal(head.keepAlive, keepAlive);
    for (const [name, value] of want.fields) {
      assert.ok(head.fields.getAll(name.toLowerCase()).includes(value), `field ${name}`);
    }
    assert.deepEqual(body, want.body, `body of request ${i}`);
  });
}

// ---- properties ---------------------------------------------------------------------------------

Deno.test("RequestParser.next() yields the same requests and bodies for any split of a stream", () => {
  const streamArb = fc.array(requestArb, { minLength: 1, maxLength: 4 }).chain((model) => {
    const bytes = concat(model.map(serialise));
    return fc.tuple(fc.constant(model), fc.constant(bytes), cutsArb(bytes.length));
  });
  fc.assert(
    fc.property(streamArb, ([model, bytes, cuts]) => {
      for (const split of [[], cuts]) {
        const { requests, buffered } = parsePieces(bytes, split);
        assertMatchesModel(requests, model);
        assert.equal(buffered, 0, "bytes left over");
      }
    }),
    { numRuns: 1000 },
  );
});

type Mutation = { kind: "flip" | "insert" | "delete" | "set"; at: number; byte: number };

function mutate(bytes: Uint8Array, mutations: Mutation[]): Uint8Array {
  const out = Array.from(bytes);
  for (const m of mutations) {
    if (out.length === 0) break;
    const at = m.at % out.length;
    if (m.kind === "flip") out[at] = out[at]! ^ (1 << (m.byte % 8));
    else if (m.kind === "set") out[at] = m.byte;
    else if (m.kind === "insert") out.splice(at, 0, m.byte);
    else out.splice(at, 1);
  }
  return Uint8Array.from(out);
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom("flip" as const, "insert" as const, "delete" as const, "set" as const),
  at: fc.nat(),
  // Bias towards the bytes that matter to the grammar.
  byte: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x0d, 0x0a, 0x20, 0x3a, 0x09)),
});

const limitsArb: fc.Arbitrary<ParserLimits> = fc.oneof(
  fc.constant(LIMITS),
  fc.record({
    maxHeadBytes: fc.integer({ min: 16, max: 512 }),
    maxHeaderCount: fc.integer({ min: 1, max: 8 }),
    maxBodyBytes: fc.integer({ min: 0, max: 300 }),
  }),
);

Deno.test("RequestParser.next() either parses mutated requests or throws HttpError 4xx/5xx", () => {
  const caseArb = fc.array(requestArb, { minLength: 1, maxLength: 2 }).chain((model) => {
    const bytes = concat(model.map(serialise));
    return fc.tuple(
      fc.array(mutationArb, { minLength: 1, maxLength: 4 }).map((ms) => mutate(bytes, ms)),
      limitsArb,
    ).chain(([mutated, limits]) =>
      fc.tuple(fc.constant(mutated), fc.constant(limits), cutsArb(mutated.length))
    );
  });
  let accepted = 0;
  let refused = 0;
  fc.assert(
    fc.property(caseArb, ([bytes, limits, cuts]) => {
      try {
        // drain() fails the property if next() keeps returning events without "need-more".
        parsePieces(bytes, cuts, limits);
        accepted++;
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assert.ok(error instanceof HttpError, `not an HttpError: ${error}`);
        assert.ok(error.status >= 400 && error.status <= 599, `status ${error.status}`);
        refused++;
      }
    }),
    { numRuns: 5000 },
  );
  // Both outcomes must actually occur, or the property says nothing.
  assert.ok(accepted > 0 && refused > 0, `accepted ${accepted}, refused ${refused}`);
});

Deno.test("RequestParser.next() throws 414/431 once a head outgrows maxHeadBytes, not later", () => {
  const caseArb = fc.record({
    maxHeadBytes: fc.integer({ min: 64, max: 2048 }),
    leadingEmptyLines: fc.nat({ max: 2 }),
    requestLine: fc.boolean(),
    fields: fc.array(fieldArb, { maxLength: 2 }),
    // Junk without LF: a line that never ends.
    pieces: fc.array(
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((p) =>
        p.map((b) => b === 0x0a ? 0x78 : b)
      ),
      { minLength: 1, maxLength: 8 },
    ),
  });
  fc.assert(
    fc.property(caseArb, (c) => {
      const parser = new RequestParser({ ...LIMITS, maxHeadBytes: c.maxHeadBytes });
      let prefix = "\r\n".repeat(c.leadingEmptyLines);
      if (c.requestLine) {
        prefix += "GET / HTTP/1.1\r\n";
        for (const [name, value] of c.fields) prefix += `${name}: ${value}\r\n`;
      }
      const first = c.pieces[0]!;
      // A CR where the request line should start would be a (correct) 400 for a bare CR.
      if (!c.requestLine && first[0] === 0x0d) first[0] = 0x78;
      const feeds = [latin1Bytes(prefix), ...c.pieces];
      let total = 0;
      for (let i = 0; total <= c.maxHeadBytes; i++) {
        const piece = feeds[i < feeds.length ? i : 1 + (i - 1) % c.pieces.length]!;
        parser.feed(piece);
        total += piece.length;
        if (total <= c.maxHeadBytes) {
          assert.equal(parser.next().kind, "need-more", `after ${total} bytes`);
          assert.ok(parser.buffered <= c.maxHeadBytes, `buffered ${parser.buffered}`);
          continue;
        }
        // The feed that takes the head past the limit is refused, with everything buffered so
        // far being at most maxHeadBytes plus that one feed.
        assert.ok(parser.buffered <= c.maxHeadBytes + piece.length);
        let status = 0;
        try {
          parser.next();
        } catch (error) {
          assert.ok(error instanceof HttpError, `not an HttpError: ${error}`);
          status = error.status;
        }
        assert.equal(status, c.requestLine ? 431 : 414, `after ${total} bytes`);
      }
    }),
    { numRuns: 1000 },
  );
});
