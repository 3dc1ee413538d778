/**
 * `--uploads DIR` end to end: uploads are saved in the folder given (made if missing, crash
 * leftovers removed), not in `<root>/uploads`.
 */

import assert from "node:assert/strict";
import { bytes, exchange } from "../helpers/raw_client.ts";
import { tempDir, tempRoot, withServer } from "../helpers/server.ts";

const NAME = /^\/uploads\/(upload_\d{8}_\d{6}_[A-Za-z0-9]{4}\.json)$/;

function uploadRequest(port: number, body: string): Uint8Array {
  return bytes(
    `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${bytes(body).length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Uploads `body`; the saved file's name. */
async function uploadTo(port: number, body: string): Promise<string> {
  const res = await exchange(port, uploadRequest(port, body));
  assert.equal(res.status, 201, res.text());
  const match = NAME.exec(res.header("location") ?? "");
  assert.ok(match !== null, `Location ${res.header("location")}`);
  return match[1] as string;
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) out.push(entry.name);
  return out.sort();
}

Deno.test("--uploads: uploads go to the folder given, made if missing, not to <root>/uploads", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await using elsewhere = await tempDir();
  const uploads = `${elsewhere.path}/incoming/json`;
  await withServer({ root: root.path, uploads }, async (server) => {
    const name = await uploadTo(server.port, '{"where":"elsewhere"}');
    assert.deepEqual(await names(uploads), [name]);
    assert.equal(await Deno.readTextFile(`${uploads}/${name}`), '{"where":"elsewhere"}');
    assert.deepEqual(await names(root.uploads), [], "<root>/uploads was written");
    assert.equal(server.state.site.uploadsDir, await Deno.realPath(uploads));
  });
});

Deno.test("--uploads: partial uploads left there by a crash are removed at start-up", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await using uploads = await tempDir();
  await Deno.writeTextFile(`${uploads.path}/.upload-leftover.tmp`, '{"torn');
  await Deno.writeTextFile(`${uploads.path}/upload_20260101_000000_abcd.json`, "{}");
  await withServer({ root: root.path, uploads: uploads.path }, async () => {
    assert.deepEqual(await names(uploads.path), ["upload_20260101_000000_abcd.json"]);
  });
});
