/**
 * HTTP and HTTPS side by side (`--https-port`), one engine: `--redirect-http` answers every plain
 * request 308 to the same resource on https:// (Host kept, port replaced, the Location built
 * from checked parts only), and `--hsts` adds Strict-Transport-Security to every HTTPS response,
 * whatever its status, and to no plain one.
 */

import assert from "node:assert/strict";
import { RawClient, type RawResponse, requestHead } from "../helpers/raw_client.ts";
import { RESOURCES, tempRoot, withServer } from "../helpers/server.ts";
import { curl, IGNORE_WITHOUT_TLS_TOOLS, tlsClient, tlsServer } from "../helpers/tls_certs.ts";
import type { ServerConfig } from "../../src/config.ts";
import type { RunningServer } from "../../src/server/listener.ts";
import bcrypt from "bcryptjs";

async function withDual(
  overrides: Partial<ServerConfig>,
  fn: (server: RunningServer & { httpsPort: number }) => Promise<void>,
): Promise<void> {
  await using root = await tempRoot({ files: ["index.html", "notes.txt"] });
  const config = {
    root: root.path,
    uploadRatePerSecond: 0,
    ...await tlsServer(),
    httpsPort: 0,
    ...overrides,
  };
  await withServer(config, (server) => {
    assert.ok(server.httpsPort !== null && server.httpsPort !== server.port);
    return fn(server as RunningServer & { httpsPort: number });
  });
}

function dualTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({ name, ignore: IGNORE_WITHOUT_TLS_TOOLS, fn });
}

/** Sends `request` on a fresh plain connection and reads one response. */
async function plainExchange(port: number, request: string, head = false): Promise<RawResponse> {
  using client = await RawClient.connect(port);
  await client.send(request);
  return await client.response({ head });
}

interface RedirectRow {
  name: string;
  /** The request; {P} is the plain port. */
  request: string;
  /** The Location; {S} is the HTTPS port. Null: refused before any redirect, with `status`. */
  location: string | null;
  status?: number;
  head?: boolean;
}

const REDIRECT_ROWS: RedirectRow[] = [
  {
    name: "GET / with Host 127.0.0.1:P",
    request: "GET / HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\n\r\n",
    location: "https://127.0.0.1:{S}/",
  },
  {
    name: "path and query kept, Host's name kept in lower case",
    request: "GET /notes.txt?a=1&b=2 HTTP/1.1\r\nHost: LocalHost:{P}\r\n\r\n",
    location: "https://localhost:{S}/notes.txt?a=1&b=2",
  },
  {
    name: "a file that does not exist is redirected too (nothing else is answered)",
    request: "GET /missing.html HTTP/1.1\r\nHost: localhost:{P}\r\n\r\n",
    location: "https://localhost:{S}/missing.html",
  },
  {
    name: "escapes decoded once and encoded again; unsafe query bytes encoded",
    request: "GET /caf%C3%A9%20menu.html?q=%22x%22&r=<b> HTTP/1.1\r\nHost: localhost:{P}\r\n\r\n",
    location: "https://localhost:{S}/caf%C3%A9%20menu.html?q=%22x%22&r=%3Cb%3E",
  },
  {
    name: "HEAD",
    request: "HEAD /index.html HTTP/1.1\r\nHost: localhost:{P}\r\n\r\n",
    location: "https://localhost:{S}/index.html",
    head: true,
  },
  {
    name: "POST /upload (308 keeps the method and body)",
    request:
      "POST /upload HTTP/1.1\r\nHost: localhost:{P}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
    location: "https://localhost:{S}/upload",
  },
  {
    name: "DELETE (any known method)",
    request: "DELETE /notes.txt HTTP/1.1\r\nHost: localhost:{P}\r\n\r\n",
    location: "https://localhost:{S}/notes.txt",
  },
  {
    name: "absolute-form target: its authority is the Host",
    request: "GET http://localhost:{P}/notes.txt HTTP/1.1\r\nHost: ignored.example\r\n\r\n",
    location: "https://localhost:{S}/notes.txt",
  },
  {
    name: "HTTP/1.0 without Host: the address the client connected to",
    request: "GET /notes.txt HTTP/1.0\r\n\r\n",
    location: "https://127.0.0.1:{S}/notes.txt",
  },
  {
    name: "a Host of another site is refused, not redirected",
    request: "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    location: null,
    status: 403,
  },
  {
    name: "CR LF smuggled in the path is refused, never echoed",
    request: "GET /a%0d%0aSet-Cookie:%20x=1 HTTP/1.1\r\nHost: localhost:{P}\r\n\r\n",
    location: null,
    status: 403,
  },
  {
    name: "a dot segment is refused as on any path",
    request: "GET /a/../notes.txt HTTP/1.1\r\nHost: localhost:{P}\r\n\r\n",
    location: null,
    status: 403,
  },
];

