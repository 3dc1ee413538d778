/**
 * `--trust-proxy` end to end: behind a trusted proxy the client address is the one it forwarded
 * (the access log's address, the upload rate's key), a client prepending fake entries gains
 * nothing, and from any other peer the forwarding fields count for nothing.
 */

import assert from "node:assert/strict";
import { bytes, exchange, get } from "../helpers/raw_client.ts";
import { tempRoot, waitFor, withServer, withSpawnedServer } from "../helpers/server.ts";

const SPAWNED = { sanitizeOps: false, sanitizeResources: false };

function upload(port: number, fields: [string, string][]): Uint8Array {
  const body = '{"a":1}';
  const extra = fields.map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return bytes(
    `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\n${extra}\r\n${body}`,
  );
}

/** One upload a client, then none until its bucket refills (in about 17 minutes). */
const ONE_UPLOAD = { uploadRatePerSecond: 0.001, uploadBurst: 1 };

Deno.test("--trust-proxy: the upload rate is kept per forwarded client, whatever it prepends", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await withServer(
    { root: root.path, ...ONE_UPLOAD, trustProxy: ["127.0.0.1"] },
    async (server) => {
      const status = async (fields: [string, string][]) =>
        (await exchange(server.port, upload(server.port, fields))).status;
      assert.equal(await status([["X-Forwarded-For", "198.51.100.1"]]), 201);
      assert.equal(await status([["X-Forwarded-For", "198.51.100.1"]]), 429);
      assert.equal(await status([["X-Forwarded-For", "198.51.100.2"]]), 201);
      // A fake entry on the left is the client's own writing: the address stays 198.51.100.2.
      assert.equal(await status([["X-Forwarded-For", "203.0.113.99, 198.51.100.2"]]), 429);
      assert.equal(await status([["Forwarded", "for=203.0.113.98, for=198.51.100.2"]]), 429);
      // Forwarded (RFC 7239) is read as well; IPv6 in its bracketed, quoted form.
      assert.equal(await status([["Forwarded", 'for="[2001:db8::7]:4711"']]), 201);
      assert.equal(await status([["X-Forwarded-For", "2001:db8:0:0:0:0:0:7"]]), 429);
      // No forwarding field: the proxy's own address, a client like any other.
      assert.equal(await status([]), 201);
      assert.equal(await status([["X-Forwarded-For", "unknown"]]), 429, "unknown is the peer");
    },
  );
});

Deno.test("without --trust-proxy, forwarding fields count for nothing", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await withServer({ root: root.path, ...ONE_UPLOAD }, async (server) => {
    const status = async (fields: [string, string][]) =>
      (await exchange(server.port, upload(server.port, fields))).status;
    assert.equal(await status([["X-Forwarded-For", "198.51.100.1"]]), 201);
    assert.equal(await status([["X-Forwarded-For", "198.51.100.2"]]), 429);
    assert.equal(await status([["Forwarded", "for=198.51.100.3"]]), 429);
  });
});

Deno.test("--trust-proxy of another range: the peer 127.0.0.1 is not trusted", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await withServer(
    { root: root.path, ...ONE_UPLOAD, trustProxy: ["10.0.0.0/8", "::1"] },
    async (server) => {
      const status = async (fields: [string, string][]) =>
        (await exchange(server.port, upload(server.port, fields))).status;
      assert.equal(await status([["X-Forwarded-For", "198.51.100.1"]]), 201);
      assert.equal(await status([["X-Forwarded-For", "198.51.100.2"]]), 429);
    },
  );
});

Deno.test({
  name: "--trust-proxy: the access log names the forwarded client; a refused head, the peer",
  ...SPAWNED,
  async fn() {
    const args = ["0", "--trust-proxy", "127.0.0.0/8", "--log-format", "json"];
    await withSpawnedServer(args, async (server) => {
      const res = await get(server.port, "/", {
        fields: [["X-Forwarded-For", "203.0.113.50, 198.51.100.9, 127.0.0.2"]],
      });
      assert.equal(res.status, 200);
      const bad = await exchange(server.port, "GARBAGE\r\n\r\n");
      assert.equal(bad.status, 400);
      await waitFor(() => (server.log().match(/"client":/g) ?? []).length >= 2, {
        what: () => `two access lines:\n${server.log()}`,
      });
      const lines = server.log().split("\n").filter((line) => line.startsWith("{"));
      const records = lines.map((line) => JSON.parse(line) as { client: string; status: number });
      assert.deepEqual(records.map((r) => [r.status, r.client]), [
        [200, "198.51.100.9"],
        [400, "127.0.0.1"],
      ]);
      assert.match(
        server.log(),
        /client addresses from Forwarded \/ X-Forwarded-For of peers in 127\.0\.0\.0\/8/,
      );
    });
  },
});
