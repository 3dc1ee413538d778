/**
 * Persistent connections end to end (SPEC.md "Keep-alive", RFC 9112 §9.3): the version default
 * and `Connection` decide persistence, persistent responses advertise `Keep-Alive`, pipelined
 * requests are answered in order, the 100th request closes, and idle connections time out.
 */

import assert from "node:assert/strict";
import { RawClient, type RawResponse, requestHead } from "../helpers/raw_client.ts";
import { RESOURCES, withServer } from "../helpers/server.ts";

const KEEP_ALIVE = "timeout=30, max=100";

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function assertPersistent(res: RawResponse, label: string): void {
  assert.equal(res.header("connection"), "keep-alive", `${label}: Connection`);
  assert.equal(res.header("keep-alive"), KEEP_ALIVE, `${label}: Keep-Alive`);
}

function assertClosing(res: RawResponse, label: string): void {
  assert.equal(res.header("connection"), "close", `${label}: Connection`);
  assert.equal(res.header("keep-alive"), null, `${label}: Keep-Alive on a closing response`);
}

interface PersistRow {
  name: string;
  /** The first request; `{HOST}` is replaced with a valid Host line. */
  request: string;
  persists: boolean;
}

const PERSIST_ROWS: PersistRow[] = [
  { name: "HTTP/1.1 default", request: "GET / HTTP/1.1\r\n{HOST}\r\n", persists: true },
  {
    name: "HTTP/1.1 + Connection: keep-alive",
    request: "GET / HTTP/1.1\r\n{HOST}Connection: keep-alive\r\n\r\n",
    persists: true,
  },
  {
    name: "HTTP/1.1 + Connection: close",
    request: "GET / HTTP/1.1\r\n{HOST}Connection: close\r\n\r\n",
    persists: false,
  },
  {
    name: "HTTP/1.1 + Connection: CLOSE (case-insensitive)",
    request: "GET / HTTP/1.1\r\n{HOST}Connection: CLOSE\r\n\r\n",
    persists: false,
  },
  {
    name: "HTTP/1.1 + close among other options",
    request: "GET / HTTP/1.1\r\n{HOST}Connection: foo, close\r\n\r\n",
    persists: false,
  },
  {
    name: "HTTP/1.1 + close in a second Connection field",
    request: "GET / HTTP/1.1\r\n{HOST}Connection: keep-alive\r\nConnection: close\r\n\r\n",
    persists: false,
  },
  { name: "HTTP/1.0 default", request: "GET / HTTP/1.0\r\n\r\n", persists: false },
  {
    name: "HTTP/1.0 + Connection: keep-alive",
    request: "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    persists: true,
  },
  {
    name: "HTTP/1.0 + Connection: Keep-Alive (case-insensitive)",
    request: "GET / HTTP/1.0\r\n{HOST}Connection: Keep-Alive\r\n\r\n",
    persists: true,
  },
  {
    name: "HTTP/1.0 + Connection: keep-alive, close",
    request: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
    persists: false,
  },
];

Deno.test("keep-alive: persistence follows the version and Connection", async (t) => {
  await withServer({}, async (server) => {
    const host = `Host: 127.0.0.1:${server.port}\r\n`;
    for (const row of PERSIST_ROWS) {
      await t.step(`${row.name} → ${row.persists ? "persists" : "closes"}`, async () => {
        const client = await RawClient.connect(server.port);
        try {
          await client.send(row.request.replace("{HOST}", host));
          const res = await client.response();
          assert.equal(res.status, 200);
          if (row.persists) {
            assertPersistent(res, row.name);
            await client.send(requestHead(server.port, "/about.html"));
            const second = await client.response();
            assert.equal(second.status, 200);
            assert.equal(second.text(), await Deno.readTextFile(`${RESOURCES}/about.html`));
          } else {
            assertClosing(res, row.name);
            assert.ok(await client.closed(), "the server did not close the connection");
            assert.equal(client.pending, 0);
          }
        } finally {
          client.close();
        }
      });
    }
  });
});

