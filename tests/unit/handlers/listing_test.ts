/**
 * escapeHtml(), sortEntries() and renderListing() (src/handlers/listing.ts): names escaped as
 * text and percent-encoded as links, folders first then files in code-unit order, a parent link
 * except at the root, sizes and UTC dates.
 */

import assert from "node:assert/strict";
import {
  escapeHtml,
  type ListingEntry,
  renderListing,
  sortEntries,
} from "../../../src/handlers/listing.ts";

const ESCAPE_CASES: ReadonlyArray<{ text: string; want: string }> = [
  { text: "plain name.txt", want: "plain name.txt" },
  { text: "a&b", want: "a&amp;b" },
  { text: "<script>", want: "&lt;script&gt;" },
  { text: `"double" 'single'`, want: "&quot;double&quot; &#39;single&#39;" },
  { text: "&amp;", want: "&amp;amp;" },
  { text: "é😀", want: "é😀" },
];

for (const { text, want } of ESCAPE_CASES) {
  Deno.test(`escapeHtml() escapes ${JSON.stringify(text)}`, () => {
    assert.equal(escapeHtml(text), want);
  });
}

function file(name: string, size = 1, mtimeMs: number | null = 0): ListingEntry {
  return { name, folder: false, size, mtimeMs };
}

function folder(name: string): ListingEntry {
  return { name, folder: true, size: 4096, mtimeMs: 0 };
}

Deno.test("sortEntries() puts folders first, then files, each in code-unit order", () => {
  const entries = [
    file("b.txt"),
    folder("zeta"),
    file("B.txt"),
    file("a10.txt"),
    folder("Alpha"),
    file("a2.txt"),
    file("é.txt"),
    file("z.txt"),
    folder("alpha"),
  ];
  assert.deepEqual(sortEntries(entries).map((e) => e.name), [
    "Alpha",
    "alpha",
    "zeta",
    "B.txt",
    "a10.txt",
    "a2.txt",
    "b.txt",
    "z.txt",
    "é.txt",
  ]);
  // A copy: the input is left as it was.
  assert.equal(entries[0]?.name, "b.txt");
});

/** The links and link texts of a listing page, in order. */
function links(html: string): { href: string; text: string }[] {
  return [...html.matchAll(/<a href="([^"]*)">([^<]*)<\/a>/g)].map((m) => ({
    href: m[1] as string,
    text: m[2] as string,
  }));
}

const NAME_CASES: ReadonlyArray<{ name: string; folder?: boolean; href: string; text: string }> = [
  { name: "index.txt", href: "index.txt", text: "index.txt" },
  { name: "sub", folder: true, href: "sub/", text: "sub/" },
  { name: "a b&c.txt", href: "a%20b%26c.txt", text: "a b&amp;c.txt" },
  {
    name: "<img src=x onerror=alert(1)>.html",
    href: "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.html",
    text: "&lt;img src=x onerror=alert(1)&gt;.html",
  },
  { name: `"q'.txt`, href: "%22q&#39;.txt", text: "&quot;q&#39;.txt" },
  { name: "javascript:alert(1)", href: "javascript%3Aalert(1)", text: "javascript:alert(1)" },
  { name: "?x#y", href: "%3Fx%23y", text: "?x#y" },
  { name: "100%.txt", href: "100%25.txt", text: "100%.txt" },
  { name: "café", folder: true, href: "caf%C3%A9/", text: "café/" },
  { name: "😀.png", href: "%F0%9F%98%80.png", text: "😀.png" },
];

for (const c of NAME_CASES) {
  Deno.test(`renderListing() escapes and encodes ${JSON.stringify(c.name)}`, () => {
    const entry = c.folder === true ? folder(c.name) : file(c.name);
    const html = renderListing("/docs/", [entry]);
    assert.deepEqual(links(html), [{ href: "../", text: "../" }, { href: c.href, text: c.text }]);
    // The raw name never appears where it could be markup.
    if (/[<>&"]/.test(c.name)) assert.ok(!html.includes(c.name), html);
  });
}

Deno.test("renderListing() links every entry relatively, with only URI characters", () => {
  const names = NAME_CASES.map((c) => c.name);
  const html = renderListing("/docs/", names.map((name) => file(name)));
  for (const { href } of links(html)) {
    // escapeHtml's &#39; is the only reference an encoded name needs.
    assert.match(href.replaceAll("&#39;", "'"), /^[A-Za-z0-9\-._~!*'()%/]+$/, href);
    assert.ok(!href.startsWith("/"), `absolute link ${href}`);
  }
});

Deno.test("renderListing() has a parent link except at the root", () => {
  assert.deepEqual(links(renderListing("/", [file("a.txt")])), [
    { href: "a.txt", text: "a.txt" },
  ]);
  assert.equal(links(renderListing("/a/b/", []))[0]?.href, "../");
});

Deno.test("renderListing() escapes the folder's path in the title and heading", () => {
  const html = renderListing('/<b>"x"&/', []);
  assert.ok(html.includes("<title>Index of /&lt;b&gt;&quot;x&quot;&amp;/</title>"), html);
  assert.ok(html.includes("<h1>Index of /&lt;b&gt;&quot;x&quot;&amp;/</h1>"), html);
  assert.ok(!html.includes("<b>"), html);
});

Deno.test("renderListing() shows exact sizes for files, - for folders, and UTC dates", () => {
  const mtime = Date.UTC(2026, 10, 25, 20, 49, 50, 750);
  const html = renderListing("/", [
    { name: "big.bin", folder: false, size: 1234567, mtimeMs: mtime },
    { name: "sub", folder: true, size: 4096, mtimeMs: mtime },
    { name: "undated.txt", folder: false, size: 0, mtimeMs: null },
  ]);
  const rows = [...html.matchAll(/<tr><td>.*<\/td><\/tr>/g)].map((m) => m[0]);
  const date = '<time datetime="2026-11-25T20:49:50Z">2026-11-25 20:49:50</time>';
  assert.deepEqual(rows, [
    `<tr><td><a href="sub/">sub/</a></td><td class="size">-</td><td>${date}</td></tr>`,
    `<tr><td><a href="big.bin">big.bin</a></td><td class="size">1234567</td><td>${date}</td></tr>`,
    `<tr><td><a href="undated.txt">undated.txt</a></td><td class="size">0</td><td></td></tr>`,
  ]);
});

Deno.test("renderListing() of an empty folder is a whole page", () => {
  const html = renderListing("/empty/", []);
  assert.match(html, /^<!DOCTYPE html>\n<html lang="en">\n/);
  assert.ok(html.includes('<meta charset="utf-8">'));
  assert.ok(html.endsWith("</html>\n"));
  assert.deepEqual(links(html), [{ href: "../", text: "../" }]);
});
