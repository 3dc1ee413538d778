/**
 * mediaRule() and contentDisposition() (src/handlers/mime.ts): the SPEC.md "Content types" table
 * (all of `--strict-types`), the web types served by default, RFC 6266 / RFC 8187 for downloads.
 */

import assert from "node:assert/strict";
import {
  contentDisposition,
  type MediaRule,
  mediaRule,
  ORIGINAL_TYPES,
  uploadRule,
  WEB_TYPES,
} from "../../../src/handlers/mime.ts";

const HTML: MediaRule = { contentType: "text/html; charset=utf-8", download: false };
const DOWNLOAD: MediaRule = { contentType: "application/octet-stream", download: true };

function inline(contentType: string): MediaRule {
  return { contentType, download: false };
}

/**
 * `strict`: mediaRule(name, true), the original table (null: 415). `web`: mediaRule(name), the
 * default; omitted where it equals `strict`.
 */
const RULE_CASES: ReadonlyArray<{ name: string; strict: MediaRule | null; web?: MediaRule }> = [
  // The original five rows, the same in both tables.
  { name: "index.html", strict: HTML },
  { name: "about.HTML", strict: HTML },
  { name: "Contact.Html", strict: HTML },
  { name: "notes.txt", strict: DOWNLOAD },
  { name: "NOTES.TXT", strict: DOWNLOAD },
  { name: "logo.png", strict: DOWNLOAD },
  { name: "logo.PNG", strict: DOWNLOAD },
  { name: "photo.jpg", strict: DOWNLOAD },
  { name: "photo.JPG", strict: DOWNLOAD },
  { name: "photo.jpeg", strict: DOWNLOAD },
  { name: "photo.JpEg", strict: DOWNLOAD },
  { name: "archive.tar.txt", strict: DOWNLOAD },
  { name: "my file (1).png", strict: DOWNLOAD },
  { name: "é.txt", strict: DOWNLOAD },
  // Web types: 415 under --strict-types, their registered type inline otherwise.
  { name: "page.htm", strict: null, web: HTML },
  { name: "page.xhtml", strict: null, web: inline("application/xhtml+xml") },
  { name: "style.css", strict: null, web: inline("text/css; charset=utf-8") },
  { name: "STYLE.CSS", strict: null, web: inline("text/css; charset=utf-8") },
  { name: "script.js", strict: null, web: inline("text/javascript; charset=utf-8") },
  { name: "module.mjs", strict: null, web: inline("text/javascript; charset=utf-8") },
  { name: "sample.json", strict: null, web: inline("application/json") },
  { name: "app.js.map", strict: null, web: inline("application/json") },
  { name: "data.jsonld", strict: null, web: inline("application/ld+json") },
  { name: "site.webmanifest", strict: null, web: inline("application/manifest+json") },
  { name: "feed.xml", strict: null, web: inline("application/xml") },
  { name: "feed.rss", strict: null, web: inline("application/rss+xml") },
  { name: "feed.atom", strict: null, web: inline("application/atom+xml") },
  { name: "table.csv", strict: null, web: inline("text/csv; charset=utf-8") },
  { name: "README.md", strict: null, web: inline("text/markdown; charset=utf-8") },
  { name: "captions.vtt", strict: null, web: inline("text/vtt; charset=utf-8") },
  { name: "paper.pdf", strict: null, web: inline("application/pdf") },
  { name: "module.wasm", strict: null, web: inline("application/wasm") },
  { name: "logo.svg", strict: null, web: inline("image/svg+xml") },
  { name: "favicon.ico", strict: null, web: inline("image/x-icon") },
  { name: "image.gif", strict: null, web: inline("image/gif") },
  { name: "image.webp", strict: null, web: inline("image/webp") },
  { name: "image.avif", strict: null, web: inline("image/avif") },
  { name: "image.apng", strict: null, web: inline("image/apng") },
  { name: "image.bmp", strict: null, web: inline("image/bmp") },
  { name: "scan.tif", strict: null, web: inline("image/tiff") },
  { name: "scan.tiff", strict: null, web: inline("image/tiff") },
  { name: "font.woff", strict: null, web: inline("font/woff") },
  { name: "font.woff2", strict: null, web: inline("font/woff2") },
  { name: "font.ttf", strict: null, web: inline("font/ttf") },
  { name: "font.otf", strict: null, web: inline("font/otf") },
  { name: "song.mp3", strict: null, web: inline("audio/mpeg") },
  { name: "song.ogg", strict: null, web: inline("audio/ogg") },
  { name: "song.oga", strict: null, web: inline("audio/ogg") },
  { name: "sound.wav", strict: null, web: inline("audio/wav") },
  { name: "song.flac", strict: null, web: inline("audio/flac") },
  { name: "song.m4a", strict: null, web: inline("audio/mp4") },
  { name: "song.aac", strict: null, web: inline("audio/aac") },
  { name: "clip.mp4", strict: null, web: inline("video/mp4") },
  { name: "clip.m4v", strict: null, web: inline("video/mp4") },
  { name: "clip.webm", strict: null, web: inline("video/webm") },
  { name: "clip.ogv", strict: null, web: inline("video/ogg") },
  // Unknown or no extension: 415 under --strict-types, a download otherwise.
  { name: "README", strict: null, web: DOWNLOAD },
  { name: ".html", strict: null, web: DOWNLOAD },
  { name: ".txt", strict: null, web: DOWNLOAD },
  { name: ".htaccess", strict: null, web: DOWNLOAD },
  { name: "index.html.bak", strict: null, web: DOWNLOAD },
  { name: "notes.txt~", strict: null, web: DOWNLOAD },
  { name: "run.sh", strict: null, web: DOWNLOAD },
  { name: "server.php", strict: null, web: DOWNLOAD },
  { name: "archive.zip", strict: null, web: DOWNLOAD },
  { name: "file.", strict: null, web: DOWNLOAD },
  { name: "", strict: null, web: DOWNLOAD },
  { name: "html", strict: null, web: DOWNLOAD },
  { name: "photo.jpe", strict: null, web: DOWNLOAD },
  { name: "x.toString", strict: null, web: DOWNLOAD },
  { name: "x.constructor", strict: null, web: DOWNLOAD },
  { name: "x.__proto__", strict: null, web: DOWNLOAD },
  { name: "x.hasOwnProperty", strict: null, web: DOWNLOAD },
];

