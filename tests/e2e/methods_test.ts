/**
 * Methods, request-line errors and limits end to end (SPEC.md "Requests", RFC 9110 §9,
 * RFC 9112 §3): 405 with an `Allow` that matches the resource, 501 for unknown methods,
 * 400/505 for broken request lines, 414/431 over the head limit (connection closed after
 * each), and request bodies the handler ignores are discarded so pipelining keeps working.
 */

import assert from "node:assert/strict";
import { RawClient, type RawResponse } from "../helpers/raw_client.ts";
import { RESOURCES, withServer } from "../helpers/server.ts";

const HEAD_LIMIT = 8192;

async function textOf(file: string): Promise<string> {
  return await Deno.readTextFile(`${RESOURCES}/${file}`);
}

interface MethodRow {
  method: string;
  target: string;
  status: number;
  /** Expected `Allow` value; undefined = not checked, null = must be absent. */
  allow?: string | null;
  /** Body sent with the request (with Content-Length). */
  body?: string;
}

const METHOD_ROWS: MethodRow[] = [
  { method: "PUT", target: "/index.html", status: 405, allow: "GET, HEAD", body: "x" },
  { method: "DELETE", target: "/index.html", status: 405, allow: "GET, HEAD" },
  { method: "PATCH", target: "/notes.txt", status: 405, allow: "GET, HEAD", body: "{}" },
  { method: "OPTIONS", target: "/index.html", status: 405, allow: "GET, HEAD" },
  { method: "TRACE", target: "/logo.png", status: 405, allow: "GET, HEAD" },
  { method: "DELETE", target: "/", status: 405, allow: "GET, HEAD" },
  { method: "GET", target: "/upload", status: 405, allow: "POST" },
  { method: "HEAD", target: "/upload", status: 405, allow: "POST" },
  { method: "PUT", target: "/upload", status: 405, allow: "POST", body: "{}" },
  { method: "DELETE", target: "/upload", status: 405, allow: "POST" },
  { method: "POST", target: "/index.html", status: 405, allow: "GET, HEAD", body: "{}" },
  { method: "POST", target: "/", status: 405, allow: "GET, HEAD", body: "{}" },
  { method: "POST", target: "/notes.txt", status: 405, allow: "GET, HEAD" },
  { method: "POST", target: "/nope", status: 404, allow: null, body: "{}" },
  { method: "POST", target: "/nope.html", status: 404, allow: null },
  { method: "BREW", target: "/", status: 501, allow: null },
  // Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET.
  { method: "get", target: "/", status: 501, allow: null },
  { method: "CONNECT", target: "localhost:{PORT}", status: 405 },
  { method: "CONNECT", target: "/index.html", status: 405 },
];

async function send(
  port: number,
  data: string,
  options: { head?: boolean } = {},
): Promise<{ res: RawResponse; closed: boolean }> {
  const client = await RawClient.connect(port);
  try {
    await client.send(data);
    const res = await client.response(options);
    const closed = res.header("connection") === "close" ? await client.closed() : false;
    return { res, closed };
  } finally {
    client.close();
  }
}

Deno.test("methods: status and Allow for each method and resource", async (t) => {
  await withServer({}, async (server) => {
    for (const row of METHOD_ROWS) {
      const target = row.target.replace("{PORT}", String(server.port));
      await t.step(`${row.method} ${target} → ${row.status}`, async () => {
        const body = row.body ?? "";
        const length = row.body === undefined ? "" : `Content-Length: ${body.length}\r\n`;
        const type = row.body === undefined ? "" : "Content-Type: application/json\r\n";
        const { res } = await send(
          server.port,
          `${row.method} ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n` +
            `${type}${length}\r\n${body}`,
          { head: row.method === "HEAD" },
        );
        assert.equal(res.status, row.status);
        if (row.allow !== undefined) assert.equal(res.header("allow"), row.allow);
        if (row.status === 405) {
          // RFC 9110 §15.5.6: a 405 MUST carry Allow, and it never lists the refused method.
          const allow = res.header("allow");
          assert.ok(allow !== null, "405 without Allow");
          const listed = allow.split(",").map((m) => m.trim());
          assert.ok(!listed.includes(row.method), `Allow lists ${row.method}: ${allow}`);
        }
      });
    }
  });
});

