/**
 * Saved uploads served back at the `Location` of their 201 (README "Requests and responses"):
 * `application/json` inline with ETag and ranges like any file, with and without
 * `--strict-types`; an upload's temporary file never.
 */

import assert from "node:assert/strict";
import type { ServerConfig } from "../../src/config.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { describe, ETAG, request, send } from "../helpers/file_responses.ts";
import { startTestServer, tempDir } from "../helpers/server.ts";

const TEMPORARY = ".upload-AbCdEf123456.tmp";

async function startSite(config: Partial<ServerConfig>) {
  const dir = await tempDir();
  await Deno.writeTextFile(`${dir.path}/index.html`, "<p>i</p>\n");
  await Deno.writeTextFile(`${dir.path}/data.json`, '{"outside":"uploads"}');
  await Deno.mkdir(`${dir.path}/uploads`);
  const server = await startTestServer({ root: dir.path, fileCacheValidMs: 0, ...config });
  // After start-up, whose clean-up removes leftover temporary files: one being written now.
  await Deno.writeTextFile(`${dir.path}/uploads/${TEMPORARY}`, '{"partial":');
  await Deno.writeTextFile(`${dir.path}/uploads/notes.txt`, "not an upload");
  return {
    port: server.port,
    close: async () => {
      await server.stop();
      await dir.remove();
    },
  };
}

/** POSTs `body` to /upload; returns the Location of the 201. */
async function upload(port: number, body: string): Promise<string> {
  const client = await RawClient.connect(port);
  try {
    await client.send(
      request(port, "POST", "/upload", [
        ["Content-Type", "application/json; charset=utf-8"],
        ["Content-Length", String(new TextEncoder().encode(body).length)],
      ]) + body,
    );
    const res = await client.response({ timeoutMs: 10_000 });
    assert.equal(res.status, 201, describe(res));
    const location = res.header("location");
    assert.match(location ?? "", /^\/uploads\/upload_\d{8}_\d{6}_[A-Za-z0-9]{4}\.json$/);
    return location as string;
  } finally {
    client.close();
  }
}

/** `dataJson`: the status of a .json outside the uploads folder. */
const MODES: { label: string; config: Partial<ServerConfig>; dataJson: number }[] = [
  { label: "default", config: {}, dataJson: 200 },
  { label: "--strict-types", config: { strictTypes: true }, dataJson: 415 },
];

for (const mode of MODES) {
  Deno.test(`serveStatic() serves a saved upload back at its Location (${mode.label})`, async (t) => {
    const site = await startSite(mode.config);
    try {
      const body = '{"name":"café","n":[1,2,3]}';
      const bytes = new TextEncoder().encode(body);
      const location = await upload(site.port, body);

      await t.step("GET: 200 application/json inline, the bytes as uploaded", async () => {
        const res = await send(site.port, "GET", location);
        assert.equal(res.status, 200, describe(res));
        assert.equal(res.header("content-type"), "application/json");
        assert.equal(res.header("content-disposition"), null);
        assert.equal(res.header("accept-ranges"), "bytes");
        assert.match(res.header("etag") ?? "", ETAG);
        assert.ok(res.header("last-modified") !== null);
        assert.deepEqual(res.body, bytes);
      });
      await t.step("HEAD: GET's fields, no body", async () => {
        const get = await send(site.port, "GET", location);
        const head = await send(site.port, "HEAD", location);
        assert.equal(head.status, 200);
        for (const name of ["content-type", "content-length", "etag", "last-modified"]) {
          assert.equal(head.header(name), get.header(name), name);
        }
        assert.equal(head.body.length, 0);
      });
      await t.step("Range: 206 with the span", async () => {
        const res = await send(site.port, "GET", location, [["Range", "bytes=1-6"]]);
        assert.equal(res.status, 206, describe(res));
        assert.equal(res.header("content-type"), "application/json");
        assert.equal(res.header("content-range"), `bytes 1-6/${bytes.length}`);
        assert.equal(res.text(), '"name"');
      });
      await t.step("If-None-Match with its ETag: 304", async () => {
        const etag = (await send(site.port, "HEAD", location)).header("etag") as string;
        const res = await send(site.port, "GET", location, [["If-None-Match", etag]]);
        assert.equal(res.status, 304, describe(res));
      });
      await t.step("the temporary file of an upload in progress: 404", async () => {
        const res = await send(site.port, "GET", `/uploads/${TEMPORARY}`);
        assert.equal(res.status, 404, describe(res));
      });
      await t.step("other files: as the type table says", async () => {
        const notes = await send(site.port, "GET", "/uploads/notes.txt");
        assert.equal(notes.status, 200, describe(notes));
        assert.equal(notes.header("content-type"), "application/octet-stream");
        const outside = await send(site.port, "GET", "/data.json");
        assert.equal(outside.status, mode.dataJson, describe(outside));
      });
    } finally {
      await site.close();
    }
  });
}
