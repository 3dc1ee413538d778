/**
 * Folders end to end over raw TCP (README "Folders"): `/dir/` serves `dir/index.html`, `/dir`
 * is a 301 to `/dir/` (query kept, path encoded again), a folder without index.html is 403, a
 * folder is confined like a file, and nothing about a folder is served stale.
 */

import assert from "node:assert/strict";
import type { ServerConfig } from "../../src/config.ts";
import { exchange, type RawResponse } from "../helpers/raw_client.ts";
import { describe, request, send } from "../helpers/file_responses.ts";
import { startTestServer, symlink, tempDir } from "../helpers/server.ts";

const HTML = "text/html; charset=utf-8";

const FILES: Record<string, string> = {
  "index.html": "<!doctype html><title>root</title>\n",
  "plain.html": "<p>plain</p>\n",
  "docs/index.html": '<!doctype html><title>docs</title><a href="guide.html">guide</a>\n',
  "docs/guide.html": "<p>guide</p>\n",
  "docs/deep/index.html": "<p>deep</p>\n",
  "a b/index.html": "<p>space</p>\n",
  'q"<x>/index.html': "<p>quoted</p>\n",
  "café/index.html": "<p>café</p>\n",
  "empty/.keep": "",
  "index-is-folder/index.html/x.html": "<p>x</p>\n",
  "uploads/upload_20260101_000000_abcd.json": '{"a":1}',
};

interface Site {
  port: number;
  root: string;
  close(): Promise<void>;
}

async function startSite(config: Partial<ServerConfig> = {}): Promise<Site> {
  const dir = await tempDir();
  const root = `${dir.path}/root`;
  for (const [name, text] of Object.entries(FILES)) {
    const path = `${root}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  await Deno.mkdir(`${dir.path}/outside`);
  await Deno.writeTextFile(`${dir.path}/outside/index.html`, "<p>outside</p>\n");
  await symlink("docs", `${root}/docs-link`);
  await symlink("../outside", `${root}/out`);
  const server = await startTestServer({ root, fileCacheValidMs: 0, ...config });
  return {
    port: server.port,
    root,
    close: async () => {
      await server.stop();
      await dir.remove();
    },
  };
}

interface Row {
  method?: string;
  target: string;
  status: number;
  /** For 200: the file whose bytes are the body. */
  file?: string;
  /** For 301: the exact Location. */
  location?: string;
}

const ROWS: Row[] = [
  { target: "/", status: 200, file: "index.html" },
  { target: "/docs/", status: 200, file: "docs/index.html" },
  { method: "HEAD", target: "/docs/", status: 200, file: "docs/index.html" },
  { target: "/docs/?v=2", status: 200, file: "docs/index.html" },
  { target: "/docs/index.html", status: 200, file: "docs/index.html" },
  { target: "/docs/guide.html", status: 200, file: "docs/guide.html" },
  { target: "/docs/deep/", status: 200, file: "docs/deep/index.html" },
  { target: "/a%20b/", status: 200, file: "a b/index.html" },
  { target: "/caf%C3%A9/", status: 200, file: "café/index.html" },
  { target: "/docs-link/", status: 200, file: "docs/index.html" },
  // A folder named without its slash.
  { target: "/docs", status: 301, location: "/docs/" },
  { method: "HEAD", target: "/docs", status: 301, location: "/docs/" },
  { target: "/docs/deep", status: 301, location: "/docs/deep/" },
  { target: "/docs?v=2&x=%41", status: 301, location: "/docs/?v=2&x=%41" },
  { target: "/docs?", status: 301, location: "/docs/?" },
  { target: '/docs?q="<b>"', status: 301, location: "/docs/?q=%22%3Cb%3E%22" },
  { target: "/docs?p=100%", status: 301, location: "/docs/?p=100%25" },
  { target: "/a%20b", status: 301, location: "/a%20b/" },
  { target: "/caf%C3%A9", status: 301, location: "/caf%C3%A9/" },
  { target: "/q%22%3Cx%3E", status: 301, location: "/q%22%3Cx%3E/" },
  { target: "/docs%2Fdeep", status: 301, location: "/docs/deep/" },
  { target: "/docs-link", status: 301, location: "/docs-link/" },
  { target: "/empty", status: 301, location: "/empty/" },
  { target: "/uploads", status: 301, location: "/uploads/" },
  { target: "/index-is-folder/index.html", status: 301, location: "/index-is-folder/index.html/" },
  // A folder without index.html (listing is off by default).
  { target: "/empty/", status: 403 },
  { method: "HEAD", target: "/empty/", status: 403 },
  { target: "/uploads/", status: 403 },
  { target: "/index-is-folder/", status: 403 },
  // Not folders.
  { target: "/plain.html/", status: 404 },
  { target: "/docs/guide.html/", status: 404 },
  { target: "/nope/", status: 404 },
  { target: "/nope", status: 404 },
  { target: "/docs/nope/", status: 404 },
  // Confined like files: a symlink out of the root is refused, with or without the slash.
  { target: "/out", status: 403 },
  { target: "/out/", status: 403 },
  { target: "/out/index.html", status: 403 },
  // Dot-folders look absent.
  { target: "/.git/", status: 404 },
  { target: "/docs/.x/", status: 404 },
  // Still only GET and HEAD.
  { method: "POST", target: "/docs/", status: 405 },
  { method: "POST", target: "/docs", status: 405 },
  // Only a final empty segment is a folder's slash.
  { target: "/docs//", status: 403 },
  { target: "//docs/", status: 403 },
];

async function assertRow(site: Site, row: Row, res: RawResponse): Promise<void> {
  const label = `${row.method ?? "GET"} ${row.target}\n${describe(res)}`;
  assert.equal(res.status, row.status, label);
  if (row.file !== undefined) {
    const bytes = await Deno.readFile(`${site.root}/${row.file}`);
    assert.equal(res.header("content-type"), HTML, label);
    assert.equal(res.header("content-length"), String(bytes.length), label);
    if (row.method !== "HEAD") assert.deepEqual(res.body, bytes, label);
  }
  if (row.location !== undefined) {
    assert.equal(res.header("location"), row.location, label);
    assert.match(res.header("location") ?? "", /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/);
  } else {
    assert.equal(res.header("location"), null, label);
  }
  if (row.status >= 300 && row.method !== "HEAD") {
    assert.ok(res.text().startsWith(`${row.status} `), `short body naming the status: ${label}`);
  }
}

Deno.test("serveStatic() serves folders: index.html, 301 to the slash, 403 without an index", async (t) => {
  const site = await startSite();
  try {
    for (const row of ROWS) {
      const method = row.method ?? "GET";
      await t.step(`${method} ${row.target} → ${row.status}`, async () => {
        const fields: [string, string][] = method === "POST" ? [["Content-Length", "0"]] : [];
        await assertRow(site, row, await send(site.port, method, row.target, fields));
      });
    }
  } finally {
    await site.close();
  }
});

Deno.test("folderRedirect() keeps the query of an absolute-form target and leads to the index", async () => {
  const site = await startSite();
  try {
    const target = `http://127.0.0.1:${site.port}/docs?x=1`;
    const res = await exchange(site.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
    assert.equal(res.status, 301, describe(res));
    assert.equal(res.header("location"), "/docs/?x=1");
    const followed = await exchange(site.port, request(site.port, "GET", "/docs/?x=1"));
    assert.equal(followed.status, 200, describe(followed));
    assert.equal(followed.text(), FILES["docs/index.html"]);
  } finally {
    await site.close();
  }
});

