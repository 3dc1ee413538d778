/**
 * Folder listings end to end over raw TCP (README "Folders"): off by default, `--listing` lists
 * a folder without index.html (hidden entries and symlinks out of the root left out, every link
 * working), HEAD is GET without the body, the uploads folder only with `--list-uploads`, a
 * listing never stale and never outside the root.
 */

import assert from "node:assert/strict";
import type { ServerConfig } from "../../src/config.ts";
import type { RawResponse } from "../helpers/raw_client.ts";
import { describe, send } from "../helpers/file_responses.ts";
import { startTestServer, symlink, tempDir } from "../helpers/server.ts";

const HTML = "text/html; charset=utf-8";
const UPLOAD = "upload_20260101_000000_abcd.json";

const FILES: Record<string, string> = {
  "index.html": "<!doctype html><title>root</title>\n",
  "files/small.txt": "12345",
  "files/page.html": "<p>page</p>\n",
  "files/a b&c.css": "p {}\n",
  "files/<b>.json": "{}",
  "files/café.md": "# café\n",
  "files/sub/inner.txt": "inner",
  "files/.env": "SECRET=1\n",
  "files/.git/config": "[core]\n",
  "docs/index.html": "<p>docs index</p>\n",
  [`uploads/${UPLOAD}`]: '{"a":1}',
  "uploads/.upload-AbCdEf123456.tmp": '{"partial":',
};

interface Site {
  port: number;
  root: string;
  close(): Promise<void>;
}

