/**
 * POST /upload end to end: media types, validation, limits, framing (chunked, 100-continue),
 * concurrency, and crash safety under SIGKILL. Every server here serves a scratch copy of
 * resources/ so resources/uploads is never touched.
 */

import assert from "node:assert/strict";
import { bytes, exchange, RawClient, type RawResponse } from "../helpers/raw_client.ts";
import { RESOURCES, tempRoot, withServer, withSpawnedServer } from "../helpers/server.ts";

const NAME_PATTERN = /^upload_(\d{8})_(\d{6})_[A-Za-z0-9]{4}\.json$/;
const decoder = new TextDecoder();

async function listUploads(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

function uploadRequest(
  port: number,
  body: Uint8Array | string,
  options: { contentType?: string | null; extra?: string } = {},
): Uint8Array {
  const payload = typeof body === "string" ? bytes(body) : body;
  const type = options.contentType === undefined ? "application/json" : options.contentType;
  const head = `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
    (type === null ? "" : `Content-Type: ${type}\r\n`) +
    `Content-Length: ${payload.length}\r\n${options.extra ?? ""}\r\n`;
  const out = new Uint8Array(head.length + payload.length);
  out.set(bytes(head));
  out.set(payload, head.length);
  return out;
}

/** Asserts the full 201 contract and returns the saved file's name. */
function assertCreated(res: RawResponse): string {
  assert.equal(res.status, 201, `expected 201, got ${res.status}: ${res.text()}`);
  assert.equal(res.header("content-type"), "application/json");
  const location = res.header("location");
  assert.ok(location !== null, "201 without Location");
  const name = location.slice("/uploads/".length);
  assert.equal(location, `/uploads/${name}`);
  assert.match(name, NAME_PATTERN);
  assert.equal(
    res.text(),
    `{"status":"success","message":"File created successfully","filepath":"/uploads/${name}"}`,
  );
  assert.equal(Number(res.header("content-length")), res.body.length);
  return name;
}

/** The name's `YYYYMMDD_HHMMSS` is the UTC time of the upload (within a few seconds). */
function assertStampNear(name: string, before: number, after: number): void {
  const m = NAME_PATTERN.exec(name);
  assert.ok(m !== null);
  const d = m[1] as string;
  const t = m[2] as string;
  const stamp = Date.UTC(
    Number(d.slice(0, 4)),
    Number(d.slice(4, 6)) - 1,
    Number(d.slice(6, 8)),
    Number(t.slice(0, 2)),
    Number(t.slice(2, 4)),
    Number(t.slice(4, 6)),
  );
  assert.ok(
    stamp >= Math.floor(before / 1000) * 1000 - 1000 && stamp <= after + 1000,
    `timestamp in ${name} is not the UTC time of the upload`,
  );
}

Deno.test("POST /upload saves JSON for every accepted Content-Type spelling", async () => {
  await using root = await tempRoot();
  await withServer({ root: root.path }, async (server) => {
    const cases: { contentType: string; body: string }[] = [
      { contentType: "application/json", body: `{"a":1,"b":[true,null,"x"]}` },
      { contentType: "application/json; charset=utf-8", body: `{"text":"héllo – ✓ 日本"}\n` },
      { contentType: "Application/JSON", body: `  [1, 2, {"nested": {"deep": "yes"}}]  ` },
    ];
    const seen = new Set<string>();
    for (const { contentType, body } of cases) {
      const before = Date.now();
      const res = await exchange(server.port, uploadRequest(server.port, body, { contentType }));
      const name = assertCreated(res);
      assertStampNear(name, before, Date.now());
      assert.ok(!seen.has(name), `name ${name} reused`);
      seen.add(name);
      const saved = await Deno.readFile(`${root.uploads}/${name}`);
      assert.deepEqual(saved, bytes(body), `${contentType}: saved bytes differ from the body`);
    }
    assert.deepEqual(await listUploads(root.uploads), [...seen].sort());
  });
});

Deno.test("POST /upload refuses bad media types and bad bodies without saving", async () => {
  await using root = await tempRoot();
  await withServer({ root: root.path }, async (server) => {
    const badJson = await Deno.readFile(`${RESOURCES}/bad.json`);
    const cases: {
      name: string;
      body: Uint8Array | string;
      contentType?: string | null;
      status: number;
    }[] = [
      { name: "text/plain", body: `{"a":1}`, contentType: "text/plain", status: 415 },
      { name: "no Content-Type", body: `{"a":1}`, contentType: null, status: 415 },
      { name: "application/jsonx", body: `{"a":1}`, contentType: "application/jsonx", status: 415 },
      { name: "invalid JSON (bad.json)", body: badJson, status: 400 },
      { name: "empty body", body: "", status: 400 },
      { name: "truncated JSON", body: `{"a":`, status: 400 },
      { name: "invalid UTF-8", body: new Uint8Array([0x22, 0xff, 0xfe, 0x22]), status: 400 },
    ];
    for (const c of cases) {
      const res = await exchange(
        server.port,
        uploadRequest(server.port, c.body, { contentType: c.contentType }),
      );
      assert.equal(res.status, c.status, `${c.name}: got ${res.status} ${res.text()}`);
      assert.equal(res.header("location"), null, `${c.name}: error with a Location`);
      assert.ok(!res.text().includes("success"), `${c.name}: error body claims success`);
    }
    assert.deepEqual(await listUploads(root.uploads), [], "a refused upload left a file");
  });
});

Deno.test("POST /upload answers 413 for a body over 8192 bytes and closes", async () => {
  await using root = await tempRoot();
  await withServer({ root: root.path }, async (server) => {
    using client = await RawClient.connect(server.port);
    const body = `{"pad":"${"x".repeat(8192)}"}`;
    assert.ok(bytes(body).length > 8192);
    await client.send(uploadRequest(server.port, body));
    const res = await client.response();
    assert.equal(res.status, 413);
    assert.equal(res.header("connection"), "close");
    assert.ok(await client.closed(), "connection left open after 413");
    assert.deepEqual(await listUploads(root.uploads), []);
  });
});

Deno.test("POST /upload accepts exactly 8192 bytes", async () => {
  await using root = await tempRoot();
  await withServer({ root: root.path }, async (server) => {
    const body = `{"pad":"${"y".repeat(8192 - 10)}"}`;
    assert.equal(bytes(body).length, 8192);
    const name = assertCreated(await exchange(server.port, uploadRequest(server.port, body)));
    assert.deepEqual(await Deno.readFile(`${root.uploads}/${name}`), bytes(body));
  });
});

Deno.test("POST /upload with Transfer-Encoding: chunked is saved like any other", async () => {
  await using root = await tempRoot();
  await withServer({ root: root.path }, async (server) => {
    using client = await RawClient.connect(server.port);
    const body = `{"chunked":true,"items":[1,2,3],"text":"split across chunks"}`;
    const parts = [body.slice(0, 7), body.slice(7, 30), body.slice(30)];
    await client.send(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
        `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
    );
    for (const part of parts) {
      await client.send(`${bytes(part).length.toString(16)}\r\n${part}\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await client.send("0\r\n\r\n");
    const name = assertCreated(await client.response());
    assert.deepEqual(await Deno.readFile(`${root.uploads}/${name}`), bytes(body));
    // The connection survives a chunked upload: a second request on it is answered.
    await client.send(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
    assert.equal((await client.response()).status, 200);
  });
});

Deno.test("POST /upload with Expect: 100-continue gets 100 Continue, then 201", async () => {
  await using root = await tempRoot();
  await withServer({ root: root.path }, async (server) => {
    using client = await RawClient.connect(server.port);
    const body = `{"expect":"100-continue"}`;
    await client.send(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
        `Expect: 100-continue\r\n\r\n`,
    );
    const interim = await client.response({ timeoutMs: 3000 });
    assert.equal(interim.version, "HTTP/1.1");
    assert.equal(interim.status, 100);
    assert.equal(interim.reason, "Continue");
    assert.equal(client.pending, 0, "bytes after 100 Continue before the body was sent");
    await client.send(body);
    const name = assertCreated(await client.response());
    assert.deepEqual(await Deno.readFile(`${root.uploads}/${name}`), bytes(body));
  });
});

Deno.test("POST /upload: 100 concurrent uploads get 100 distinct files with their bodies", async () => {
  await using root = await tempRoot();
  await withServer({ root: root.path }, async (server) => {
    const bodies = Array.from(
      { length: 100 },
      (_, i) => JSON.stringify({ upload: i, pad: "z".repeat(i * 13) }),
    );
    const responses = await Promise.all(
      bodies.map((body) =>
        exchange(server.port, uploadRequest(server.port, body), { timeoutMs: 15000 })
      ),
    );
    const names = responses.map(assertCreated);
    assert.equal(new Set(names).size, 100, "duplicate upload names");
    assert.deepEqual(await listUploads(root.uploads), [...names].sort());
    for (let i = 0; i < 100; i++) {
      const saved = await Deno.readFile(`${root.uploads}/${names[i]}`);
      assert.equal(decoder.decode(saved), bodies[i], `upload ${i} saved wrong bytes`);
    }
  });
});

// A SIGKILLed child leaves its piped stderr reader and the aborted client connections to be
// reaped asynchronously by the runtime, so the op/resource sanitizers cannot hold here.
Deno.test({
  name: "POST /upload is crash-safe: SIGKILL mid-way leaves only whole files, tmp cleaned at start",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using root = await tempRoot();
    const finals = await withSpawnedServer(["0"], { root: root.path }, async (server) => {
      const clients: RawClient[] = [];
      try {
        const bodies = Array.from(
          { length: 150 },
          (_, i) => JSON.stringify({ crash: i, pad: "c".repeat(4000 + i) }),
        );
        const sent = new Set(bodies);
        let answered = 0;
        const attempts = bodies.map(async (body) => {
          const client = await RawClient.connect(server.port);
          clients.push(client);
          await client.send(uploadRequest(server.port, body));
          const res = await client.response({ timeoutMs: 10000 });
          answered++;
          return res;
        });
        // Observe every attempt now: the kill makes the unanswered ones reject.
        const allSettled = Promise.allSettled(attempts);
        // Kill as soon as the first uploads have been answered, with the rest still in flight.
        const until = Date.now() + 10000;
        while (answered < 5 && Date.now() < until) {
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        server.process.kill("SIGKILL");
        const status = await server.status;
        assert.equal(status.success, false);
        const settled = await allSettled;
        for (const client of clients) client.close();
        const ok = settled.filter((s) => s.status === "fulfilled").length;
        assert.ok(ok >= 5, `only ${ok} uploads answered before the kill`);

        const entries = await listUploads(root.uploads);
        const finals = entries.filter((n) => n.startsWith("upload_"));
        assert.ok(finals.length >= ok, `${finals.length} files for ${ok} answered uploads`);
        for (const name of finals) {
          assert.match(name, NAME_PATTERN);
          const text = decoder.decode(await Deno.readFile(`${root.uploads}/${name}`));
          assert.doesNotThrow(() => JSON.parse(text), `${name} is not whole JSON`);
          assert.ok(sent.has(text), `${name} is not byte-identical to any body sent`);
        }
        for (const name of entries) {
          assert.ok(
            NAME_PATTERN.test(name) || /^\.upload-.*\.tmp$/.test(name),
            `unexpected file ${name} in uploads`,
          );
        }
        return finals;
      } finally {
        for (const client of clients) client.close();
      }
    });

    // A restart removes whatever temporary files the kill left (plus one planted to be sure).
    await Deno.writeTextFile(`${root.uploads}/.upload-planted0000.tmp`, `{"partial":`);
    await withSpawnedServer(["0"], { root: root.path }, async (server) => {
      const after = await listUploads(root.uploads);
      assert.deepEqual(after.filter((n) => n.endsWith(".tmp")), [], "tmp leftovers survived");
      assert.deepEqual(after, finals, "restart touched finished uploads");
      // And the restarted server still takes uploads.
      const res = await exchange(server.port, uploadRequest(server.port, `{"after":"restart"}`));
      assertCreated(res);
      server.process.kill("SIGTERM");
      assert.equal((await server.status).code, 0);
    });
  },
});
