/**
 * Static files end to end over raw TCP (SPEC.md "Static files", "Every response"): `/` is
 * index.html, every resource comes back with its content type, disposition and exact bytes,
 * HEAD matches GET without a body, and every response (errors too) carries Date and Server
 * while error bodies stay short and never echo the request target.
 */

import assert from "node:assert/strict";
import { exchange, get, RawClient, type RawResponse, requestHead } from "../helpers/raw_client.ts";
import { RESOURCES, tempDir, withServer } from "../helpers/server.ts";

const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const SERVER_FIELD = /^denohttpd\/\d+\.\d+\.\d+\S*$/;
const HTML = "text/html; charset=utf-8";
const OCTET = "application/octet-stream";
const JSON_TYPE = "application/json";

/** Every read is bounded; the largest files take a while on a loaded machine. */
const READ = { timeoutMs: 10_000 };

/** Index of the first differing byte, or -1 when equal (a readable failure for large files). */
function firstMismatch(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Date is an IMF-fixdate close to now, Server names denohttpd and its version. */
function assertCommonFields(res: RawResponse, label: string): void {
  const date = res.header("date");
  assert.ok(date !== null && IMF_FIXDATE.test(date), `${label}: Date ${date} is not IMF-fixdate`);
  const parsed = Date.parse(date);
  assert.equal(new Date(parsed).toUTCString(), date, `${label}: Date weekday/fields inconsistent`);
  assert.ok(Math.abs(parsed - Date.now()) < 10_000, `${label}: Date ${date} is not now`);
  const server = res.header("server");
  assert.ok(server !== null && SERVER_FIELD.test(server), `${label}: Server is ${server}`);
  assert.ok(res.header("content-length") !== null, `${label}: no Content-Length`);
  assert.ok(res.header("connection") !== null, `${label}: no Connection`);
}

interface ResourceRow {
  target: string;
  file: string;
  contentType: string;
  /** The filename in Content-Disposition, or null for inline. */
  attachment: string | null;
}

/** Every servable file in resources/, plus `/` (a new file there needs a new row here). */
const RESOURCE_ROWS: ResourceRow[] = [
  { target: "/", file: "index.html", contentType: HTML, attachment: null },
  { target: "/index.html", file: "index.html", contentType: HTML, attachment: null },
  { target: "/about.html", file: "about.html", contentType: HTML, attachment: null },
  { target: "/contact.html", file: "contact.html", contentType: HTML, attachment: null },
  { target: "/upload.html", file: "upload.html", contentType: HTML, attachment: null },
  { target: "/favicon.ico", file: "favicon.ico", contentType: "image/x-icon", attachment: null },
  { target: "/notes.txt", file: "notes.txt", contentType: OCTET, attachment: "notes.txt" },
  { target: "/sample.txt", file: "sample.txt", contentType: OCTET, attachment: "sample.txt" },
  { target: "/logo.png", file: "logo.png", contentType: OCTET, attachment: "logo.png" },
  { target: "/banner.png", file: "banner.png", contentType: OCTET, attachment: "banner.png" },
  { target: "/photo.jpg", file: "photo.jpg", contentType: OCTET, attachment: "photo.jpg" },
  { target: "/gallery.jpg", file: "gallery.jpg", contentType: OCTET, attachment: "gallery.jpg" },
  // Served by default; 415 under --strict-types (below).
  { target: "/sample.json", file: "sample.json", contentType: JSON_TYPE, attachment: null },
  { target: "/bad.json", file: "bad.json", contentType: JSON_TYPE, attachment: null },
  // A query string names the same resource.
  { target: "/index.html?v=1&x=y", file: "index.html", contentType: HTML, attachment: null },
];

Deno.test("GET of every resource: type, disposition and bytes exactly as on disk", async (t) => {
  await withServer({}, async (server) => {
    for (const row of RESOURCE_ROWS) {
      await t.step(`GET ${row.target}`, async () => {
        const expected = await Deno.readFile(`${RESOURCES}/${row.file}`);
        const res = await get(server.port, row.target, READ);
        assert.equal(res.status, 200);
        assert.equal(res.version, "HTTP/1.1");
        assert.equal(res.header("content-type"), row.contentType);
        assert.equal(
          res.header("content-disposition"),
          row.attachment === null ? null : `attachment; filename="${row.attachment}"`,
        );
        assert.equal(res.header("content-length"), String(expected.length));
        assert.equal(res.body.length, expected.length);
        assert.equal(firstMismatch(res.body, expected), -1, "body differs from the file");
        assertCommonFields(res, row.target);
      });
    }
  });
});

Deno.test("GET resources: every file in resources/ has a row in the table", async () => {
  const covered = new Set(RESOURCE_ROWS.map((row) => row.file));
  for await (const entry of Deno.readDir(RESOURCES)) {
    if (!entry.isFile) continue;
    assert.ok(covered.has(entry.name), `resources/${entry.name} is not covered by RESOURCE_ROWS`);
  }
});

Deno.test("GET files by extension: .jpeg and upper-case extensions are downloads", async (t) => {
  await withServer({}, async (server) => {
    // Only resources/uploads is writable by the test; files there are served like any other.
    const stem = `e2e_static_${crypto.randomUUID().slice(0, 8)}`;
    const files = [`${stem}.jpeg`, `${stem}.JPG`, `${stem}.TXT`];
    const content = crypto.getRandomValues(new Uint8Array(3000));
    try {
      for (const name of files) await Deno.writeFile(`${RESOURCES}/uploads/${name}`, content);
      for (const name of files) {
        await t.step(`GET /uploads/${name}`, async () => {
          const res = await get(server.port, `/uploads/${name}`, READ);
          assert.equal(res.status, 200);
          assert.equal(res.header("content-type"), OCTET);
          assert.equal(res.header("content-disposition"), `attachment; filename="${name}"`);
          assert.equal(firstMismatch(res.body, content), -1);
        });
      }
    } finally {
      for (const name of files) await Deno.remove(`${RESOURCES}/uploads/${name}`).catch(() => {});
    }
  });
});

Deno.test("GET with --strict-types: an unserved extension is 415, a missing file 404", async (t) => {
  await withServer({ strictTypes: true }, async (server) => {
    const stem = `e2e_static_${crypto.randomUUID().slice(0, 8)}`;
    const others = [`${stem}.js`, `${stem}.htm`, `${stem}.svg`, `${stem}`];
    const hidden = `.${stem}.html`;
    try {
      for (const name of [...others, hidden]) {
        await Deno.writeTextFile(`${RESOURCES}/uploads/${name}`, "x");
      }
      const rows: { target: string; status: number }[] = [
        { target: "/sample.json", status: 415 },
        { target: "/bad.json", status: 415 },
        ...others.map((name) => ({ target: `/uploads/${name}`, status: 415 })),
        { target: "/nope.html", status: 404 },
        { target: "/nope.txt", status: 404 },
        { target: "/no/such/dir/file.png", status: 404 },
        { target: "/index.html/extra", status: 404 },
        // A dotfile looks absent, whatever its type (tests/e2e/hidden_test.ts).
        { target: `/uploads/${hidden}`, status: 404 },
      ];
      for (const row of rows) {
        await t.step(`GET ${row.target} → ${row.status}`, async () => {
          const res = await get(server.port, row.target, READ);
          assert.equal(res.status, row.status);
          assert.equal(res.header("content-disposition"), null);
          assertCommonFields(res, row.target);
        });
      }
    } finally {
      for (const name of [...others, hidden]) {
        await Deno.remove(`${RESOURCES}/uploads/${name}`).catch(() => {});
      }
    }
  });
});

/** Files of a scratch root and how they are served without --strict-types. */
const WEB_ROWS: { name: string; contentType: string; attachment: boolean }[] = [
  { name: "style.css", contentType: "text/css; charset=utf-8", attachment: false },
  { name: "app.js", contentType: "text/javascript; charset=utf-8", attachment: false },
  { name: "app.mjs", contentType: "text/javascript; charset=utf-8", attachment: false },
  { name: "data.json", contentType: "application/json", attachment: false },
  { name: "app.js.map", contentType: "application/json", attachment: false },
  { name: "site.webmanifest", contentType: "application/manifest+json", attachment: false },
  { name: "logo.svg", contentType: "image/svg+xml", attachment: false },
  { name: "favicon.ico", contentType: "image/x-icon", attachment: false },
  { name: "font.woff2", contentType: "font/woff2", attachment: false },
  { name: "module.wasm", contentType: "application/wasm", attachment: false },
  { name: "page.htm", contentType: HTML, attachment: false },
  { name: "NOTES.MD", contentType: "text/markdown; charset=utf-8", attachment: false },
  // The original rows are unchanged.
  { name: "page.html", contentType: HTML, attachment: false },
  { name: "notes.txt", contentType: OCTET, attachment: true },
  { name: "photo.jpeg", contentType: OCTET, attachment: true },
  // Unknown or no extension: a download, never a guessed inline type.
  { name: "script.php", contentType: OCTET, attachment: true },
  { name: "Makefile", contentType: OCTET, attachment: true },
];

Deno.test("GET by default: web types inline with their registered type, unknown ones downloads", async (t) => {
  await using dir = await tempDir();
  const content = crypto.getRandomValues(new Uint8Array(2000));
  for (const { name } of WEB_ROWS) await Deno.writeFile(`${dir.path}/${name}`, content);
  await withServer({ root: dir.path }, async (server) => {
    for (const row of WEB_ROWS) {
      await t.step(`GET /${row.name} → ${row.contentType}`, async () => {
        const res = await get(server.port, `/${row.name}`, READ);
        assert.equal(res.status, 200);
        assert.equal(res.header("content-type"), row.contentType);
        assert.equal(
          res.header("content-disposition"),
          row.attachment ? `attachment; filename="${row.name}"` : null,
        );
        assert.equal(firstMismatch(res.body, content), -1);
        assertCommonFields(res, row.name);
      });
    }
  });
});

Deno.test("HEAD returns the GET headers without a body; the next pipelined response parses", async (t) => {
  await withServer({}, async (server) => {
    const compared = ["content-type", "content-disposition", "content-length", "connection"];
    const targets = ["/", "/about.html", "/notes.txt", "/banner.png", "/gallery.jpg", "/nope.html"];
    for (const target of targets) {
      await t.step(`HEAD ${target}`, async () => {
        const getRes = await get(server.port, target, READ);
        const client = await RawClient.connect(server.port);
        try {
          // HEAD then GET in one write: any stray body bytes after HEAD would corrupt the GET.
          await client.send(
            requestHead(server.port, target, { method: "HEAD" }) +
              requestHead(server.port, "/sample.txt"),
          );
          const head = await client.response({ head: true });
          assert.equal(head.status, getRes.status);
          for (const name of compared) assert.equal(head.header(name), getRes.header(name), name);
          assertCommonFields(head, `HEAD ${target}`);
          const next = await client.response();
          assert.equal(next.status, 200);
          assert.equal(
            firstMismatch(next.body, await Deno.readFile(`${RESOURCES}/sample.txt`)),
            -1,
          );
          assert.equal(client.pending, 0);
        } finally {
          client.close();
        }
      });
    }
  });
});

/** Requests that provoke each status; `{M}` is replaced with a unique marker. */
const STATUS_ROWS: { name: string; status: number; request: (port: number) => string }[] = [
  { name: "200", status: 200, request: (p) => requestHead(p, "/index.html?{M}") },
  { name: "400 bad escape", status: 400, request: (p) => requestHead(p, "/{M}%zz.html") },
  { name: "400 bad line", status: 400, request: () => "GET /{M} HTTP/1.1 junk\r\n\r\n" },
  { name: "403 traversal", status: 403, request: (p) => requestHead(p, "/../{M}.html") },
  { name: "403 host", status: 403, request: () => "GET /{M} HTTP/1.1\r\nHost: {M}:1\r\n\r\n" },
  { name: "404", status: 404, request: (p) => requestHead(p, "/{M}.html") },
  { name: "405", status: 405, request: (p) => requestHead(p, "/{M}.html", { method: "PUT" }) },
  { name: "414", status: 414, request: (p) => requestHead(p, `/{M}${"a".repeat(9000)}`) },
  { name: "415", status: 415, request: (p) => requestHead(p, "/sample.json?{M}") },
  {
    name: "431",
    status: 431,
    request: (p) =>
      `GET /{M} HTTP/1.1\r\nHost: 127.0.0.1:${p}\r\nX-{M}: ${"b".repeat(9000)}\r\n\r\n`,
  },
  { name: "501", status: 501, request: (p) => requestHead(p, "/{M}", { method: "BREW" }) },
  { name: "505", status: 505, request: () => "GET /{M} HTTP/2.0\r\n\r\n" },
];

Deno.test("every response carries IMF-fixdate Date and Server; error bodies never echo input", async (t) => {
  // The original table, where an unserved type is a 415.
  await withServer({ strictTypes: true }, async (server) => {
    for (const row of STATUS_ROWS) {
      await t.step(row.name, async () => {
        const marker = `mk${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
        const request = row.request(server.port).replaceAll("{M}", marker);
        const res = await exchange(server.port, request, READ);
        assert.equal(res.status, row.status);
        assertCommonFields(res, row.name);
        const head = res.fields.map(([n, v]) => `${n}: ${v}`).join("\n");
        assert.ok(!head.includes(marker), `header section echoes the marker:\n${head}`);
        if (row.status < 400) return;
        const body = res.text();
        assert.ok(!body.includes(marker), `error body echoes the marker: ${JSON.stringify(body)}`);
        assert.ok(body.length > 0 && body.length <= 200, `error body not short: ${body.length}`);
        assert.ok(body.includes(String(row.status)), `body does not name ${row.status}: ${body}`);
        assert.ok(body.includes(res.reason), `body does not name "${res.reason}": ${body}`);
        assert.ok(!/\bat .*:\d+:\d+/.test(body), "body looks like a stack trace");
      });
    }
  });
});