async function startSite(config: Partial<ServerConfig>): Promise<Site> {
  const dir = await tempDir();
  const root = `${dir.path}/root`;
  for (const [name, text] of Object.entries(FILES)) {
    const path = `${root}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, text);
  }
  await Deno.mkdir(`${root}/empty`);
  await Deno.mkdir(`${dir.path}/outside`);
  await Deno.writeTextFile(`${dir.path}/outside/secret.txt`, "outside");
  await symlink("page.html", `${root}/files/alias.html`);
  await symlink("../docs", `${root}/files/docs-link`);
  await symlink(".env", `${root}/files/env-link.txt`);
  await symlink(`${dir.path}/outside/secret.txt`, `${root}/files/escape.txt`);
  await symlink("../../outside", `${root}/files/outdir`);
  await symlink("../outside", `${root}/out`);
  await symlink("missing.txt", `${root}/files/dangling.txt`);
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

/** The links and their texts on a listing page, in order. */
function links(res: RawResponse): { href: string; text: string }[] {
  return [...res.text().matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => ({
    href: m[1] as string,
    text: m[2] as string,
  }));
}

function assertListing(res: RawResponse, label: string): void {
  assert.equal(res.status, 200, `${label}\n${describe(res)}`);
  assert.equal(res.header("content-type"), HTML, label);
  assert.equal(res.header("x-content-type-options"), "nosniff", label);
  for (const name of ["etag", "last-modified", "cache-control", "content-disposition"]) {
    assert.equal(res.header(name), null, `${label}: ${name} on a listing`);
  }
}

Deno.test("serveFolder() lists only with --listing: 403 by default", async () => {
  const site = await startSite({});
  try {
    for (const target of ["/files/", "/empty/", "/uploads/"]) {
      const res = await send(site.port, "GET", target);
      assert.equal(res.status, 403, `${target}\n${describe(res)}`);
    }
  } finally {
    await site.close();
  }
});

Deno.test("serveFolder() --listing: visible entries, folders first, links encoded, parent link", async () => {
  const site = await startSite({ listing: true, cacheControl: "max-age=60" });
  try {
    const res = await send(site.port, "GET", "/files/");
    assertListing(res, "GET /files/");
    assert.deepEqual(links(res), [
      { href: "../", text: "../" },
      { href: "docs-link/", text: "docs-link/" },
      { href: "sub/", text: "sub/" },
      { href: "%3Cb%3E.json", text: "&lt;b&gt;.json" },
      { href: "a%20b%26c.css", text: "a b&amp;c.css" },
      { href: "alias.html", text: "alias.html" },
      { href: "caf%C3%A9.md", text: "café.md" },
      { href: "page.html", text: "page.html" },
      { href: "small.txt", text: "small.txt" },
    ]);
    const text = res.text();
    assert.ok(text.includes("<title>Index of /files/</title>"), text);
    assert.match(text, /<a href="small.txt">small.txt<\/a><\/td><td class="size">5<\/td>/);
    for (const hidden of [".env", ".git", "env-link", "escape", "outdir", "dangling", "secret"]) {
      assert.ok(!text.includes(hidden), `${hidden} is listed:\n${text}`);
    }
  } finally {
    await site.close();
  }
});

Deno.test("serveFolder() --listing: every link of a listing leads somewhere served", async () => {
  const site = await startSite({ listing: true });
  try {
    const res = await send(site.port, "GET", "/files/");
    assertListing(res, "GET /files/");
    for (const { href } of links(res)) {
      const target = new URL(href.replaceAll("&#39;", "'"), "http://x/files/").pathname;
      const linked = await send(site.port, "GET", target);
      assert.equal(linked.status, 200, `${href} → ${target}\n${describe(linked)}`);
    }
  } finally {
    await site.close();
  }
});

Deno.test("serveFolder() --listing: HEAD has GET's status and fields, no body", async () => {
  const site = await startSite({ listing: true });
  try {
    for (const target of ["/files/", "/empty/", "/files/sub/"]) {
      const get = await send(site.port, "GET", target);
      const head = await send(site.port, "HEAD", target);
      assertListing(get, `GET ${target}`);
      assertListing(head, `HEAD ${target}`);
      assert.equal(head.header("content-length"), String(get.body.length));
      assert.equal(head.body.length, 0);
    }
  } finally {
    await site.close();
  }
});

Deno.test("serveFolder() --listing: the root has no parent link; /dir still redirects", async () => {
  const site = await startSite({ listing: true });
  try {
    await Deno.remove(`${site.root}/index.html`);
    const root = await send(site.port, "GET", "/");
    assertListing(root, "GET /");
    assert.equal(links(root)[0]?.href, "docs/");
    assert.ok(!root.text().includes('href="../"'));
    const redirect = await send(site.port, "GET", "/empty");
    assert.equal(redirect.status, 301, describe(redirect));
    assert.equal(redirect.header("location"), "/empty/");
    // A folder with an index.html is served by it, listing or not.
    const docs = await send(site.port, "GET", "/docs/");
    assert.equal(docs.text(), FILES["docs/index.html"]);
  } finally {
    await site.close();
  }
});

Deno.test("serveFolder() --listing stays inside the root and hides dot-folders", async () => {
  const site = await startSite({ listing: true });
  try {
    const rows = [
      { target: "/out/", status: 403 },
      { target: "/files/outdir/", status: 403 },
      { target: "/files/.git/", status: 404 },
      { target: "/files/%2Egit/", status: 404 },
      { target: "/nope/", status: 404 },
    ];
    for (const { target, status } of rows) {
      const res = await send(site.port, "GET", target);
      assert.equal(res.status, status, `${target}\n${describe(res)}`);
    }
    const viaLink = await send(site.port, "GET", "/files/docs-link/");
    assert.equal(viaLink.text(), FILES["docs/index.html"]);
  } finally {
    await site.close();
  }
});

const UPLOADS_MODES: {
  label: string;
  config: Partial<ServerConfig>;
  uploads: number;
  files: number;
}[] = [
  { label: "--listing", config: { listing: true }, uploads: 403, files: 200 },
  { label: "--list-uploads", config: { listUploads: true }, uploads: 200, files: 403 },
  { label: "both", config: { listing: true, listUploads: true }, uploads: 200, files: 200 },
];

for (const mode of UPLOADS_MODES) {
  Deno.test(`serveFolder() lists /uploads/ only with --list-uploads (${mode.label})`, async () => {
    const site = await startSite(mode.config);
    try {
      await symlink("uploads", `${site.root}/uploads-link`);
      const files = await send(site.port, "GET", "/files/");
      assert.equal(files.status, mode.files, describe(files));
      for (const target of ["/uploads/", "/uploads-link/"]) {
        const res = await send(site.port, "GET", target);
        assert.equal(res.status, mode.uploads, `${target}\n${describe(res)}`);
        if (res.status !== 200) continue;
        assertListing(res, target);
        // The temporary file of an upload in progress is never listed.
        assert.deepEqual(links(res), [
          { href: "../", text: "../" },
          { href: UPLOAD, text: UPLOAD },
        ]);
      }
    } finally {
      await site.close();
    }
  });
}

Deno.test("serveFolder() --listing is never stale: entries added, removed, an index.html added", async () => {
  const site = await startSite({ listing: true, fileCacheValidMs: 1_000 });
  try {
    const names = async () => links(await send(site.port, "GET", "/empty/")).map((l) => l.href);
    assert.deepEqual(await names(), ["../"]);
    await Deno.writeTextFile(`${site.root}/empty/new.txt`, "new");
    assert.deepEqual(await names(), ["../", "new.txt"]);
    await Deno.mkdir(`${site.root}/empty/folder`);
    assert.deepEqual(await names(), ["../", "folder/", "new.txt"]);
    await Deno.remove(`${site.root}/empty/new.txt`);
    assert.deepEqual(await names(), ["../", "folder/"]);
    await Deno.writeTextFile(`${site.root}/empty/index.html`, "<p>now an index</p>\n");
    const res = await send(site.port, "GET", "/empty/");
    assert.equal(res.text(), "<p>now an index</p>\n");
  } finally {
    await site.close();
  }
});

Deno.test("serveFolder() --listing with --strict-types still lists", async () => {
  const site = await startSite({ listing: true, strictTypes: true });
  try {
    const res = await send(site.port, "GET", "/files/sub/");
    assertListing(res, "GET /files/sub/");
    assert.deepEqual(links(res).map((l) => l.href), ["../", "inner.txt"]);
  } finally {
    await site.close();
  }
});