dualTest("--redirect-http: every plain request is answered 308 to its https:// URL", async (t) => {
  await withDual({ redirectHttp: true }, async (server) => {
    const fill = (text: string) =>
      text.replaceAll("{P}", String(server.port)).replaceAll("{S}", String(server.httpsPort));
    for (const row of REDIRECT_ROWS) {
      await t.step(row.name, async () => {
        const response = await plainExchange(server.port, fill(row.request), row.head);
        if (row.location === null) {
          assert.equal(response.status, row.status);
          assert.equal(response.header("location"), null);
          return;
        }
        const location = fill(row.location);
        assert.equal(response.status, 308);
        assert.equal(response.reason, "Permanent Redirect");
        assert.equal(response.header("location"), location);
        assert.equal(response.header("strict-transport-security"), null);
        if (!row.head) {
          assert.equal(response.header("content-type"), "text/plain; charset=utf-8");
          assert.ok(response.text().includes(location), `the body does not name ${location}`);
        }
      });
    }
    // The HTTPS port serves as usual.
    using secure = await RawClient.connect(server.httpsPort, await tlsClient());
    await secure.send(requestHead(server.httpsPort, "/notes.txt"));
    assert.equal((await secure.response()).status, 200);
  });
});

dualTest("--redirect-http: a plain keep-alive connection persists across redirects", async () => {
  await withDual({ redirectHttp: true }, async (server) => {
    using client = await RawClient.connect(server.port);
    for (let i = 0; i < 3; i++) {
      await client.send(requestHead(server.port, `/n${i}`));
      const response = await client.response();
      assert.equal(response.status, 308);
      assert.equal(response.header("connection"), "keep-alive");
    }
  });
});

