import assert from "node:assert/strict";
import { acceptLoop, classifyAcceptFailure } from "../../../src/server/accept.ts";

function withCode(code: string, message = `${code} (fake)`): Error {
  return Object.assign(new Error(message), { code });
}

const CLASSES: [string, unknown, string][] = [
  [
    "NotConnected (reset before accept)",
    new Deno.errors.NotConnected("os error 107"),
    "connection",
  ],
  ["ConnectionAborted", new Deno.errors.ConnectionAborted("os error 103"), "connection"],
  ["ConnectionReset", new Deno.errors.ConnectionReset("os error 104"), "connection"],
  ["EPROTO", withCode("EPROTO"), "connection"],
  ["EPERM from a firewall", withCode("EPERM"), "connection"],
  ["EHOSTUNREACH", withCode("EHOSTUNREACH"), "connection"],
  ["EMFILE", withCode("EMFILE"), "exhausted"],
  ["ENFILE", withCode("ENFILE"), "exhausted"],
  ["ENOBUFS", withCode("ENOBUFS"), "exhausted"],
  ["ENOMEM", withCode("ENOMEM"), "exhausted"],
  ["BadResource (listener closed)", new Deno.errors.BadResource("closed"), "closed"],
  ["Interrupted (EINTR) is tried again", new Deno.errors.Interrupted("os error 4"), "connection"],
  ["an error without a code", new Error("something else"), "other"],
  ["EINVAL", withCode("EINVAL"), "other"],
];

for (const [name, error, expected] of CLASSES) {
  Deno.test(`classifyAcceptFailure() ${name} is ${expected}`, () => {
    assert.equal(classifyAcceptFailure(error), expected);
  });
}

/** A listener that fails `accept` with each of `failures` in turn, then yields `conns`. */
function scriptedListener(failures: unknown[], conns: Deno.Conn[]) {
  const pending = [...failures];
  const ready = [...conns];
  let closed = false;
  const listener = {
    addr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
    accept(): Promise<Deno.Conn> {
      if (closed) return Promise.reject(new Deno.errors.BadResource("listener closed"));
      if (pending.length > 0) return Promise.reject(pending.shift());
      const conn = ready.shift();
      if (conn !== undefined) return Promise.resolve(conn);
      closed = true;
      return Promise.reject(new Deno.errors.BadResource("listener closed"));
    },
    close() {
      closed = true;
    },
  };
  return listener as unknown as Deno.Listener;
}

const FAKE_CONN = { close() {} } as unknown as Deno.Conn;

Deno.test("acceptLoop() retries at once after 1000 connections reset before accept", async () => {
  const resets = Array.from(
    { length: 1000 },
    (_, i) =>
      i % 2 === 0
        ? new Deno.errors.NotConnected("Transport endpoint is not connected (os error 107)")
        : new Deno.errors.ConnectionAborted("Software caused connection abort (os error 103)"),
  );
  let lost = 0;
  const served: Deno.Conn[] = [];
  const started = performance.now();
  await acceptLoop(scriptedListener(resets, [FAKE_CONN]), {
    stopping: () => false,
    onConnection: (conn) => served.push(conn),
    onLostConnection: () => lost++,
  });
  const elapsed = performance.now() - started;
  assert.equal(lost, 1000);
  assert.deepEqual(served, [FAKE_CONN]);
  // With a back-off per reset (5 ms doubling to 1 s) this took minutes.
  assert.ok(elapsed < 1000, `the loop took ${elapsed.toFixed(0)} ms`);
});

Deno.test("acceptLoop() backs off after descriptor exhaustion, doubling, and resets after an accept", async () => {
  const emfile = () => withCode("EMFILE", "Too many open files (os error 24)");
  const served: number[] = [];
  const started = performance.now();
  const listener = scriptedListener([emfile(), emfile(), emfile()], [FAKE_CONN]);
  await acceptLoop(listener, {
    stopping: () => false,
    onConnection: () => served.push(performance.now() - started),
    onLostConnection: () => assert.fail("exhaustion is not a lost connection"),
  });
  assert.equal(served.length, 1);
  // 5 + 10 + 20 ms of back-off before the connection could be taken.
  assert.ok(served[0]! >= 30, `accepted after ${served[0]!.toFixed(1)} ms`);
});

Deno.test("acceptLoop() closes connections accepted once the server is stopping", async () => {
  let closedConns = 0;
  const conn = { close: () => closedConns++ } as unknown as Deno.Conn;
  await acceptLoop(scriptedListener([], [conn, conn]), {
    stopping: () => true,
    onConnection: () => assert.fail("no connection is served while stopping"),
    onLostConnection: () => {},
  });
  assert.equal(closedConns, 2);
});
