/**
 * Authentication end to end, the real server in this process over raw TCP: right, wrong,
 * missing and malformed credentials on uploads; what the scopes cover; the brute-force limit
 * and its recovery; `Expect: 100-continue` without credentials; the bound on passwords being
 * checked; CORS preflights never asked for credentials. Users are given as `authUsers` with
 * cheap (cost 4) hashes unless a test needs slow ones.
 */

import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import type { ServerConfig } from "../../src/config.ts";
import { basicAuthorization } from "../../src/http/basic_auth.ts";
import { bytes, exchange, get, RawClient, type RawResponse } from "../helpers/raw_client.ts";
import { tempRoot, withServer } from "../helpers/server.ts";

const ALICE = { user: "alice", hash: bcrypt.hashSync("s3cret", 4) };
const JURGEN = { user: "jürgen", hash: bcrypt.hashSync("pässwörd", 4) };
const BOB = { user: "bob", hash: bcrypt.hashSync("hunter2", 4) };
const CHALLENGE = 'Basic realm="denohttpd", charset="UTF-8"';

function auth(overrides: Partial<ServerConfig> = {}): Partial<ServerConfig> {
  return { authUsers: [ALICE, JURGEN, BOB], authFailuresPerMinute: 0, ...overrides };
}

/** A JSON upload, with `Authorization: value` when given. */
function upload(port: number, authorization: string | null, body = `{"a":1}`): Uint8Array {
  return bytes(
    `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      (authorization === null ? "" : `Authorization: ${authorization}\r\n`) +
      `Content-Length: ${bytes(body).length}\r\n\r\n${body}`,
  );
}

async function listUploads(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

function assertChallenge(res: RawResponse, what: string, head = false): void {
  assert.equal(res.status, 401, `${what}: ${res.status} ${res.text()}`);
  assert.equal(res.header("www-authenticate"), CHALLENGE, what);
  assert.equal(res.text(), head ? "" : "401 Unauthorized\n", what);
}

/** base64 of raw bytes. */
const b64 = (list: number[]) => btoa(String.fromCharCode(...list));

const REFUSED: ReadonlyArray<[string, string | null]> = [
  ["no Authorization", null],
  ["wrong password", basicAuthorization("alice", "S3cret")],
  ["unknown user", basicAuthorization("mallory", "s3cret")],
  ["empty password", basicAuthorization("alice", "")],
  ["Basic without colon", `Basic ${btoa("alices3cret")}`],
  ["Basic without credentials", "Basic"],
  ["bad base64", "Basic YWxpY2U6czNjcmV0!"],
  ["non-UTF-8 (latin-1 password)", `Basic ${b64([...bytes("j"), 0xfc, ...bytes("rgen:p"), 0xe4])}`],
  ["another scheme", "Bearer YWxpY2U6czNjcmV0"],
  ["the password as the user", basicAuthorization("s3cret", "alice")],
];

Deno.test("POST /upload without the right credentials is 401 with the challenge; nothing is saved, the connection stays", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await withServer(auth({ root: root.path }), async (server) => {
    using client = await RawClient.connect(server.port);
    for (const [what, authorization] of REFUSED) {
      // On one connection: each 401's body was read and discarded, so the next request parses.
      await client.send(upload(server.port, authorization));
      const res = await client.response();
      assertChallenge(res, what);
      assert.equal(res.header("connection"), "keep-alive", what);
    }
    assert.deepEqual(await listUploads(root.uploads), []);
    await client.send(upload(server.port, basicAuthorization("alice", "s3cret")));
    const created = await client.response();
    assert.equal(created.status, 201, created.text());
    assert.equal(created.header("www-authenticate"), null);
    assert.equal((await listUploads(root.uploads)).length, 1);
  });
});

Deno.test("POST /upload with the right credentials is 201: scheme in any case, UTF-8 names", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await withServer(auth({ root: root.path }), async (server) => {
    const accepted = [
      basicAuthorization("alice", "s3cret"),
      `basic ${btoa("alice:s3cret")}`,
      `BASIC   ${btoa("alice:s3cret")}`,
      basicAuthorization("jürgen", "pässwörd"),
      // "bob:hunter2" is 11 bytes: base64 with one "=", here left out.
      `Basic ${btoa("bob:hunter2").replace(/=$/, "")}`,
      `Basic ${btoa("bob:hunter2")}`,
    ];
    for (const authorization of accepted) {
      const res = await exchange(server.port, upload(server.port, authorization));
      assert.equal(res.status, 201, `${authorization}: ${res.status} ${res.text()}`);
    }
    assert.equal((await listUploads(root.uploads)).length, accepted.length);
  });
});

Deno.test("--auth-scope upload: files need no credentials, the upload path does", async () => {
  await withServer(auth(), async (server) => {
    assert.equal((await get(server.port, "/")).status, 200);
    assert.equal((await get(server.port, "/index.html", { method: "HEAD" })).status, 200);
    assert.equal((await get(server.port, "/missing.html")).status, 404);
    assertChallenge(await get(server.port, "/upload"), "GET /upload");
    const allowed = await get(server.port, "/upload", {
      fields: [["Authorization", basicAuthorization("alice", "s3cret")]],
    });
    assert.equal(allowed.status, 405, "authenticated, GET is still the wrong method");
  });
});

Deno.test("--auth-scope all: GET needs credentials too; preflights never do", async () => {
  await withServer(
    auth({ authScope: "all", corsOrigins: ["http://app.test:5173"] }),
    async (server) => {
      assertChallenge(await get(server.port, "/"), "GET /");
      assertChallenge(await get(server.port, "/index.html", { method: "HEAD" }), "HEAD", true);
      assertChallenge(await get(server.port, "/missing.html"), "a missing file");
      const wrong = await get(server.port, "/", {
        fields: [["Authorization", basicAuthorization("alice", "nope")]],
      });
      assertChallenge(wrong, "wrong password");
      const ok = await get(server.port, "/", {
        fields: [["Authorization", basicAuthorization("alice", "s3cret")]],
      });
      assert.equal(ok.status, 200);
      // A preflight from the listed origin, asking to send Authorization: 204 without credentials.
      const preflight = await exchange(
        server.port,
        `OPTIONS /upload HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
          "Origin: http://app.test:5173\r\nAccess-Control-Request-Method: POST\r\n" +
          "Access-Control-Request-Headers: authorization, content-type\r\n\r\n",
      );
      assert.equal(preflight.status, 204);
      assert.equal(
        preflight.header("access-control-allow-headers"),
        "authorization, content-type",
      );
      assert.equal(preflight.header("access-control-allow-credentials"), null);
      // The page's real request with its own Authorization; a 401 to it is readable by the page.
      const denied = await exchange(
        server.port,
        `GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nOrigin: http://app.test:5173\r\n\r\n`,
      );
      assertChallenge(denied, "cross-origin without credentials");
      assert.equal(denied.header("access-control-allow-origin"), "http://app.test:5173");
    },
  );
});

