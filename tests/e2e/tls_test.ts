/**
 * HTTPS end to end (`--tls-cert`, `--tls-key`): the server on a test certificate made with
 * openssl (a leaf for localhost and 127.0.0.1, signed by an intermediate, the chain in the cert
 * file), clients trusting only the root CA. curl fetches pages, downloads byte-exact, resumes,
 * uploads with either framing; raw bytes over `Deno.connectTls` check keep-alive, pipelining,
 * conditionals, ranges, ALPN and the Host check per scheme.
 */

import assert from "node:assert/strict";
import { RawClient, requestHead } from "../helpers/raw_client.ts";
import { RESOURCES, tempRoot, withServer } from "../helpers/server.ts";
import {
  curl,
  IGNORE_WITHOUT_TLS_TOOLS,
  testCertificates,
  tlsClient,
  tlsServer,
} from "../helpers/tls_certs.ts";
import type { ServerConfig } from "../../src/config.ts";
import type { RunningServer } from "../../src/server/listener.ts";

const FILES = ["index.html", "notes.txt", "gallery.jpg", "sample.json"];

/** A TLS server on a scratch root with FILES; always stopped. */
async function withTls(
  overrides: Partial<ServerConfig>,
  fn: (server: RunningServer, root: string) => Promise<void>,
): Promise<void> {
  await using root = await tempRoot({ files: FILES });
  const config = { root: root.path, uploadRatePerSecond: 0, ...await tlsServer(), ...overrides };
  await withServer(config, (server) => fn(server, root.path));
}

function tlsTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({ name, ignore: IGNORE_WITHOUT_TLS_TOOLS, fn });
}

tlsTest(
  "HTTPS: curl fetches the index page trusting only the root CA (chain sent), over http/1.1",
  async () => {
    await withTls({}, async (server) => {
      assert.equal(server.httpsPort, server.port);
      const result = await curl(["-v", `https://127.0.0.1:${server.port}/`]);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(result.stdout, await Deno.readFile(`${RESOURCES}/index.html`));
      assert.match(result.stderr, /ALPN: server accepted http\/1\.1/);
      assert.match(result.stderr, /< HTTP\/1\.1 200 OK/);
      // The name, not only the address, is covered.
      const named = await curl([
        "--resolve",
        `localhost:${server.port}:127.0.0.1`,
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        `https://localhost:${server.port}/notes.txt`,
      ]);
      assert.equal(named.text(), "200", named.stderr);
    });
  },
);

tlsTest("HTTPS: a 2.4 MB download arrives byte-exact, and curl -C - resumes it", async () => {
  await withTls({}, async (server, root) => {
    const expected = await Deno.readFile(`${RESOURCES}/gallery.jpg`);
    assert.ok(expected.length > 2_000_000);
    const whole = await curl([`https://127.0.0.1:${server.port}/gallery.jpg`]);
    assert.equal(whole.code, 0, whole.stderr);
    assert.equal(whole.stdout.length, expected.length);
    assert.deepEqual(whole.stdout, expected);
    const partial = `${root}/uploads/gallery.part`;
    await Deno.writeFile(partial, expected.subarray(0, 1_000_000));
    const resumed = await curl([
      "-C",
      "-",
      "-o",
      partial,
      "-w",
      "%{http_code}",
      `https://127.0.0.1:${server.port}/gallery.jpg`,
    ]);
    assert.equal(resumed.text(), "206", resumed.stderr);
    assert.deepEqual(await Deno.readFile(partial), expected);
  });
});

tlsTest("HTTPS: ranges and conditional requests are answered as over TCP", async () => {
  await withTls({}, async (server) => {
    const gallery = await Deno.readFile(`${RESOURCES}/gallery.jpg`);
    using client = await RawClient.connect(server.port, await tlsClient());
    await client.send(
      requestHead(server.port, "/gallery.jpg", { fields: [["Range", "bytes=1000-1999"]] }),
    );
    const part = await client.response();
    assert.equal(part.status, 206);
    assert.equal(part.header("content-range"), `bytes 1000-1999/${gallery.length}`);
    assert.deepEqual(part.body, gallery.subarray(1000, 2000));
    const etag = part.header("etag")!;
    await client.send(
      requestHead(server.port, "/gallery.jpg", { fields: [["If-None-Match", etag]] }),
    );
    assert.equal((await client.response()).status, 304);
    await client.send(
      requestHead(server.port, "/gallery.jpg", {
        fields: [["Range", "bytes=-10"], ["If-Range", '"other"']],
      }),
    );
    const whole = await client.response();
    assert.equal(whole.status, 200);
    assert.deepEqual(whole.body, gallery);
    await client.send(
      requestHead(server.port, "/gallery.jpg", { fields: [["Range", `bytes=${gallery.length}-`]] }),
    );
    assert.equal((await client.response()).status, 416);
  });
});

