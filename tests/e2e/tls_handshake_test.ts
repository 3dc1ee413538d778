/**
 * TLS handshakes as the network really sends them: clients that connect and stall mid-handshake
 * (nothing sent, or part of a ClientHello), plain HTTP sent to the TLS port, clients that refuse
 * the certificate. None may delay a normal HTTPS request, hold a worker, crash the server or
 * flood the log: each stalled one is given up at the handshake timeout, each failure is one debug
 * line with its peer, and one info line per period sums them up. The server runs in this
 * process, its log captured (tests/helpers/log_capture.ts).
 */

import assert from "node:assert/strict";
import { captureLogs } from "../helpers/log_capture.ts";
import { RawClient, requestHead } from "../helpers/raw_client.ts";
import { startTestServer, tempRoot, waitFor, withServer } from "../helpers/server.ts";
import { IGNORE_WITHOUT_TLS_TOOLS, tlsClient, tlsServer } from "../helpers/tls_certs.ts";
import type { ServerConfig } from "../../src/config.ts";
import type { RunningServer } from "../../src/server/listener.ts";

async function withTls(
  overrides: Partial<ServerConfig>,
  fn: (server: RunningServer) => Promise<void>,
): Promise<void> {
  await using root = await tempRoot({ files: ["index.html", "notes.txt"] });
  await withServer({ root: root.path, ...await tlsServer(), ...overrides }, fn);
}

/** The ClientHello Deno's TLS client sends, captured by a plain TCP listener. */
async function clientHello(): Promise<Uint8Array> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const client = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [] });
  const handshake = client.handshake().catch(() => {});
  const server = await listener.accept();
  const hello = new Uint8Array(4096);
  const n = (await server.read(hello)) ?? 0;
  server.close();
  client.close();
  listener.close();
  await handshake;
  assert.ok(n > 100 && hello[0] === 0x16, "not a TLS handshake record");
  return hello.slice(0, n);
}

/** Resolves with the ms until the server ends `conn` (EOF, reset or alert then EOF). */
async function closedAfter(conn: Deno.Conn, since: number, timeoutMs: number): Promise<number> {
  const buffer = new Uint8Array(1024);
  const deadline = AbortSignal.timeout(timeoutMs);
  for (;;) {
    if (deadline.aborted) throw new Error(`still open after ${timeoutMs} ms`);
    let n: number | null;
    try {
      n = await Promise.race([
        conn.read(buffer),
        new Promise<never>((_, reject) =>
          deadline.addEventListener("abort", () => reject(new Error("timed out")))
        ),
      ]);
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) return performance.now() - since;
      throw error;
    }
    if (n === null) return performance.now() - since;
  }
}

/** One fresh HTTPS GET; the ms it took, handshake included. */
async function timedGet(port: number): Promise<number> {
  const started = performance.now();
  using client = await RawClient.connect(port, await tlsClient());
  await client.send(requestHead(port, "/notes.txt"));
  assert.equal((await client.response({ timeoutMs: 5000 })).status, 200);
  return performance.now() - started;
}

function tlsTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: IGNORE_WITHOUT_TLS_TOOLS,
    sanitizeResources: false,
    sanitizeOps: false,
    fn,
  });
}

const STALLED = 50;
const HANDSHAKE_TIMEOUT_MS = 1500;

/** True when `conn` is still open: no EOF arrives within `ms`. */
async function stillOpen(conn: Deno.Conn, ms: number): Promise<boolean> {
  try {
    await closedAfter(conn, 0, ms);
    return false;
  } catch (error) {
    const message = (error as Error).message;
    if (message.startsWith("still open") || message === "timed out") return true;
    throw error;
  }
}