Deno.test("keep-alive: pipelined requests in one write are answered in order", async () => {
  await withServer({}, async (server) => {
    using client = await RawClient.connect(server.port);
    const files = ["about.html", "notes.txt", "contact.html", "logo.png", "index.html"];
    await client.send(files.map((f) => requestHead(server.port, `/${f}`)).join(""));
    for (const file of files) {
      const res = await client.response();
      assert.equal(res.status, 200, file);
      assertPersistent(res, file);
      const expected = await Deno.readFile(`${RESOURCES}/${file}`);
      assert.equal(res.body.length, expected.length, file);
      assert.ok(res.body.every((b, i) => b === expected[i]), `${file}: body out of order`);
    }
    assert.equal(client.pending, 0);
  });
});

Deno.test("keep-alive: pipelined requests ending in Connection: close; nothing after is served", async () => {
  await withServer({}, async (server) => {
    using client = await RawClient.connect(server.port);
    await client.send(
      requestHead(server.port, "/about.html") +
        requestHead(server.port, "/notes.txt", { fields: [["Connection", "close"]] }) +
        requestHead(server.port, "/contact.html"),
    );
    const first = await client.response();
    assertPersistent(first, "first");
    assert.equal(first.text(), await Deno.readTextFile(`${RESOURCES}/about.html`));
    const second = await client.response();
    assertClosing(second, "second");
    assert.equal(second.text(), await Deno.readTextFile(`${RESOURCES}/notes.txt`));
    assert.ok(await client.closed(), "the server did not close after Connection: close");
    assert.equal(client.pending, 0, "a request after Connection: close was answered");
  });
});

Deno.test("keep-alive: the 100th request on a connection closes it", async () => {
  await withServer({}, async (server) => {
    using client = await RawClient.connect(server.port);
    for (let i = 1; i <= 100; i++) {
      await client.send(requestHead(server.port, "/sample.txt"));
      const res = await client.response();
      assert.equal(res.status, 200, `request ${i}`);
      if (i < 100) assertPersistent(res, `request ${i}`);
      else assertClosing(res, `request ${i}`);
    }
    assert.ok(await client.closed(), "the server did not close after the 100th response");
  });
});

Deno.test("keep-alive: 101 pipelined requests get exactly 100 responses, then close", async () => {
  await withServer({}, async (server) => {
    using client = await RawClient.connect(server.port);
    await client.send(requestHead(server.port, "/sample.txt").repeat(101));
    for (let i = 1; i <= 100; i++) {
      const res = await client.response();
      assert.equal(res.status, 200, `request ${i}`);
      if (i < 100) assertPersistent(res, `request ${i}`);
      else assertClosing(res, `request ${i}`);
    }
    assert.ok(await client.closed(), "the server did not close after the 100th response");
    assert.equal(client.pending, 0, "the 101st request was answered");
  });
});

Deno.test("keep-alive: an idle connection is closed after idleTimeoutMs", async () => {
  await withServer({ idleTimeoutMs: 500 }, async (server) => {
    using client = await RawClient.connect(server.port);
    await client.send(requestHead(server.port, "/sample.txt"));
    const res = await client.response();
    assert.equal(res.status, 200);
    assert.equal(res.header("connection"), "keep-alive");
    const idleSince = Date.now();
    assert.ok(await client.closed(3000), "the idle connection was not closed");
    const waited = Date.now() - idleSince;
    assert.ok(waited >= 400, `closed after ${waited} ms, before the idle timeout`);
    assert.ok(waited <= 2000, `closed after ${waited} ms, long after the 500 ms idle timeout`);
    // Idle expiry is silent: no 408 or other bytes are sent between requests.
    assert.equal(client.pending, 0);
  });
});

Deno.test("keep-alive: a connection that keeps sending outlives the idle timeout", async () => {
  await withServer({ idleTimeoutMs: 500 }, async (server) => {
    using client = await RawClient.connect(server.port);
    const started = Date.now();
    let n = 0;
    // Four times the idle timeout, never idle for more than half of it.
    while (Date.now() - started < 2000) {
      await client.send(requestHead(server.port, "/sample.txt"));
      const res = await client.response();
      n++;
      assert.equal(res.status, 200, `request ${n}`);
      assert.equal(res.header("connection"), "keep-alive", `request ${n}`);
      await sleep(200);
    }
    assert.ok(n >= 5);
    await client.send(requestHead(server.port, "/sample.txt"));
    assert.equal((await client.response()).status, 200);
  });
});