interface BrokenRow {
  name: string;
  /** Raw bytes of the request; `{HOST}` is a valid Host line. */
  request: string;
  status: number;
  /** The connection must be closed after the response (SPEC: 400, 414, 431). */
  closes: boolean;
}

const LONG = "a".repeat(HEAD_LIMIT + 100);

const BROKEN_ROWS: BrokenRow[] = [
  { name: "no version", request: "GET /\r\n{HOST}\r\n", status: 400, closes: true },
  { name: "HTTP/0.9 style line", request: "GET /\r\n\r\n", status: 400, closes: true },
  {
    name: "extra word",
    request: "GET / HTTP/1.1 extra\r\n{HOST}\r\n",
    status: 400,
    closes: true,
  },
  { name: "double space", request: "GET  / HTTP/1.1\r\n{HOST}\r\n", status: 400, closes: true },
  { name: "leading space", request: " GET / HTTP/1.1\r\n{HOST}\r\n", status: 400, closes: true },
  { name: "no target", request: "GET HTTP/1.1\r\n{HOST}\r\n", status: 400, closes: true },
  { name: "no method", request: "/ HTTP/1.1\r\n{HOST}\r\n", status: 400, closes: true },
  {
    name: "lower-case version",
    request: "GET / http/1.1\r\n{HOST}\r\n",
    status: 400,
    closes: true,
  },
  { name: "version HTTP/11", request: "GET / HTTP/11\r\n{HOST}\r\n", status: 400, closes: true },
  {
    name: "version HTTP/1.1x",
    request: "GET / HTTP/1.1x\r\n{HOST}\r\n",
    status: 400,
    closes: true,
  },
  {
    name: "non-token method",
    request: "G(T / HTTP/1.1\r\n{HOST}\r\n",
    status: 400,
    closes: true,
  },
  {
    name: "TLS handshake bytes",
    request: "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    status: 400,
    closes: true,
  },
  {
    name: "space before the colon of a field (RFC 9112 §5.1)",
    request: "GET / HTTP/1.1\r\nHost : localhost\r\n\r\n",
    status: 400,
    closes: true,
  },
  {
    name: "field line without a colon",
    request: "GET / HTTP/1.1\r\n{HOST}NoColonHere\r\n\r\n",
    status: 400,
    closes: true,
  },
  { name: "HTTP/2.0", request: "GET / HTTP/2.0\r\n{HOST}\r\n", status: 505, closes: true },
  { name: "HTTP/3.0", request: "GET / HTTP/3.0\r\n{HOST}\r\n", status: 505, closes: true },
  { name: "HTTP/0.9 version", request: "GET / HTTP/0.9\r\n\r\n", status: 505, closes: true },
  // Exactly HTTP/1.0 and 1.1 are accepted; any other well-formed version is 505.
  { name: "HTTP/1.2", request: "GET / HTTP/1.2\r\n{HOST}\r\n", status: 505, closes: true },
  {
    name: "request line over the head limit",
    request: `GET /${LONG} HTTP/1.1\r\n{HOST}\r\n`,
    status: 414,
    closes: true,
  },
  {
    name: "request line over the head limit, no CRLF yet",
    request: `GET /${LONG}`,
    status: 414,
    closes: true,
  },
  {
    name: "header field over the head limit",
    request: `GET / HTTP/1.1\r\n{HOST}X-Long: ${LONG}\r\n\r\n`,
    status: 431,
    closes: true,
  },
  {
    name: "many small fields over the head limit",
    request: `GET / HTTP/1.1\r\n{HOST}${
      "X-Pad: 0123456789012345678901234567890\r\n".repeat(300)
    }\r\n`,
    status: 431,
    closes: true,
  },
];

Deno.test("request line and head errors: status, and the connection closes", async (t) => {
  await withServer({}, async (server) => {
    for (const row of BROKEN_ROWS) {
      await t.step(`${row.name} → ${row.status}`, async () => {
        const request = row.request.replace("{HOST}", `Host: 127.0.0.1:${server.port}\r\n`);
        const client = await RawClient.connect(server.port);
        try {
          await client.send(request);
          const res = await client.response();
          assert.equal(res.status, row.status, `${JSON.stringify(request.slice(0, 80))}`);
          if (row.closes) {
            assert.equal(res.header("connection"), "close");
            assert.ok(await client.closed(), "the server kept the connection open");
          } else {
            assert.equal(res.header("connection"), "keep-alive");
          }
        } finally {
          client.close();
        }
      });
    }
  });
});