function describeRule(rule: MediaRule | null): string {
  if (rule === null) return "refuses";
  return `serves ${rule.download ? "as download" : `inline as ${rule.contentType}`}`;
}

for (const { name, strict, web } of RULE_CASES) {
  const want = web ?? strict;
  Deno.test(`mediaRule() ${describeRule(want)} ${JSON.stringify(name)}`, () => {
    assert.deepEqual(mediaRule(name), want);
  });
  Deno.test(`mediaRule(strict) ${describeRule(strict)} ${JSON.stringify(name)}`, () => {
    assert.deepEqual(mediaRule(name, true), strict);
  });
}

Deno.test("WEB_TYPES keeps the five original rows exactly", () => {
  assert.deepEqual(Object.keys(ORIGINAL_TYPES).sort(), [".html", ".jpeg", ".jpg", ".png", ".txt"]);
  for (const [extension, rule] of Object.entries(ORIGINAL_TYPES)) {
    assert.deepEqual(WEB_TYPES[extension], rule, extension);
  }
});

Deno.test("WEB_TYPES: text types say charset=utf-8, JSON and XML types no charset", () => {
  for (const [extension, { contentType, download }] of Object.entries(WEB_TYPES)) {
    if (extension in ORIGINAL_TYPES) continue;
    assert.equal(download, false, `${extension} is inline`);
    const [type, ...parameters] = contentType.split("; ");
    assert.match(type ?? "", /^[a-z]+\/[a-z0-9.+-]+$/, `${extension}: ${contentType}`);
    if (type?.startsWith("text/")) assert.deepEqual(parameters, ["charset=utf-8"], extension);
    else assert.deepEqual(parameters, [], `${extension}: ${contentType}`);
  }
});

const UPLOAD_CASES: ReadonlyArray<{ name: string; want: MediaRule | null }> = [
  { name: "upload_20260101_000000_abcd.json", want: inline("application/json") },
  { name: "UPLOAD.JSON", want: inline("application/json") },
  { name: "notes.txt", want: null },
  { name: "upload.json.tmp", want: null },
  { name: "json", want: null },
];

for (const { name, want } of UPLOAD_CASES) {
  Deno.test(`uploadRule() ${describeRule(want)} ${JSON.stringify(name)}`, () => {
    assert.deepEqual(uploadRule(name), want);
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
