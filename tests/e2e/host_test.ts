/**
 * Host validation end to end (SPEC.md "Host validation", RFC 9112 §3.2): HTTP/1.1 needs exactly
 * one valid Host; only localhost, 127.0.0.1 and the configured host on the server's port are
 * served; an absolute-form target's authority replaces Host (RFC 9112 §3.2.2).
 */

import assert from "node:assert/strict";
import { RawClient } from "../helpers/raw_client.ts";
import { RESOURCES, withServer } from "../helpers/server.ts";

interface HostRow {
  name: string;
  /** The request head; `{PORT}` is the server's port, `{OTHER}` a different one. */
  head: string;
  status: number;
  /** The server must close the connection after the response. */
  closes?: boolean;
}

const HOST_ROWS: HostRow[] = [
  {
    name: "HTTP/1.1 without Host",
    head: "GET / HTTP/1.1\r\n\r\n",
    status: 400,
    closes: true,
  },
  {
    name: "HTTP/1.1 with two Host fields",
    head: "GET / HTTP/1.1\r\nHost: localhost:{PORT}\r\nHost: localhost:{PORT}\r\n\r\n",
    status: 400,
    closes: true,
  },
  {
    name: "HTTP/1.1 with two Host fields, differing case of the name",
    head: "GET / HTTP/1.1\r\nhost: localhost:{PORT}\r\nHOST: evil.example\r\n\r\n",
    status: 400,
    closes: true,
  },
  {
    name: "HTTP/1.0 with two Host fields",
    head: "GET / HTTP/1.0\r\nHost: localhost:{PORT}\r\nHost: 127.0.0.1:{PORT}\r\n\r\n",
    status: 400,
    closes: true,
  },
  {
    name: "Host with an invalid value (two ports)",
    head: "GET / HTTP/1.1\r\nHost: localhost:{PORT}:1\r\n\r\n",
    status: 400,
    closes: true,
  },
  {
    name: "Host with an invalid value (space inside)",
    head: "GET / HTTP/1.1\r\nHost: local host:{PORT}\r\n\r\n",
    status: 400,
    closes: true,
  },
  { name: "localhost:PORT", head: "GET / HTTP/1.1\r\nHost: localhost:{PORT}\r\n\r\n", status: 200 },
  { name: "127.0.0.1:PORT", head: "GET / HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n\r\n", status: 200 },
  { name: "LOCALHOST:PORT", head: "GET / HTTP/1.1\r\nHost: LOCALHOST:{PORT}\r\n\r\n", status: 200 },
  { name: "LocalHost:PORT", head: "GET / HTTP/1.1\r\nHost: LocalHost:{PORT}\r\n\r\n", status: 200 },
  {
    name: "Host with surrounding whitespace (OWS is trimmed)",
    head: "GET / HTTP/1.1\r\nHost: \t localhost:{PORT} \t\r\n\r\n",
    status: 200,
  },
  {
    name: "lower-case field name",
    head: "GET / HTTP/1.1\r\nhost: localhost:{PORT}\r\n\r\n",
    status: 200,
  },
  { name: "wrong port", head: "GET / HTTP/1.1\r\nHost: localhost:{OTHER}\r\n\r\n", status: 403 },
  { name: "no port", head: "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", status: 403 },
  { name: "other name", head: "GET / HTTP/1.1\r\nHost: evil.example:{PORT}\r\n\r\n", status: 403 },
  {
    name: "other name, no port",
    head: "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    status: 403,
  },
  { name: "other IPv4", head: "GET / HTTP/1.1\r\nHost: 127.0.0.2:{PORT}\r\n\r\n", status: 403 },
  { name: "IPv6 literal", head: "GET / HTTP/1.1\r\nHost: [::1]:{PORT}\r\n\r\n", status: 403 },
  {
    name: "suffix trick",
    head: "GET / HTTP/1.1\r\nHost: localhost.evil.example:{PORT}\r\n\r\n",
    status: 403,
  },
  { name: "HTTP/1.0 without Host", head: "GET / HTTP/1.0\r\n\r\n", status: 200, closes: true },
  {
    name: "HTTP/1.0 with a foreign Host",
    head: "GET / HTTP/1.0\r\nHost: evil.example\r\n\r\n",
    status: 403,
  },
  {
    name: "absolute-form authority wins over a bogus Host",
    head: "GET http://localhost:{PORT}/ HTTP/1.1\r\nHost: bogus.example\r\n\r\n",
    status: 200,
  },
  {
    name: "absolute-form, upper-case scheme and host",
    head: "GET HTTP://LOCALHOST:{PORT}/index.html HTTP/1.1\r\nHost: bogus.example\r\n\r\n",
    status: 200,
  },
  {
    name: "absolute-form naming another server, valid Host",
    head: "GET http://evil.example/ HTTP/1.1\r\nHost: localhost:{PORT}\r\n\r\n",
    status: 403,
  },
  {
    name: "absolute-form with the wrong port",
    head: "GET http://127.0.0.1:{OTHER}/ HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n\r\n",
    status: 403,
  },
];

Deno.test("Host validation: the status for each Host (and absolute-form authority)", async (t) => {
  await withServer({}, async (server) => {
    const index = await Deno.readTextFile(`${RESOURCES}/index.html`);
    const other = server.port === 65535 ? 65534 : server.port + 1;
    for (const row of HOST_ROWS) {
      await t.step(`${row.name} → ${row.status}`, async () => {
        const head = row.head.replaceAll("{PORT}", String(server.port))
          .replaceAll("{OTHER}", String(other));
        const client = await RawClient.connect(server.port);
        try {
          await client.send(head);
          const res = await client.response();
          assert.equal(res.status, row.status, `${JSON.stringify(head)} → ${res.status}`);
          if (res.status === 200) assert.equal(res.text(), index);
          if (row.closes) {
            assert.equal(res.header("connection"), "close");
            assert.ok(await client.closed(), "the server kept the connection open");
          }
        } finally {
          client.close();
        }
      });
    }
  });
});

Deno.test("Host validation: each Host is checked again after an accepted one on the same connection", async (t) => {
  // The connection remembers the Host it last accepted; a different one must still be checked.
  await withServer({}, async (server) => {
    const other = server.port === 65535 ? 65534 : server.port + 1;
    for (const row of HOST_ROWS) {
      await t.step(`accepted Host, then ${row.name} → ${row.status}`, async () => {
        const head = row.head.replaceAll("{PORT}", String(server.port))
          .replaceAll("{OTHER}", String(other));
        const client = await RawClient.connect(server.port);
        try {
          await client.send(`GET / HTTP/1.1\r\nHost: localhost:${server.port}\r\n\r\n`);
          assert.equal((await client.response()).status, 200);
          await client.send(head);
          const res = await client.response();
          assert.equal(res.status, row.status, `${JSON.stringify(head)} → ${res.status}`);
        } finally {
          client.close();
        }
      });
    }
  });
});
