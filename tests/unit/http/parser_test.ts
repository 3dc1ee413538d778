/**
 * RequestParser against the vectors of tests/vectors/requests.ts, each row run three ways
 * (h11 style): the whole input in one feed, one byte per feed, and the whole input followed by
 * the start of another request, which must stay buffered as "need more" rather than fail.
 */

import assert from "node:assert/strict";
import { type ParseEvent, type RequestHead, RequestParser } from "../../../src/http/parser.ts";
import { HttpError } from "../../../src/http/status.ts";
import {
  type ExpectedRequest,
  fromBytes,
  REQUEST_VECTORS,
  type RequestVector,
  toBytes,
  TRAILING_PARTIAL,
  VECTOR_LIMITS,
} from "../../vectors/requests.ts";

type Mode = "whole" | "bytewise" | "trailing";
const MODES: readonly Mode[] = ["whole", "bytewise", "trailing"];

interface Collected {
  head: RequestHead;
  body: Uint8Array[];
  ended: boolean;
}

/** Pulls events until "need-more", checking their order; body views are copied. */
function drain(parser: RequestParser, out: Collected[], maxEvents: number): void {
  for (let i = 0; i < maxEvents; i++) {
    const event: ParseEvent = parser.next();
    const current = out.at(-1);
    switch (event.kind) {
      case "need-more":
        return;
      case "head":
        assert.ok(current === undefined || current.ended, "head before the previous request ended");
        out.push({ head: event.head, body: [], ended: false });
        break;
      case "body":
        assert.ok(current !== undefined && !current.ended, "body outside a request");
        current.body.push(event.data.slice());
        break;
      case "end":
        assert.ok(current !== undefined && !current.ended, "end outside a request");
        current.ended = true;
        break;
    }
  }
  assert.fail(`no "need-more" after ${maxEvents} events`);
}

/** Feeds `bytes` to `parser` as the mode says and collects what comes out; rethrows errors. */
function runParser(parser: RequestParser, bytes: Uint8Array, mode: Mode): Collected[] {
  const requests: Collected[] = [];
  const maxEvents = 4 * bytes.length + 16;
  if (mode === "bytewise") {
    for (let i = 0; i < bytes.length; i++) {
      parser.feed(bytes.subarray(i, i + 1));
      drain(parser, requests, maxEvents);
    }
  } else {
    parser.feed(bytes);
    drain(parser, requests, maxEvents);
  }
  return requests;
}

function inputFor(row: RequestVector, mode: Mode): Uint8Array {
  return toBytes(mode === "trailing" ? row.input + TRAILING_PARTIAL : row.input);
}

function bodyText(parts: Uint8Array[]): string {
  return parts.map(fromBytes).join("");
}

function assertRequest(got: Collected, want: ExpectedRequest, label: string): void {
  const { head } = got;
  assert.ok(got.ended, `${label}: the request did not end`);
  assert.equal(head.method, want.method, `${label}: method`);
  assert.equal(head.target, want.target, `${label}: target`);
  assert.equal(head.minor, want.minor, `${label}: minor version`);
  if (want.host !== undefined) assert.equal(head.host, want.host, `${label}: host`);
  if (want.keepAlive !== undefined) {
    assert.equal(head.keepAlive, want.keepAlive, `${label}: keepAlive`);
  }
  if (want.chunked !== undefined) assert.equal(head.chunked, want.chunked, `${label}: chunked`);
  if (want.contentLength !== undefined) {
    assert.equal(head.contentLength, want.contentLength, `${label}: contentLength`);
  }
  assert.equal(bodyText(got.body), want.body ?? "", `${label}: body`);
  // The expected fields must appear in this order (other fields may sit between them).
  const pairs = head.fields.names.map((name, i) => [name, head.fields.values[i]]);
  let from = 0;
  for (const [name, value] of want.fields ?? []) {
    let found = -1;
    for (let i = from; i < pairs.length; i++) {
      if (pairs[i]?.[0] === name && pairs[i]?.[1] === value) {
        found = i;
        break;
      }
    }
    assert.ok(
      found >= 0,
      `${label}: field ${JSON.stringify([name, value])} missing or out of order in ` +
        JSON.stringify(pairs),
    );
    from = found + 1;
  }
}

function statusOf(error: unknown): number {
  assert.ok(error instanceof HttpError, `expected HttpError, got ${error}`);
  return error.status;
}

for (const row of REQUEST_VECTORS) {
  const expect = row.expect;
  for (const mode of MODES) {
    if ("error" in expect) {
      Deno.test(`RequestParser.next() throws ${expect.error}: ${row.name} (${mode})`, () => {
        const parser = new RequestParser({ ...VECTOR_LIMITS, ...row.limits });
        let thrown: unknown = undefined;
        try {
          runParser(parser, inputFor(row, mode), mode);
        } catch (error) {
          thrown = error;
        }
        assert.ok(thrown !== undefined, "the input was accepted; expected an HttpError");
        assert.equal(statusOf(thrown), expect.error, `status (${(thrown as Error).message})`);
        // After an error the parser is unusable: it keeps refusing, even given more bytes.
        assert.throws(() => parser.next(), HttpError);
        parser.feed(toBytes("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
        assert.throws(() => parser.next(), HttpError);
      });
    } else {
      Deno.test(`RequestParser.next() parses: ${row.name} (${mode})`, () => {
        const parser = new RequestParser({ ...VECTOR_LIMITS, ...row.limits });
        const requests = runParser(parser, inputFor(row, mode), mode);
        assert.equal(requests.length, expect.requests.length, "number of requests");
        expect.requests.forEach((want, i) => assertRequest(requests[i]!, want, `request ${i}`));
        const leftover = mode === "trailing" ? TRAILING_PARTIAL.length : 0;
        assert.equal(parser.buffered, leftover, "bytes left buffered");
        assert.equal(parser.headStarted, mode === "trailing", "headStarted");
        assert.equal(parser.next().kind, "need-more", "need-more is stable");
      });
    }
  }
}
