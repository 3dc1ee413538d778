/**
 * What a browser relies on, end to end over raw TCP (README "Requests and responses"):
 * `X-Content-Type-Options: nosniff` on every response, errors included, and `--cache-control`
 * on file responses (200, 206, 304) only.
 */

import assert from "node:assert/strict";
import type { ServerConfig } from "../../src/config.ts";
import { exchange, type RawResponse } from "../helpers/raw_client.ts";
import { describe, randomBytes, request } from "../helpers/file_responses.ts";
import { runCli, startTestServer, tempDir } from "../helpers/server.ts";

const CACHE_CONTROL = "public, max-age=60";

/** A scratch root: a small (cached) and a large (streamed) file, and an index. */
async function startSite(config: Partial<ServerConfig>) {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/index.html`, "<!doctype html><title>i</title>\n");
  await Deno.writeTextFile(`${dir.path}/style.css`, "body { color: #333; }\n");
  await Deno.writeFile(`${dir.path}/large.png`, randomBytes(200_000));
  await Deno.mkdir(`${dir.path}/uploads`);
  const server = await startTestServer({ root: dir.path, ...config });
  return {
    port: server.port,
    close: async () => {
      await server.stop();
      await dir.remove();
    },
  };
}

interface Row {
  name: string;
  /** The request's bytes for the server on `port`. */
  request: (port: number) => string;
  status: number;
  head?: boolean;
  /** Whether a file response: Cache-Control is sent (when configured). */
  file?: boolean;
}

function upload(port: number, contentType: string, body: string): string {
  return `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${contentType}\r\n` +
    `Content-Length: ${body.length}\r\n\r\n${body}`;
}

const ROWS: Row[] = [
  { name: "200 index", request: (p) => request(p, "GET", "/"), status: 200, file: true },
  { name: "200 small", request: (p) => request(p, "GET", "/style.css"), status: 200, file: true },
  // Again: now from the file cache and its encoded response.
  { name: "200 cached", request: (p) => request(p, "GET", "/style.css"), status: 200, file: true },
  {
    name: "200 HEAD",
    request: (p) => request(p, "HEAD", "/style.css"),
    status: 200,
    head: true,
    file: true,
  },
  { name: "200 large", request: (p) => request(p, "GET", "/large.png"), status: 200, file: true },
  {
    name: "206 small",
    request: (p) => request(p, "GET", "/style.css", [["Range", "bytes=0-3"]]),
    status: 206,
    file: true,
  },
  {
    name: "206 large",
    request: (p) => request(p, "GET", "/large.png", [["Range", "bytes=-10"]]),
    status: 206,
    file: true,
  },
  {
    name: "304",
    request: (p) => request(p, "GET", "/style.css", [["If-None-Match", "*"]]),
    status: 304,
    file: true,
  },
  {
    name: "304 large",
    request: (p) => request(p, "GET", "/large.png", [["If-None-Match", "*"]]),
    status: 304,
    file: true,
  },
  { name: "201", request: (p) => upload(p, "application/json", '{"a":1}'), status: 201 },
  { name: "400", request: () => "GET / HTTP/1.1 junk\r\n\r\n", status: 400 },
  { name: "403 traversal", request: (p) => request(p, "GET", "/../x"), status: 403 },
  {
    name: "403 host",
    request: () => "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
    status: 403,
  },
  { name: "404", request: (p) => request(p, "GET", "/missing.css"), status: 404 },
  { name: "404 dotfile", request: (p) => request(p, "GET", "/.env"), status: 404 },
  { name: "405", request: (p) => request(p, "PUT", "/style.css"), status: 405 },
  {
    name: "412",
    request: (p) => request(p, "GET", "/style.css", [["If-Match", '"nope"']]),
    status: 412,
  },
  { name: "413", request: (p) => upload(p, "application/json", "1".repeat(9000)), status: 413 },
  { name: "415 upload", request: (p) => upload(p, "text/plain", "{}"), status: 415 },
  {
    name: "416",
    request: (p) => request(p, "GET", "/style.css", [["Range", "bytes=9999-"]]),
    status: 416,
  },
  {
    name: "431",
    request: (p) => request(p, "GET", "/", [["X-Big", "b".repeat(9000)]]),
    status: 431,
  },
  { name: "501", request: (p) => request(p, "BREW", "/"), status: 501 },
  { name: "505", request: () => "GET / HTTP/2.0\r\n\r\n", status: 505 },
];

function values(res: RawResponse, name: string): string[] {
  return res.fields.filter(([n]) => n === name).map(([, v]) => v);
}

const MODES: { label: string; config: Partial<ServerConfig>; cacheControl: string | null }[] = [
  { label: "default", config: {}, cacheControl: null },
  {
    label: "--cache-control",
    config: { cacheControl: CACHE_CONTROL },
    cacheControl: CACHE_CONTROL,
  },
];

for (const mode of MODES) {
  Deno.test(`serializeHead() sends nosniff on every status; Cache-Control on files only (${mode.label})`, async (t) => {
    const site = await startSite(mode.config);
    try {
      for (const row of ROWS) {
        await t.step(row.name, async () => {
          const res = await exchange(site.port, row.request(site.port), {
            head: row.head === true,
            timeoutMs: 10_000,
          });
          assert.equal(res.status, row.status, describe(res));
          assert.deepEqual(values(res, "x-content-type-options"), ["nosniff"], describe(res));
          const want = row.file === true && mode.cacheControl !== null ? [mode.cacheControl] : [];
          assert.deepEqual(values(res, "cache-control"), want, describe(res));
        });
      }
    } finally {
      await site.close();
    }
  });
}

Deno.test("serializeHead() sends nosniff on the 415 of --strict-types", async () => {
  const site = await startSite({ strictTypes: true, cacheControl: CACHE_CONTROL });
  try {
    const res = await exchange(site.port, request(site.port, "GET", "/style.css"));
    assert.equal(res.status, 415, describe(res));
    assert.deepEqual(values(res, "x-content-type-options"), ["nosniff"]);
    assert.deepEqual(values(res, "cache-control"), []);
  } finally {
    await site.close();
  }
});

Deno.test("main.ts --cache-control with CR LF or a control character exits 2 with one line", async (t) => {
  for (const value of ["max-age=1\r\nSet-Cookie: a=b", "max-age=1\u0001", ""]) {
    await t.step(JSON.stringify(value), async () => {
      const { code, out, err } = await runCli(["--port", "0", "--cache-control", value]);
      assert.equal(code, 2, `exit status ${code}; stderr: ${err}`);
      assert.equal(out, "");
      assert.equal(err.trimEnd().split("\n").length, 1, `stderr is not one line:\n${err}`);
      assert.match(err, /--cache-control/);
      assert.ok(!err.includes("Set-Cookie"), `stderr echoes the value: ${err}`);
    });
  }
});