tlsTest(
  `${STALLED} connections stalled mid-handshake delay no HTTPS request, hold no worker, and are given up at the timeout`,
  async () => {
    await using logs = await captureLogs();
    const hello = await clientHello();
    const config = {
      poolSize: 1,
      tlsHandshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      tlsFailureSummaryMs: 1000,
    };
    await withTls(config, async (server) => {
      const opened = performance.now();
      const stalled: Deno.Conn[] = [];
      try {
        for (let i = 0; i < STALLED; i++) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
          // Half send nothing; half stop 40 bytes into their ClientHello.
          if (i % 2 === 1) await conn.write(hello.subarray(0, 40));
          stalled.push(conn);
        }
        await waitFor(() => server.handshakes()?.handshaking === STALLED, {
          what: () => `${STALLED} handshakes in progress: ${JSON.stringify(server.handshakes())}`,
        });
        // Normal requests meanwhile: each answered at once, by the one worker.
        const times = [];
        for (let i = 0; i < 5; i++) times.push(await timedGet(server.port));
        assert.ok(Math.max(...times) < 300, `a request took ${Math.max(...times).toFixed(0)} ms`);
        await waitFor(() => server.state.connections.size === 0, {
          what: "the served connections to end",
        });
        assert.equal(server.state.pool.snapshot().busy, 0, "a stalled handshake holds a worker");
        assert.ok(performance.now() - opened < HANDSHAKE_TIMEOUT_MS, "the test was too slow");

        // At the timeout every one is given up: counted, logged at debug, never served.
        await waitFor(() => server.handshakes()?.held === STALLED, {
          timeoutMs: HANDSHAKE_TIMEOUT_MS + 2000,
          what: () => `${STALLED} given up: ${JSON.stringify(server.handshakes())}`,
        });
        const givenUpAfter = performance.now() - opened;
        assert.ok(givenUpAfter >= HANDSHAKE_TIMEOUT_MS - 50, `given up after ${givenUpAfter} ms`);
        assert.deepEqual(server.handshakes(), {
          handshaking: 0,
          held: STALLED,
          failed: STALLED,
          completed: 5,
        });
        const timedOut = () =>
          logs.lines.filter((l) =>
            /^debug TLS handshake from 127\.0\.0\.1:\d+ failed \(timed out\)/.test(l)
          );
        assert.equal(timedOut().length, STALLED);
        const summary = new RegExp(
          `^info TLS handshakes in the last \\d+ s: ${STALLED} failed \\(${STALLED} timed out\\).*` +
            `${STALLED} given up but held open by their peers`,
        );
        await waitFor(() => logs.lines.some((l) => summary.test(l)), {
          what: () =>
            `the summary line in:\n${logs.lines.filter((l) => !l.startsWith("debug")).join("\n")}`,
        });
        assert.ok((await timedGet(server.port)) < 300, "still serving");

        // Deno (2.9) cannot close a socket mid-handshake: the peer still sees it open ...
        assert.ok(await stillOpen(stalled.at(-1)!, 300), "Deno closed a stalled handshake");
        // ... until it sends something (then closed at once) or closes it (then forgotten).
        // 2 KiB of junk completes any record a partial ClientHello began, and breaks it.
        const talkers = stalled.slice(0, 10);
        for (const conn of talkers) await conn.write(new Uint8Array(2048).fill(0x41));
        const closedBy = await Promise.all(
          talkers.map((conn) => closedAfter(conn, performance.now(), 2000)),
        );
        assert.ok(Math.max(...closedBy) < 1000);
        for (const conn of stalled.splice(0)) conn.close();
        await waitFor(() => server.handshakes()?.held === 0, {
          what: () => `no socket held: ${JSON.stringify(server.handshakes())}`,
        });
        assert.equal(server.handshakes()?.failed, STALLED, "a given-up one was counted twice");
      } finally {
        for (const conn of stalled) conn.close();
      }
    });
  },
);

