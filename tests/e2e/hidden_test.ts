/**
 * Dotfiles and dot-folders end to end (README "Requests and responses"): `/.env`, `/.git/config`,
 * `/a/.hidden/x`, the uploads' `.upload-*.tmp`, and symlinks to or named like them are 404 to
 * GET, HEAD and POST, with and without --strict-types, exactly like a missing file.
 */

import assert from "node:assert/strict";
import type { ServerConfig } from "../../src/config.ts";
import { type RawResponse } from "../helpers/raw_client.ts";
import { describe, send } from "../helpers/file_responses.ts";
import { startTestServer, symlink, tempDir } from "../helpers/server.ts";

const FILES: Record<string, string> = {
  "index.html": "<!doctype html><title>i</title>\n",
  ".env": "SECRET=1\n",
  ".git/config": "[core]\n",
  ".well-known/security.txt": "Contact: x\n",
  "a/visible.html": "<p>visible</p>\n",
  "a/.hidden/x.html": "<p>hidden</p>\n",
  "a/.hidden.json": '{"hidden":true}',
  "uploads/.upload-AbCdEf123456.tmp": '{"partial":',
};

/** A scratch root with FILES, plus symlinks: one to a dotfile, one hidden by its own name. */
async function startSite(config: Partial<ServerConfig>) {
  const dir = await tempDir();
  for (const [name, text] of Object.entries(FILES)) {
    const path = `${dir.path}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  await symlink(".env", `${dir.path}/link.html`);
  await symlink(".hidden", `${dir.path}/a/shown`);
  await symlink("index.html", `${dir.path}/.alias.html`);
  const server = await startTestServer({ root: dir.path, fileCacheValidMs: 0, ...config });
  return {
    port: server.port,
    close: async () => {
      await server.stop();
      await dir.remove();
    },
  };
}

const HIDDEN_TARGETS = [
  "/.env",
  "/.git/config",
  "/.git",
  "/.well-known/security.txt",
  "/.git/",
  "/a/.hidden/x.html",
  "/a/.hidden.json",
  "/uploads/.upload-AbCdEf123456.tmp",
  // Decoded once before the check.
  "/%2eenv",
  "/a/%2Ehidden/x.html",
  // A symlink whose real path is a dotfile, one through a dot-folder, and one named like one.
  "/link.html",
  "/a/shown/x.html",
  "/.alias.html",
  // The query is not part of the path.
  "/.env?x=1",
];

const MODES: { label: string; config: Partial<ServerConfig> }[] = [
  { label: "default", config: {} },
  { label: "--strict-types", config: { strictTypes: true } },
];

/** The fields a hidden file's 404 must share with a missing file's. */
function shape(res: RawResponse): unknown {
  return {
    status: res.status,
    fields: res.fields.filter(([name]) => name !== "date"),
    body: res.text(),
  };
}

for (const { label, config } of MODES) {
  Deno.test(`route() answers a hidden path 404 like a missing file (${label})`, async (t) => {
    const site = await startSite(config);
    try {
      for (const method of ["GET", "HEAD", "POST"]) {
        const fields: [string, string][] = method === "POST" ? [["Content-Length", "0"]] : [];
        const missing = await send(site.port, method, "/no-such-file.html", fields);
        assert.equal(missing.status, 404, describe(missing));
        for (const target of HIDDEN_TARGETS) {
          await t.step(`${method} ${target} → 404`, async () => {
            const res = await send(site.port, method, target, fields);
            assert.deepEqual(shape(res), shape(missing), describe(res));
          });
        }
      }
    } finally {
      await site.close();
    }
  });
}

Deno.test("route() still serves the visible neighbours of hidden files", async (t) => {
  const site = await startSite({});
  const rows: { method: string; target: string; status: number }[] = [
    { method: "GET", target: "/a/visible.html", status: 200 },
    { method: "HEAD", target: "/a/visible.html", status: 200 },
    { method: "POST", target: "/a/visible.html", status: 405 },
    { method: "GET", target: "/index.html", status: 200 },
    // A name with a dot inside (not at the start of a segment) is not hidden.
    { method: "GET", target: "/a/visible.html?.env", status: 200 },
  ];
  try {
    for (const row of rows) {
      await t.step(`${row.method} ${row.target} → ${row.status}`, async () => {
        const fields: [string, string][] = row.method === "POST" ? [["Content-Length", "0"]] : [];
        const res = await send(site.port, row.method, row.target, fields);
        assert.equal(res.status, row.status, describe(res));
      });
    }
  } finally {
    await site.close();
  }
});