dualTest("--redirect-http: curl -L follows the 308 to the page over TLS", async () => {
  await withDual({ redirectHttp: true }, async (server) => {
    const result = await curl([
      "-L",
      "-w",
      "\n%{url_effective}",
      `http://127.0.0.1:${server.port}/index.html`,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const page = await Deno.readTextFile(`${RESOURCES}/index.html`);
    assert.equal(result.text(), `${page}\nhttps://127.0.0.1:${server.httpsPort}/index.html`);
  });
});

dualTest(
  "--https-port without --redirect-http serves both from one engine, each with its own Host values",
  async () => {
    await withDual({}, async (server) => {
      const plain = await plainExchange(server.port, requestHead(server.port, "/notes.txt"));
      assert.equal(plain.status, 200);
      using secure = await RawClient.connect(server.httpsPort, await tlsClient());
      await secure.send(requestHead(server.httpsPort, "/notes.txt"));
      const overTls = await secure.response();
      assert.equal(overTls.status, 200);
      assert.deepEqual(overTls.body, plain.body);
      // Each listener's Host values are its own: the HTTPS port is not the plain one's name.
      const crossed = await plainExchange(server.port, requestHead(server.httpsPort, "/notes.txt"));
      assert.equal(crossed.status, 403);
      assert.equal(server.state.stats.connections, 3);
      assert.equal(server.state.stats.requests, 3);
    });
  },
);

/** Requests whose responses must carry HSTS over TLS (all statuses), and none over plain HTTP. */
const HSTS_ROWS: ReadonlyArray<[string, string, number]> = [
  ["200", "GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n\r\n", 200],
  ["206", "GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nRange: bytes=0-9\r\n\r\n", 206],
  ["404", "GET /missing HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n\r\n", 404],
  ["403 (Host)", "GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", 403],
  ["405", "PUT /notes.txt HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\nContent-Length: 0\r\n\r\n", 405],
  ["400 (no Host)", "GET / HTTP/1.1\r\n\r\n", 400],
  ["400 (malformed request line)", "GET  / HTTP/1.1\r\n\r\n", 400],
  ["505", "GET / HTTP/2.0\r\nHost: 127.0.0.1:{PORT}\r\n\r\n", 505],
];

dualTest(
  "--hsts: Strict-Transport-Security on every HTTPS response, never over plain HTTP",
  async (t) => {
    await withDual({ hstsSeconds: 31536000 }, async (server) => {
      const connect = await tlsClient();
      for (const [name, template, status] of HSTS_ROWS) {
        await t.step(name, async () => {
          using secure = await RawClient.connect(server.httpsPort, connect);
          await secure.send(template.replaceAll("{PORT}", String(server.httpsPort)));
          const overTls = await secure.response();
          assert.equal(overTls.status, status);
          assert.equal(overTls.header("strict-transport-security"), "max-age=31536000");
          assert.equal(overTls.fields.filter(([n]) => n === "strict-transport-security").length, 1);
          const plain = await plainExchange(
            server.port,
            template.replaceAll("{PORT}", String(server.port)),
          );
          assert.equal(plain.status, status);
          assert.equal(plain.header("strict-transport-security"), null);
        });
      }
      // A 304 and a cached file's repeated 200 carry it too.
      using secure = await RawClient.connect(server.httpsPort, connect);
      await secure.send(requestHead(server.httpsPort, "/index.html"));
      const first = await secure.response();
      await secure.send(
        requestHead(server.httpsPort, "/index.html", {
          fields: [["If-None-Match", first.header("etag")!]],
        }),
      );
      const notModified = await secure.response();
      assert.equal(notModified.status, 304);
      assert.equal(notModified.header("strict-transport-security"), "max-age=31536000");
      for (let i = 0; i < 3; i++) {
        await secure.send(requestHead(server.httpsPort, "/index.html"));
        assert.equal(
          (await secure.response()).header("strict-transport-security"),
          "max-age=31536000",
        );
      }
    });
  },
);

dualTest("without --hsts no HTTPS response carries Strict-Transport-Security", async () => {
  await withDual({}, async (server) => {
    using secure = await RawClient.connect(server.httpsPort, await tlsClient());
    await secure.send(requestHead(server.httpsPort, "/notes.txt"));
    assert.equal((await secure.response()).header("strict-transport-security"), null);
  });
});

for (const authScope of ["upload", "all"] as const) {
  dualTest(
    `--redirect-http with users (scope ${authScope}): the plain port redirects, never asks for a password`,
    async () => {
      const users = [{ user: "alice", hash: bcrypt.hashSync("secret", 4) }];
      await withDual({ redirectHttp: true, authUsers: users, authScope }, async (server) => {
        for (
          const request of [
            `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nContent-Type: application/json\r\n` +
            `Content-Length: 2\r\n\r\n{}`,
            requestHead(server.port, "/"),
          ]
        ) {
          const response = await plainExchange(server.port, request);
          assert.equal(response.status, 308, request.split("\r\n")[0]);
          assert.equal(response.header("www-authenticate"), null);
        }
      });
    },
  );
}