Deno.test("serveStatic() with --strict-types: a folder is redirected and served, not 415", async () => {
  const site = await startSite({ strictTypes: true });
  try {
    await assertRow(
      site,
      { target: "/docs", status: 301, location: "/docs/" },
      await send(site.port, "GET", "/docs"),
    );
    await assertRow(
      site,
      { target: "/docs/", status: 200, file: "docs/index.html" },
      await send(site.port, "GET", "/docs/"),
    );
    await assertRow(
      site,
      { target: "/empty/", status: 403 },
      await send(site.port, "GET", "/empty/"),
    );
  } finally {
    await site.close();
  }
});

Deno.test("serveStatic() of a root without index.html: / is 403", async () => {
  const site = await startSite();
  try {
    await Deno.remove(`${site.root}/index.html`);
    const res = await send(site.port, "GET", "/");
    assert.equal(res.status, 403, describe(res));
  } finally {
    await site.close();
  }
});

const CACHE_MODES: { label: string; config: Partial<ServerConfig> }[] = [
  { label: "every hit confirmed by a stat", config: { fileCacheValidMs: 0 } },
  { label: "the watcher and its 1 s bound", config: { fileCacheValidMs: 1_000 } },
];

/** Polls until `probe` answers `status` (at most 3 s: the cache's 1 s bound, and slack). */
async function eventually(probe: () => Promise<RawResponse>, status: number): Promise<RawResponse> {
  const until = Date.now() + 3_000;
  for (;;) {
    const res = await probe();
    if (res.status === status || Date.now() > until) return res;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

for (const { label, config } of CACHE_MODES) {
  Deno.test(`serveStatic() never serves a folder stale (${label})`, async () => {
    const site = await startSite(config);
    try {
      const get = (target: string) => () => send(site.port, "GET", target);
      // A cached index, then removed: the folder is refused, then given an index again.
      for (let i = 0; i < 2; i++) assert.equal((await get("/docs/")()).status, 200);
      await Deno.remove(`${site.root}/docs/index.html`);
      assert.equal((await eventually(get("/docs/"), 403)).status, 403);
      await Deno.writeTextFile(`${site.root}/docs/index.html`, "<p>new</p>\n");
      const back = await eventually(get("/docs/"), 200);
      assert.equal(back.text(), "<p>new</p>\n");
      // A folder replaced by a file of the same name is that file at once (folders are not
      // cached); and the other way round.
      assert.equal((await get("/empty")()).status, 301);
      await Deno.remove(`${site.root}/empty`, { recursive: true });
      await Deno.writeTextFile(`${site.root}/empty`, "now a file");
      const file = await get("/empty")();
      assert.equal(file.status, 200, describe(file));
      assert.equal(file.text(), "now a file");
      await Deno.remove(`${site.root}/empty`);
      await Deno.mkdir(`${site.root}/empty`);
      assert.equal((await eventually(get("/empty"), 301)).status, 301);
    } finally {
      await site.close();
    }
  });
}
