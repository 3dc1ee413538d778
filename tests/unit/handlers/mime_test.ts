/**
 * mediaRule() and contentDisposition() (src/handlers/mime.ts): the SPEC.md "Content types" table,
 * RFC 6266 / RFC 8187 for downloads.
 */

import assert from "node:assert/strict";
import { contentDisposition, type MediaRule, mediaRule } from "../../../src/handlers/mime.ts";

const HTML: MediaRule = { contentType: "text/html; charset=utf-8", download: false };
const DOWNLOAD: MediaRule = { contentType: "application/octet-stream", download: true };

const RULE_CASES: ReadonlyArray<{ name: string; want: MediaRule | null }> = [
  { name: "index.html", want: HTML },
  { name: "about.HTML", want: HTML },
  { name: "Contact.Html", want: HTML },
  { name: "notes.txt", want: DOWNLOAD },
  { name: "NOTES.TXT", want: DOWNLOAD },
  { name: "logo.png", want: DOWNLOAD },
  { name: "logo.PNG", want: DOWNLOAD },
  { name: "photo.jpg", want: DOWNLOAD },
  { name: "photo.JPG", want: DOWNLOAD },
  { name: "photo.jpeg", want: DOWNLOAD },
  { name: "photo.JpEg", want: DOWNLOAD },
  { name: "archive.tar.txt", want: DOWNLOAD },
  { name: "my file (1).png", want: DOWNLOAD },
  { name: "é.txt", want: DOWNLOAD },
  // Not served: 415.
  { name: "README", want: null },
  { name: ".html", want: null },
  { name: ".txt", want: null },
  { name: ".htaccess", want: null },
  { name: "sample.json", want: null },
  { name: "script.js", want: null },
  { name: "style.css", want: null },
  { name: "page.htm", want: null },
  { name: "image.gif", want: null },
  { name: "index.html.bak", want: null },
  { name: "notes.txt~", want: null },
  { name: "file.", want: null },
  { name: "", want: null },
  { name: "html", want: null },
  { name: "photo.jpe", want: null },
  { name: "x.toString", want: null },
  { name: "x.constructor", want: null },
  { name: "x.__proto__", want: null },
];

for (const { name, want } of RULE_CASES) {
  const label = want === null ? "refuses" : `serves ${want.download ? "as download" : "inline"}`;
  Deno.test(`mediaRule() ${label} ${JSON.stringify(name)}`, () => {
    assert.deepEqual(mediaRule(name), want);
  });
}

const DISPOSITION_CASES: ReadonlyArray<
  { name: string; fileName: string; want: string | RegExp }
> = [
  { name: "plain name", fileName: "notes.txt", want: 'attachment; filename="notes.txt"' },
  { name: "upper-case name", fileName: "LOGO.PNG", want: 'attachment; filename="LOGO.PNG"' },
  {
    name: "spaces and punctuation",
    fileName: "my photo (1).jpg",
    want: 'attachment; filename="my photo (1).jpg"',
  },
  {
    name: "apostrophe",
    fileName: "it's.txt",
    want: `attachment; filename="it's.txt"`,
  },
  {
    name: "double quote",
    fileName: 'a"b.txt',
    want: `attachment; filename="a_b.txt"; filename*=UTF-8''a%22b.txt`,
  },
  {
    name: "backslash",
    fileName: "a\\b.txt",
    want: `attachment; filename="a_b.txt"; filename*=UTF-8''a%5Cb.txt`,
  },
  {
    name: "non-ASCII letter",
    fileName: "é.txt",
    want: `attachment; filename="_.txt"; filename*=UTF-8''%C3%A9.txt`,
  },
  {
    name: "non-ASCII with space, quote and parentheses",
    fileName: 'café "menu" (1).png',
    want: `attachment; filename="caf_ _menu_ (1).png"; ` +
      `filename*=UTF-8''caf%C3%A9%20%22menu%22%20%281%29.png`,
  },
  {
    name: "astral character",
    fileName: "😀.jpg",
    // The ASCII fallback's exact placeholder is cosmetic; filename* carries the real name.
    want: /^attachment; filename="_+\.jpg"; filename\*=UTF-8''%F0%9F%98%80\.jpg$/,
  },
  {
    name: "apostrophe beside non-ASCII",
    fileName: "l'été.txt",
    want: `attachment; filename="l'_t_.txt"; filename*=UTF-8''l%27%C3%A9t%C3%A9.txt`,
  },
  {
    name: "control character",
    fileName: "a\tb.txt",
    want: `attachment; filename="a_b.txt"; filename*=UTF-8''a%09b.txt`,
  },
];

for (const { name, fileName, want } of DISPOSITION_CASES) {
  Deno.test(`contentDisposition() handles ${name}: ${JSON.stringify(fileName)}`, () => {
    const got = contentDisposition(fileName);
    if (typeof want === "string") assert.equal(got, want);
    else assert.match(got, want);
    // A header value must stay visible ASCII (RFC 9110 §5.5): nothing echoed raw.
    assert.match(got, /^[\x20-\x7e]*$/);
  });
}