Deno.test("repeated failures from one address get 429 with Retry-After, then recover", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  // A burst of 3 failures, then 600 a minute: one more every 100 ms.
  const limits = { authFailureBurst: 3, authFailuresPerMinute: 600 };
  await withServer(auth({ root: root.path, ...limits }), async (server) => {
    using client = await RawClient.connect(server.port);
    for (let i = 0; i < 3; i++) {
      await client.send(upload(server.port, basicAuthorization("alice", `guess${i}`)));
      assertChallenge(await client.response(), `guess ${i}`);
    }
    for (
      const authorization of [
        basicAuthorization("alice", "guess3"),
        basicAuthorization("alice", "s3cret"),
      ]
    ) {
      await client.send(upload(server.port, authorization));
      const limited = await client.response();
      assert.equal(limited.status, 429, limited.text());
      assert.equal(limited.header("retry-after"), "1");
      assert.equal(limited.header("www-authenticate"), null);
      assert.equal(limited.header("connection"), "keep-alive");
    }
    assert.deepEqual(await listUploads(root.uploads), [], "the right password was refused too");
    // Missing credentials are not an attempt: the browser's prompt still comes.
    await client.send(upload(server.port, null));
    assertChallenge(await client.response(), "no credentials while limited");
    await new Promise((resolve) => setTimeout(resolve, 250));
    await client.send(upload(server.port, basicAuthorization("alice", "s3cret")));
    assert.equal((await client.response()).status, 201, "recovered");
    // Successes cost no attempt: many in a row are never limited.
    for (let i = 0; i < 10; i++) {
      await client.send(upload(server.port, basicAuthorization("alice", "s3cret")));
      assert.equal((await client.response()).status, 201);
    }
  });
});

