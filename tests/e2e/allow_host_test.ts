/**
 * `--allow-host` end to end: LAN names and a proxy's name are served beside localhost,
 * 127.0.0.1 and the bound address; `*` turns the Host check off but not the Host rules of
 * RFC 9112 §3.2 (exactly one, well-formed); bound to 0.0.0.0, the start-up log says which
 * names are served and how to add one.
 */

import assert from "node:assert/strict";
import { RawClient } from "../helpers/raw_client.ts";
import {
  RESOURCES,
  type SpawnedServer,
  waitFor,
  withServer,
  withSpawnedServer,
} from "../helpers/server.ts";

interface Row {
  /** The request head; `{PORT}` is the server's port, `{OTHER}` another one. */
  head: string;
  status: number;
}

async function statusOf(port: number, head: string): Promise<{ status: number; text: string }> {
  using client = await RawClient.connect(port);
  await client.send(head);
  const res = await client.response();
  return { status: res.status, text: res.text() };
}

async function runRows(port: number, rows: Row[]): Promise<void> {
  const index = await Deno.readTextFile(`${RESOURCES}/index.html`);
  const other = port === 65535 ? 65534 : port + 1;
  for (const row of rows) {
    const head = row.head.replaceAll("{PORT}", String(port)).replaceAll("{OTHER}", String(other));
    const { status, text } = await statusOf(port, head);
    assert.equal(status, row.status, JSON.stringify(head));
    if (status === 200) assert.equal(text, index);
  }
}

const GET = (host: string): string => `GET / HTTP/1.1\r\nHost: ${host}\r\n\r\n`;

/** Waits until the spawned server's log has a line containing `text` (lines come in batches). */
async function logged(server: SpawnedServer, text: string | RegExp): Promise<void> {
  await waitFor(
    () => typeof text === "string" ? server.log().includes(text) : text.test(server.log()),
    { what: () => `${text} in the log:\n${server.log()}` },
  );
}

Deno.test("--allow-host: LAN names with the server's port, a proxy's name on its port", async () => {
  const allowHosts = ["myhost.lan", "192.168.1.5", "proxy.example:443", "[fe80::1]"];
  await withServer({ allowHosts }, async (server) => {
    await runRows(server.port, [
      { head: GET("myhost.lan:{PORT}"), status: 200 },
      { head: GET("MyHost.LAN:{PORT}"), status: 200 },
      { head: GET("192.168.1.5:{PORT}"), status: 200 },
      { head: GET("[fe80::1]:{PORT}"), status: 200 },
      { head: GET("[FE80::1]:{PORT}"), status: 200 },
      // A proxy on 443 sends its own name, usually without the default port.
      { head: GET("proxy.example"), status: 200 },
      { head: GET("proxy.example:443"), status: 200 },
      // Still the rules for everything else.
      { head: GET("localhost:{PORT}"), status: 200 },
      { head: GET("127.0.0.1:{PORT}"), status: 200 },
      { head: GET("myhost.lan:{OTHER}"), status: 403 },
      { head: GET("myhost.lan"), status: 403 },
      { head: GET("proxy.example:{PORT}"), status: 403 },
      { head: GET("192.168.1.6:{PORT}"), status: 403 },
      { head: GET("myhost.lan.evil.example:{PORT}"), status: 403 },
      { head: GET("evil.example:{PORT}"), status: 403 },
      { head: GET("myhost.lan:{PORT}:1"), status: 400 },
      {
        head: "GET http://myhost.lan:{PORT}/ HTTP/1.1\r\nHost: bogus.example\r\n\r\n",
        status: 200,
      },
      {
        head: "GET http://bogus.example/ HTTP/1.1\r\nHost: myhost.lan:{PORT}\r\n\r\n",
        status: 403,
      },
    ]);
  });
});

Deno.test("--allow-host '*': any well-formed Host, but still exactly one", async () => {
  await withServer({ allowHosts: ["*"] }, async (server) => {
    await runRows(server.port, [
      { head: GET("evil.example"), status: 200 },
      { head: GET("anything.example:{OTHER}"), status: 200 },
      { head: GET("10.0.0.1:{PORT}"), status: 200 },
      { head: GET("localhost:{PORT}"), status: 200 },
      { head: "GET / HTTP/1.1\r\n\r\n", status: 400 },
      { head: "GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n", status: 400 },
      { head: GET("a b"), status: 400 },
      { head: GET("user@a.example"), status: 400 },
      { head: "GET / HTTP/1.0\r\n\r\n", status: 200 },
    ]);
  });
});

// A spawned server's stderr is read by the helper until the child exits; its read op may
// complete a tick after the exit status, which the op sanitizer would flag.
const SPAWNED = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.test({
  ...SPAWNED,
  name: "bound to 0.0.0.0, the start-up log names the Hosts served and --allow-host",
  fn: async () => {
    await withSpawnedServer(["0", "0.0.0.0"], async (server) => {
      const p = server.port;
      await logged(
        server,
        `accepting Host localhost:${p}, 127.0.0.1:${p}, 0.0.0.0:${p}; ` +
          "add LAN names with --allow-host NAME",
      );
      await runRows(p, [
        { head: GET("0.0.0.0:{PORT}"), status: 200 },
        { head: GET("192.168.1.5:{PORT}"), status: 403 },
      ]);
    });
  },
});

Deno.test({
  ...SPAWNED,
  name: "bound to 0.0.0.0 with --allow-host, the log lists the added names and they are served",
  fn: async () => {
    const args = ["0", "0.0.0.0", "--allow-host", "192.168.1.5", "--allow-host", "myhost.lan"];
    await withSpawnedServer(args, async (server) => {
      const p = server.port;
      await logged(
        server,
        `accepting Host localhost:${p}, 127.0.0.1:${p}, 0.0.0.0:${p}, 192.168.1.5:${p}, ` +
          `myhost.lan:${p}; add LAN names with --allow-host NAME`,
      );
      await runRows(p, [
        { head: GET("192.168.1.5:{PORT}"), status: 200 },
        { head: GET("myhost.lan:{PORT}"), status: 200 },
      ]);
    });
  },
});

Deno.test({
  ...SPAWNED,
  name: "--allow-host '*' is warned about at start-up; 127.0.0.1 alone logs no Host line",
  fn: async () => {
    await withSpawnedServer(["0", "--allow-host", "*"], async (server) => {
      await logged(server, /\[WRN\].*accepting any Host.*DNS rebinding/);
      await runRows(server.port, [{ head: GET("evil.example"), status: 200 }]);
    });
    await withSpawnedServer(["0"], async (server) => {
      // Lines come out in order: once the request's access line is there, so would be the other.
      await runRows(server.port, [{ head: GET("localhost:{PORT}"), status: 200 }]);
      await logged(server, "GET / HTTP/1.1");
      assert.ok(!server.log().includes("accepting"), server.log());
    });
  },
});