/** A GET /index.html head padded with one field to exactly `total` bytes. */
function headOfSize(port: number, total: number): string {
  const start = `GET /index.html HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Pad: `;
  const end = "\r\n\r\n";
  return start + "p".repeat(total - start.length - end.length) + end;
}

Deno.test("head limit: a head of exactly 8192 bytes is served, 8193 bytes is 431", async (t) => {
  await withServer({}, async (server) => {
    for (
      const [size, status] of [[HEAD_LIMIT - 1, 200], [HEAD_LIMIT, 200], [HEAD_LIMIT + 1, 431]]
    ) {
      await t.step(`${size} bytes → ${status}`, async () => {
        const head = headOfSize(server.port, size as number);
        assert.equal(new TextEncoder().encode(head).length, size);
        const { res } = await send(server.port, head);
        assert.equal(res.status, status);
        if (status === 200) assert.equal(res.text(), await textOf("index.html"));
      });
    }
  });
});

Deno.test("request bodies no handler reads are discarded; the pipelined request is served", async (t) => {
  await withServer({}, async (server) => {
    const host = `Host: 127.0.0.1:${server.port}\r\n`;
    const next = `GET /about.html HTTP/1.1\r\n${host}\r\n`;
    // A body that is itself a request: it must never be answered as one.
    const smuggled = `GET /contact.html HTTP/1.1\r\n${host}\r\n`;
    const rows: { name: string; first: string; status: number; file?: string }[] = [
      {
        name: "GET with Content-Length body",
        first: `GET /index.html HTTP/1.1\r\n${host}Content-Length: 5\r\n\r\nhello`,
        status: 200,
        file: "index.html",
      },
      {
        name: "GET whose body looks like a request",
        first: `GET /index.html HTTP/1.1\r\n${host}Content-Length: ${smuggled.length}\r\n\r\n` +
          smuggled,
        status: 200,
        file: "index.html",
      },
      {
        name: "GET with a chunked body",
        first: `GET /index.html HTTP/1.1\r\n${host}Transfer-Encoding: chunked\r\n\r\n` +
          "5\r\nhello\r\n3;ext=1\r\nabc\r\n0\r\n\r\n",
        status: 200,
        file: "index.html",
      },
      {
        name: "HEAD with Content-Length body",
        first: `HEAD /notes.txt HTTP/1.1\r\n${host}Content-Length: 4\r\n\r\nbody`,
        status: 200,
      },
      {
        name: "PUT refused with 405, body discarded",
        first: `PUT /index.html HTTP/1.1\r\n${host}Content-Length: 11\r\n\r\nhello world`,
        status: 405,
      },
      {
        name: "POST to a missing file, body discarded",
        first: `POST /nope HTTP/1.1\r\n${host}Content-Type: application/json\r\n` +
          `Content-Length: 13\r\n\r\n{"a":"hello"}`,
        status: 404,
      },
    ];
    for (const row of rows) {
      await t.step(row.name, async () => {
        const client = await RawClient.connect(server.port);
        try {
          await client.send(row.first + next);
          const first = await client.response({ head: row.first.startsWith("HEAD") });
          assert.equal(first.status, row.status);
          if (row.file !== undefined) assert.equal(first.text(), await textOf(row.file));
          const second = await client.response();
          assert.equal(second.status, 200);
          assert.equal(second.text(), await textOf("about.html"));
          await client.send(`GET /notes.txt HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
          const third = await client.response();
          assert.equal(third.text(), await textOf("notes.txt"));
          assert.ok(await client.closed());
          assert.equal(client.pending, 0, "an extra response was sent (body parsed as request?)");
        } finally {
          client.close();
        }
      });
    }
  });
});

Deno.test("request body sent after the response was read is still discarded", async () => {
  await withServer({}, async (server) => {
    const host = `Host: 127.0.0.1:${server.port}\r\n`;
    using client = await RawClient.connect(server.port);
    await client.send(`GET /index.html HTTP/1.1\r\n${host}Content-Length: 10\r\n\r\n`);
    const first = await client.response();
    assert.equal(first.status, 200);
    assert.equal(first.text(), await textOf("index.html"));
    await client.send(`0123456789GET /about.html HTTP/1.1\r\n${host}\r\n`);
    const second = await client.response();
    assert.equal(second.status, 200);
    assert.equal(second.text(), await textOf("about.html"));
  });
});