Deno.test("Expect: 100-continue without credentials gets 401 and no 100; the connection closes", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await withServer(auth({ root: root.path }), async (server) => {
    for (const authorization of [null, basicAuthorization("alice", "wrong")]) {
      using client = await RawClient.connect(server.port);
      await client.send(
        `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
          "Content-Type: application/json\r\nContent-Length: 7\r\nExpect: 100-continue\r\n" +
          (authorization === null ? "" : `Authorization: ${authorization}\r\n`) + "\r\n",
      );
      const res = await client.response({ timeoutMs: 3000 });
      assertChallenge(res, `${authorization}: first response`);
      assert.equal(res.header("connection"), "close");
      assert.ok(await client.closed(), "the body was never asked for, so the connection ends");
    }
    // With the right credentials the 100 comes, then the 201.
    using client = await RawClient.connect(server.port);
    await client.send(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
        "Content-Type: application/json\r\nContent-Length: 7\r\nExpect: 100-continue\r\n" +
        `Authorization: ${basicAuthorization("alice", "s3cret")}\r\n\r\n`,
    );
    assert.equal((await client.response()).status, 100);
    await client.send(`{"a":1}`);
    assert.equal((await client.response()).status, 201);
    assert.equal((await listUploads(root.uploads)).length, 1);
  });
});

Deno.test("a flood of passwords queues bounded work: 503 beyond the bound, files served meanwhile", async () => {
  // Cost 10: about 65 ms per check in the checker's thread.
  const slow = { user: "slow", hash: bcrypt.hashSync("right", 10) };
  await withServer(
    auth({ authUsers: [slow], authMaxPendingChecks: 2, authCacheEntries: 0 }),
    async (server) => {
      // The page is cached first, so the GET below measures the event loop, not the one-time
      // filling of the cache (which compresses the page).
      assert.equal((await get(server.port, "/index.html")).status, 200);
      const flood = Array.from(
        { length: 8 },
        (_, i) =>
          exchange(server.port, upload(server.port, basicAuthorization("slow", `wrong${i}`)), {
            timeoutMs: 10_000,
          }),
      );
      // While the checks run, a file is served at once: bcrypt is not on the event loop.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const started = performance.now();
      const page = await get(server.port, "/index.html");
      const took = performance.now() - started;
      assert.equal(page.status, 200);
      const statuses = (await Promise.all(flood)).map((res) => {
        if (res.status === 503) assert.equal(res.header("retry-after"), "1");
        return res.status;
      });
      assert.equal(statuses.filter((s) => s === 401).length, 2, String(statuses));
      assert.equal(statuses.filter((s) => s === 503).length, 6, String(statuses));
      assert.ok(took < 40, `a GET took ${took.toFixed(1)} ms while passwords were checked`);
      // Once they are done, a check is taken again.
      const res = await exchange(
        server.port,
        upload(server.port, basicAuthorization("slow", "right")),
      );
      assert.equal(res.status, 201);
    },
  );
});
