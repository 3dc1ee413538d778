import assert from "node:assert/strict";
import {
  type ExchangeOutcome,
  keepAliveAfter,
  statusEndsConnection,
} from "../../../src/http/persistence.ts";

const BASE: ExchangeOutcome = {
  requested: true,
  status: 200,
  requestsServed: 1,
  maxRequests: 100,
  stopping: false,
  continuePending: false,
};

const CASES: [string, Partial<ExchangeOutcome>, boolean][] = [
  ["a persistent request answered 200", {}, true],
  ["the request asked to close", { requested: false }, false],
  ["the 99th request of 100", { requestsServed: 99 }, true],
  ["the 100th request of 100", { requestsServed: 100 }, false],
  ["the server is stopping", { stopping: true }, false],
  ["100 Continue was asked for and never sent", { continuePending: true }, false],
  ["404 keeps the connection", { status: 404 }, true],
  ["403 keeps the connection", { status: 403 }, true],
  ["405 keeps the connection", { status: 405 }, true],
  ["415 keeps the connection", { status: 415 }, true],
  ["429 keeps the connection", { status: 429 }, true],
  ["304 keeps the connection", { status: 304 }, true],
  ["206 keeps the connection", { status: 206 }, true],
  ["400 ends it", { status: 400 }, false],
  ["408 ends it", { status: 408 }, false],
  ["413 ends it", { status: 413 }, false],
  ["414 ends it", { status: 414 }, false],
  ["417 ends it", { status: 417 }, false],
  ["431 ends it", { status: 431 }, false],
  ["500 ends it", { status: 500 }, false],
  ["503 ends it", { status: 503 }, false],
  ["507 ends it", { status: 507 }, false],
  ["a closing request stays closed on 404", { requested: false, status: 404 }, false],
];

for (const [name, change, expected] of CASES) {
  Deno.test(`keepAliveAfter() ${expected ? "keeps" : "closes"}: ${name}`, () => {
    assert.equal(keepAliveAfter({ ...BASE, ...change }), expected);
  });
}

Deno.test("statusEndsConnection() is true for every 5xx and false for 2xx-3xx", () => {
  for (let status = 500; status < 600; status++) assert.equal(statusEndsConnection(status), true);
  for (let status = 200; status < 400; status++) assert.equal(statusEndsConnection(status), false);
});