tlsTest(
  "at tlsMaxPendingHandshakes the listener waits for one to end before accepting more",
  async () => {
    await using logs = await captureLogs();
    await withTls({ tlsMaxPendingHandshakes: 5, tlsHandshakeTimeoutMs: 60_000 }, async (server) => {
      const stalled = await Promise.all(
        Array.from({ length: 5 }, () => Deno.connect({ hostname: "127.0.0.1", port: server.port })),
      );
      try {
        await waitFor(() => server.handshakes()?.handshaking === 5);
        let done = false;
        const request = timedGet(server.port).then((ms) => {
          done = true;
          return ms;
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(done, false, "a sixth connection was accepted beyond the bound");
        stalled.shift()!.close();
        const started = performance.now();
        await request;
        assert.ok(
          performance.now() - started < 1000,
          "the waiting client was not taken up at once",
        );
        const warnings = logs.lines.filter((l) => l.startsWith("warning TLS:"));
        assert.equal(warnings.length, 1, warnings.join("\n"));
        assert.match(warnings[0]!, /5 connections handshaking \(at most 5\)/);
      } finally {
        for (const conn of stalled) conn.close();
      }
    });
  },
);

tlsTest(
  "handshakes given up but held by silent peers do not keep the port from accepting",
  async () => {
    await withTls({ tlsMaxPendingHandshakes: 5, tlsHandshakeTimeoutMs: 300 }, async (server) => {
      const stalled = await Promise.all(
        Array.from({ length: 5 }, () => Deno.connect({ hostname: "127.0.0.1", port: server.port })),
      );
      try {
        // They time out and are held (Deno cannot close them) while their peers stay silent.
        await waitFor(() => server.handshakes()?.held === 5, {
          what: () => `5 held: ${JSON.stringify(server.handshakes())}`,
        });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const ms = await Promise.race([
          timedGet(server.port),
          new Promise<number>((_, reject) => {
            timer = setTimeout(() => reject(new Error("no answer within 3 s")), 3000);
          }),
        ]).finally(() => clearTimeout(timer));
        assert.ok(ms < 1000, `a normal request waited ${ms.toFixed(0)} ms behind held sockets`);
      } finally {
        for (const conn of stalled) conn.close();
      }
    });
  },
);

tlsTest(
  "plain HTTP sent to the TLS port is closed at once, logged at debug only, summarised",
  async () => {
    await using logs = await captureLogs();
    await withTls({ tlsFailureSummaryMs: 500 }, async (server) => {
      const PLAIN = 200;
      const batch = async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
        try {
          await conn.write(new TextEncoder().encode(requestHead(server.port, "/")));
          return await closedAfter(conn, performance.now(), 2000);
        } finally {
          conn.close();
        }
      };
      const times: number[] = [];
      for (let i = 0; i < PLAIN; i += 20) {
        times.push(...await Promise.all(Array.from({ length: 20 }, batch)));
      }
      assert.ok(Math.max(...times) < 1000, `one plain connection stayed ${Math.max(...times)} ms`);
      assert.ok((await timedGet(server.port)) < 300);
      const notTls = () =>
        logs.lines.filter((l) =>
          /^debug TLS handshake from 127\.0\.0\.1:\d+ failed \(not TLS\)/.test(l)
        );
      await waitFor(() => notTls().length === PLAIN, {
        what: () => `${PLAIN} debug lines, got ${notTls().length}`,
      });
      await waitFor(() => logs.lines.some((l) => l.startsWith(`info TLS handshakes in the last`)), {
        what: "the summary line",
      });
      const loud = logs.lines.filter((l) => !l.startsWith("debug") && /TLS handshakes/.test(l));
      assert.ok(loud.length <= 2, `more than the summary at info or above:\n${loud.join("\n")}`);
      const summarised = loud.map((l) =>
        Number(/: (\d+) failed \((\d+) not TLS\)/.exec(l)?.[2] ?? NaN)
      );
      assert.equal(summarised.reduce((a, b) => a + b, 0), PLAIN, loud.join("\n"));
      assert.ok(
        !logs.lines.some((l) => l.startsWith("error") || l.startsWith("fatal")),
        "an error line",
      );
    });
  },
);

tlsTest(
  "a client that refuses the certificate fails its handshake as a TLS error, once",
  async () => {
    await using logs = await captureLogs();
    await withTls({}, async (server) => {
      // No caCerts: the system's roots, which do not include the test CA.
      const conn = await Deno.connectTls({ hostname: "127.0.0.1", port: server.port });
      await assert.rejects(conn.handshake(), /UnknownIssuer|certificate|invalid peer/i);
      conn.close();
      const line = () =>
        logs.lines.find((l) =>
          /^debug TLS handshake from 127\.0\.0\.1:\d+ failed \(TLS error\)/.test(l)
        );
      await waitFor(() => line() !== undefined, { what: () => logs.lines.join("\n") });
      assert.ok((await timedGet(server.port)) < 300);
    });
  },
);

tlsTest("stopping does not wait for connections still in their handshake", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  const server = await startTestServer({ root: root.path, ...await tlsServer() });
  const stalled = await Promise.all(
    Array.from({ length: 10 }, () => Deno.connect({ hostname: "127.0.0.1", port: server.port })),
  );
  try {
    await waitFor(() => server.handshakes()?.handshaking === 10);
    const started = performance.now();
    await server.stop();
    assert.ok(performance.now() - started < 1000, "the stop waited for handshakes");
  } finally {
    for (const conn of stalled) conn.close();
  }
});