tlsTest(
  "HTTPS: uploads with Content-Length and chunked bodies are stored byte for byte",
  async () => {
    await withTls({}, async (server, root) => {
      const body = await Deno.readTextFile(`${RESOURCES}/sample.json`);
      const url = `https://127.0.0.1:${server.port}/upload`;
      const json = ["-H", "Content-Type: application/json", "--data-binary", body];
      const plain = await curl(["-i", ...json, url]);
      const chunked = await curl(["-i", "-H", "Transfer-Encoding: chunked", ...json, url]);
      for (const [label, result] of [["Content-Length", plain], ["chunked", chunked]] as const) {
        assert.equal(result.code, 0, `${label}: ${result.stderr}`);
        const text = result.text();
        assert.match(text, /^HTTP\/1\.1 201 Created\r\n/, `${label}: ${text}`);
        const location = /\r\nLocation: \/uploads\/([^\r]+)\r\n/.exec(text)?.[1];
        assert.ok(location !== undefined, `${label}: no Location in ${text}`);
        assert.equal(await Deno.readTextFile(`${root}/uploads/${location}`), body, label);
      }
    });
  },
);

tlsTest(
  "HTTPS: one TLS connection carries keep-alive and pipelined requests in order",
  async () => {
    await withTls({}, async (server) => {
      using client = await RawClient.connect(server.port, await tlsClient());
      const targets = ["/notes.txt", "/index.html", "/missing.txt", "/notes.txt"];
      await client.send(targets.map((t) => requestHead(server.port, t)).join(""));
      const statuses = [];
      for (let i = 0; i < targets.length; i++) {
        const response = await client.response();
        statuses.push(response.status);
        assert.equal(response.header("connection"), "keep-alive");
      }
      assert.deepEqual(statuses, [200, 200, 404, 200]);
      for (let i = 0; i < 20; i++) {
        await client.send(requestHead(server.port, "/notes.txt"));
        assert.equal((await client.response()).status, 200);
      }
      await client.send(
        requestHead(server.port, "/notes.txt", { fields: [["Connection", "close"]] }),
      );
      assert.equal((await client.response()).header("connection"), "close");
      assert.ok(await client.closed(), "the server did not close after Connection: close");
      assert.equal(server.state.stats.connections, 1, "all of it on one connection");
    });
  },
);

tlsTest(
  "HTTPS: a client offering only h2 is refused in the handshake (ALPN http/1.1)",
  async () => {
    await withTls({}, async (server) => {
      const certs = await testCertificates();
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: server.port,
        caCerts: [certs.ca],
        alpnProtocols: ["h2"],
      });
      try {
        await assert.rejects(conn.handshake());
      } finally {
        conn.close();
      }
      const both = await Deno.connectTls({
        hostname: "127.0.0.1",
        port: server.port,
        caCerts: [certs.ca],
        alpnProtocols: ["h2", "http/1.1"],
      });
      try {
        assert.equal((await both.handshake()).alpnProtocol, "http/1.1");
      } finally {
        both.close();
      }
    });
  },
);

/** Rows: request target (Host 127.0.0.1:PORT unless absolute-form), the status over HTTPS. */
const SCHEME_ROWS: ReadonlyArray<[string, string, number]> = [
  ["origin-form", "/notes.txt", 200],
  ["absolute-form https:// with the port", "https://127.0.0.1:{PORT}/notes.txt", 200],
  ["absolute-form HTTPS:// in capitals", "HTTPS://LOCALHOST:{PORT}/notes.txt", 200],
  ["absolute-form https:// without a port (443)", "https://127.0.0.1/notes.txt", 403],
  ["absolute-form http:// without a port (80)", "http://127.0.0.1/notes.txt", 403],
  ["absolute-form of another name", "https://evil.example:{PORT}/notes.txt", 403],
];

tlsTest("HTTPS: the Host check knows the scheme of absolute-form targets", async () => {
  await withTls({}, async (server) => {
    using client = await RawClient.connect(server.port, await tlsClient());
    for (const [name, target, status] of SCHEME_ROWS) {
      const t = target.replaceAll("{PORT}", String(server.port));
      await client.send(`GET ${t} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
      assert.equal((await client.response()).status, status, name);
    }
    // A bare Host means 443 on HTTPS, which this server is not on.
    await client.send("GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert.equal((await client.response()).status, 403);
  });
});
