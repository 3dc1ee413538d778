/**
 * Content codings end to end over raw TCP (RFC 9110 §8.4, §12.5.3, §13, §14): compressible
 * cached files in br and gzip as the request's Accept-Encoding selects, each decoding (node:zlib)
 * to exactly the file; Vary on every response about such a file and on none about others; the
 * variants' own ETags for If-None-Match, If-Match and If-Range; ranges over the coded bytes;
 * HEAD as GET; precompressed siblings for cached and streamed files; a change on disk reaching
 * the variants; uploads never compressed; and `--no-compression` giving the responses of
 * before, byte for byte. Every server serves a scratch root under tests/.tmp.
 */

import assert from "node:assert/strict";
import zlib from "node:zlib";
import type { ServerConfig } from "../../src/config.ts";
import { RawClient, type RawResponse, requestHead } from "../helpers/raw_client.ts";
import {
  assertBytes,
  assertHeadLikeGet,
  describe,
  type FieldList,
  lastModifiedOf,
  randomBytes,
  request,
  send,
} from "../helpers/file_responses.ts";
import { symlink, tempDir, tempRoot, waitFor, withServer } from "../helpers/server.ts";

const BROWSER: FieldList = [["Accept-Encoding", "gzip, deflate, br, zstd"]];
const GZIP_ONLY: FieldList = [["Accept-Encoding", "gzip"]];
const APP = "https://app.example";
/** The files' mtime, with a fraction of a second that Last-Modified drops. */
const MTIME = new Date("2020-01-05T10:20:30.750Z");
const encoder = new TextEncoder();

/** Text that compresses as real pages do: repeated markup with varying words. */
function text(lines: number, seed: string): Uint8Array {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    out.push(`<p class="row-${i % 7}">${seed} line ${i}: ${(i * 7919 % 10007).toString(36)}</p>`);
  }
  return encoder.encode(out.join("\n") + "\n");
}

/** Compressible small files, their type, and whether a variant of each coding is made. */
const TEXT_FILES: Record<string, { type: string; bytes: Uint8Array }> = {
  "page.html": { type: "text/html; charset=utf-8", bytes: text(120, "page") },
  "style.css": { type: "text/css; charset=utf-8", bytes: text(60, "style") },
  "app.js": { type: "text/javascript; charset=utf-8", bytes: text(50, "app") },
  "data.json": {
    type: "application/json",
    bytes: encoder.encode(
      JSON.stringify({ rows: Array.from({ length: 60 }, (_, i) => ({ id: i, name: `row ${i}` })) }),
    ),
  },
  "icon.svg": { type: "image/svg+xml", bytes: text(20, "svg") },
  "notes.txt": { type: "application/octet-stream", bytes: text(30, "notes") },
};
/** Small files that are never compressed: an image, one too small, one that does not shrink. */
const PLAIN_FILES: Record<string, Uint8Array> = {
  "logo.png": randomBytes(3000),
  "tiny.css": encoder.encode("a { color: red }\n".repeat(5)),
  "noise.txt": randomBytes(2000),
};
/** A small file with a precompressed br sibling (no gzip one), and two streamed files. */
const PRE = "pre.css";
const BIG_WITH_SIBLINGS = "big.css";
const BIG_PLAIN = "big.js";

interface Site {
  port: number;
  root: string;
  path(name: string): string;
  bytes(name: string): Uint8Array;
}

async function withSite(
  config: Partial<ServerConfig>,
  fn: (site: Site) => Promise<void>,
): Promise<void> {
  await using dir = await tempRoot({ files: [] });
  const files: Record<string, Uint8Array> = { ...PLAIN_FILES };
  for (const [name, { bytes }] of Object.entries(TEXT_FILES)) files[name] = bytes;
  files[PRE] = text(40, "pre");
  // Made at another quality than the server's, so a response can be told to come from it.
  files[`${PRE}.br`] = zlib.brotliCompressSync(files[PRE], {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 2 },
  });
  files[BIG_WITH_SIBLINGS] = text(2000, "big");
  files[`${BIG_WITH_SIBLINGS}.br`] = zlib.brotliCompressSync(files[BIG_WITH_SIBLINGS]);
  files[`${BIG_WITH_SIBLINGS}.gz`] = zlib.gzipSync(files[BIG_WITH_SIBLINGS]);
  files[BIG_PLAIN] = text(2000, "script");
  for (const [name, data] of Object.entries(files)) {
    await Deno.writeFile(`${dir.path}/${name}`, data);
    await Deno.utime(`${dir.path}/${name}`, MTIME, MTIME);
  }
  await withServer({ root: dir.path, ...config }, (server) =>
    fn({
      port: server.port,
      root: dir.path,
      path: (name) => `${dir.path}/${name}`,
      bytes: (name) => files[name] as Uint8Array,
    }));
}

function decode(coding: string | null, body: Uint8Array): Uint8Array {
  if (coding === "br") return zlib.brotliDecompressSync(body);
  if (coding === "gzip") return zlib.gunzipSync(body);
  assert.equal(coding, null, `unexpected coding ${coding}`);
  return body;
}

/** The values of every Vary field line. */
function varies(res: RawResponse): string[] {
  return res.fields.filter(([name]) => name === "vary").map(([, value]) => value);
}

/** The identity ETag of a file (from a request without Accept-Encoding). */
async function identityTag(site: Site, name: string): Promise<string> {
  const res = await send(site.port, "HEAD", `/${name}`);
  return res.header("etag") as string;
}

/** `"<tag>-<coding>"`: a variant's ETag from its identity's. */
function variantTag(tag: string, coding: string): string {
  return `${tag.slice(0, -1)}-${coding}"`;
}

/** The ETag the server gives a file of `path`'s size and mtime, with a coding suffix. */
async function fileTag(path: string, coding: string): Promise<string> {
  const info = await Deno.stat(path);
  return `"${info.size.toString(16)}-${info.mtime!.getTime().toString(16)}-${coding}"`;
}

Deno.test("compression: a browser gets br, gzip-only clients gzip, others identity; each decodes to the file", async (t) => {
  const cases: { fields: FieldList; coding: string | null }[] = [
    { fields: [], coding: null },
    { fields: BROWSER, coding: "br" },
    { fields: [["Accept-Encoding", "gzip, deflate, br"]], coding: "br" },
    { fields: [["Accept-Encoding", "gzip, deflate"]], coding: "gzip" },
    { fields: GZIP_ONLY, coding: "gzip" },
    { fields: [["Accept-Encoding", "x-gzip"]], coding: "gzip" },
    { fields: [["Accept-Encoding", "br;q=0.5, gzip;q=0.9"]], coding: "gzip" },
    { fields: [["Accept-Encoding", "br;q=0, gzip;q=0"]], coding: null },
    { fields: [["Accept-Encoding", "identity"]], coding: null },
    { fields: [["Accept-Encoding", "identity;q=0"]], coding: null },
    { fields: [["Accept-Encoding", ""]], coding: null },
    { fields: [["Accept-Encoding", "*"]], coding: "br" },
    { fields: [["Accept-Encoding", "deflate, zstd"]], coding: null },
    { fields: [["Accept-Encoding", "gzip"], ["Accept-Encoding", "br"]], coding: "br" },
  ];
  await withSite({}, async (site) => {
    for (const [name, { type, bytes }] of Object.entries(TEXT_FILES)) {
      const tag = await identityTag(site, name);
      const lastModified = await lastModifiedOf(site.path(name));
      await t.step(name, async () => {
        for (const { fields, coding } of cases) {
          const label = `${name} with ${JSON.stringify(fields)}`;
          const res = await send(site.port, "GET", `/${name}`, fields);
          assert.equal(res.status, 200, `${label}\n${describe(res)}`);
          assert.equal(res.header("content-encoding"), coding, label);
          assert.equal(res.header("content-type"), type, label);
          assert.deepEqual(varies(res), ["Accept-Encoding"], label);
          assert.equal(res.header("content-length"), String(res.body.length), label);
          assert.equal(res.header("etag"), coding === null ? tag : variantTag(tag, coding), label);
          assert.equal(res.header("last-modified"), lastModified, label);
          assert.equal(res.header("accept-ranges"), "bytes", label);
          assertBytes(decode(coding, res.body), bytes, label);
          if (coding !== null) assert.ok(res.body.length < bytes.length * 0.95, label);
        }
      });
    }
  });
});

Deno.test("compression: Vary on every response about a compressible file (200, 206, 304, 412, 416, HEAD), none about others", async () => {
  await withSite({}, async (site) => {
    const requests = async (name: string) => {
      const tag = await identityTag(site, name);
      // The br variant's tag: made from the identity's, or a sibling's own.
      const brTag = (await send(site.port, "HEAD", `/${name}`, BROWSER)).header("etag") as string;
      const br = [...BROWSER];
      return [
        await send(site.port, "GET", `/${name}`),
        await send(site.port, "GET", `/${name}`, br),
        await send(site.port, "HEAD", `/${name}`, br),
        await send(site.port, "GET", `/${name}`, [...br, ["Range", "bytes=0-9"]]),
        await send(site.port, "GET", `/${name}`, [["Range", "bytes=0-9"]]),
        await send(site.port, "GET", `/${name}`, [["If-None-Match", tag]]),
        await send(site.port, "GET", `/${name}`, [...br, ["If-None-Match", brTag]]),
        await send(site.port, "GET", `/${name}`, [...br, ["If-Match", '"nope"']]),
        await send(site.port, "GET", `/${name}`, [...br, ["Range", "bytes=999999-"]]),
        await send(site.port, "GET", `/${name}`, [["Range", "bytes=999999-"]]),
      ];
    };
    const statuses = [200, 200, 200, 206, 206, 304, 304, 412, 416, 416];
    for (const name of ["page.html", "style.css", PRE, BIG_WITH_SIBLINGS]) {
      const responses = await requests(name);
      assert.deepEqual(responses.map((res) => res.status), statuses, name);
      for (const res of responses) {
        assert.deepEqual(varies(res), ["Accept-Encoding"], `${name} ${res.status}`);
      }
    }
    // Never compressed: an image, a file too small, one that does not shrink, a streamed file
    // without siblings.
    for (const name of ["logo.png", "tiny.css", "noise.txt", BIG_PLAIN]) {
      const responses = await requests(name);
      assert.deepEqual(responses.map((res) => res.status), statuses, name);
      for (const res of responses) {
        assert.deepEqual(varies(res), [], `${name} ${res.status}: ${describe(res)}`);
        assert.equal(res.header("content-encoding"), null, `${name} ${res.status}`);
      }
      const etag = (await send(site.port, "GET", `/${name}`, BROWSER)).header("etag");
      assert.equal(etag, await identityTag(site, name), `${name}: one ETag`);
    }
  });
});

Deno.test("compression: conditionals compare with the selected variant's ETag", async (t) => {
  await withSite({}, async (site) => {
    const name = "page.html";
    const tag = await identityTag(site, name);
    const br = variantTag(tag, "br");
    const gzip = variantTag(tag, "gzip");
    const lastModified = await lastModifiedOf(site.path(name));
    const cases: { name: string; fields: FieldList; status: number; etag: string }[] = [
      {
        name: "br revalidated",
        fields: [...BROWSER, ["If-None-Match", br]],
        status: 304,
        etag: br,
      },
      {
        name: "weak br tag (weak comparison)",
        fields: [...BROWSER, ["If-None-Match", `W/${br}`]],
        status: 304,
        etag: br,
      },
      {
        name: "one of a list",
        fields: [...BROWSER, ["If-None-Match", `${gzip}, ${br}`]],
        status: 304,
        etag: br,
      },
      {
        name: "the identity's tag does not match br",
        fields: [...BROWSER, ["If-None-Match", tag]],
        status: 200,
        etag: br,
      },
      {
        name: "br's tag does not match the identity",
        fields: [["If-None-Match", br]],
        status: 200,
        etag: tag,
      },
      {
        name: "br's tag does not match gzip",
        fields: [...GZIP_ONLY, ["If-None-Match", br]],
        status: 200,
        etag: gzip,
      },
      {
        name: "gzip revalidated",
        fields: [...GZIP_ONLY, ["If-None-Match", gzip]],
        status: 304,
        etag: gzip,
      },
      {
        name: "* matches any",
        fields: [...BROWSER, ["If-None-Match", "*"]],
        status: 304,
        etag: br,
      },
      {
        name: "If-Modified-Since",
        fields: [...BROWSER, ["If-Modified-Since", lastModified]],
        status: 304,
        etag: br,
      },
      {
        name: "If-Match br (strong)",
        fields: [...BROWSER, ["If-Match", br]],
        status: 200,
        etag: br,
      },
      {
        name: "If-Match weak br",
        fields: [...BROWSER, ["If-Match", `W/${br}`]],
        status: 412,
        etag: "",
      },
      {
        name: "If-Match identity for br",
        fields: [...BROWSER, ["If-Match", tag]],
        status: 412,
        etag: "",
      },
      { name: "If-Match br for identity", fields: [["If-Match", br]], status: 412, etag: "" },
    ];
    for (const c of cases) {
      await t.step(c.name, async () => {
        const res = await send(site.port, "GET", `/${name}`, c.fields);
        assert.equal(res.status, c.status, describe(res));
        assert.deepEqual(varies(res), ["Accept-Encoding"]);
        if (c.status === 304) {
          assert.equal(res.header("etag"), c.etag);
          assert.equal(res.header("content-encoding"), null, "a 304 has no content coding");
          assert.equal(res.body.length, 0);
        } else if (c.status === 200) {
          assert.equal(res.header("etag"), c.etag);
          assertBytes(decode(res.header("content-encoding"), res.body), site.bytes(name), c.name);
        }
        await assertHeadLikeGet(site, `/${name}`, c.name, c.fields, c.status);
      });
    }
  });
});

Deno.test("compression: a Range applies to the coded bytes (206, 416 with the variant's coding); If-Range by the variant's ETag", async (t) => {
  await withSite({}, async (site) => {
    const name = "page.html";
    const tag = await identityTag(site, name);
    for (const [coding, accept] of [["br", BROWSER], ["gzip", GZIP_ONLY]] as const) {
      const whole = await send(site.port, "GET", `/${name}`, accept);
      assert.equal(whole.header("content-encoding"), coding);
      const coded = whole.body;
      const size = coded.length;
      const etag = variantTag(tag, coding);
      await t.step(`${coding}: single ranges are slices of the coded bytes`, async () => {
        const spans: [string, number, number][] = [
          ["bytes=0-99", 0, 99],
          ["bytes=100-", 100, size - 1],
          ["bytes=-50", size - 50, size - 1],
          [`bytes=10-${size + 1000}`, 10, size - 1],
        ];
        for (const [range, start, end] of spans) {
          const fields: FieldList = [...accept, ["Range", range]];
          const res = await send(site.port, "GET", `/${name}`, fields);
          assert.equal(res.status, 206, `${range}\n${describe(res)}`);
          assert.equal(res.header("content-encoding"), coding);
          assert.equal(res.header("content-range"), `bytes ${start}-${end}/${size}`);
          assert.equal(res.header("etag"), etag);
          assert.deepEqual(varies(res), ["Accept-Encoding"]);
          assertBytes(res.body, coded.subarray(start, end + 1), range);
          await assertHeadLikeGet(site, `/${name}`, range, fields, 206);
        }
      });
      await t.step(`${coding}: the pieces put together decode to the file`, async () => {
        const first = await send(site.port, "GET", `/${name}`, [...accept, [
          "Range",
          "bytes=0-199",
        ]]);
        const rest = await send(site.port, "GET", `/${name}`, [
          ...accept,
          ["Range", "bytes=200-"],
          ["If-Range", etag],
        ]);
        assert.equal(rest.status, 206);
        const joined = new Uint8Array([...first.body, ...rest.body]);
        assertBytes(decode(coding, joined), site.bytes(name), "resumed");
      });
      await t.step(
        `${coding}: unsatisfiable: 416 of the coded length, its body in that coding`,
        async () => {
          const fields: FieldList = [...accept, ["Range", `bytes=${size}-`]];
          const res = await send(site.port, "GET", `/${name}`, fields);
          assert.equal(res.status, 416, describe(res));
          assert.equal(res.header("content-range"), `bytes */${size}`);
          assert.equal(res.header("content-encoding"), coding);
          assert.equal(res.header("content-type"), "text/plain; charset=utf-8");
          assert.equal(res.header("etag"), etag);
          assert.deepEqual(varies(res), ["Accept-Encoding"]);
          assert.equal(res.header("content-length"), String(res.body.length));
          assert.equal(
            new TextDecoder().decode(decode(coding, res.body)),
            "416 Range Not Satisfiable\n",
          );
          await assertHeadLikeGet(site, `/${name}`, "416", fields, 416);
          // The identity's 416 is as before: its own length, a plain body.
          const plain = await send(site.port, "GET", `/${name}`, [[
            "Range",
            `bytes=${size * 10}-`,
          ]]);
          assert.equal(plain.header("content-range"), `bytes */${site.bytes(name).length}`);
          assert.equal(plain.header("content-encoding"), null);
          assert.equal(plain.text(), "416 Range Not Satisfiable\n");
        },
      );
      await t.step(`${coding}: If-Range`, async () => {
        const cases: { ifRange: string; status: number }[] = [
          { ifRange: etag, status: 206 },
          { ifRange: tag, status: 200 },
          { ifRange: variantTag(tag, coding === "br" ? "gzip" : "br"), status: 200 },
          { ifRange: `W/${etag}`, status: 200 },
          { ifRange: await lastModifiedOf(site.path(name)), status: 206 },
        ];
        for (const { ifRange, status } of cases) {
          const res = await send(site.port, "GET", `/${name}`, [
            ...accept,
            ["Range", "bytes=5-14"],
            ["If-Range", ifRange],
          ]);
          assert.equal(res.status, status, `If-Range ${ifRange}\n${describe(res)}`);
          assert.equal(res.header("content-encoding"), coding);
          assertBytes(res.body, status === 206 ? coded.subarray(5, 15) : coded, ifRange);
        }
      });
    }
  });
});

Deno.test("compression: HEAD answers as GET for each variant; pipelined responses keep their framing", async () => {
  await withSite({}, async (site) => {
    for (const fields of [[], BROWSER, GZIP_ONLY] as FieldList[]) {
      await assertHeadLikeGet(site, "/style.css", JSON.stringify(fields), fields, 200);
    }
    // br, HEAD br, gzip, identity and an image, in one write on one connection, repeated so
    // the memoised responses are used too.
    using client = await RawClient.connect(site.port);
    const sequence: [string, string, FieldList, string | null][] = [
      ["GET", "/page.html", BROWSER, "br"],
      ["HEAD", "/page.html", BROWSER, "br"],
      ["GET", "/page.html", GZIP_ONLY, "gzip"],
      ["GET", "/page.html", [], null],
      ["GET", "/logo.png", BROWSER, null],
    ];
    for (let round = 0; round < 3; round++) {
      await client.send(
        sequence.map(([m, target, f]) => request(site.port, m, target, f)).join(""),
      );
      for (const [method, target, , coding] of sequence) {
        const res = await client.response({ head: method === "HEAD" });
        assert.equal(res.status, 200);
        assert.equal(res.header("content-encoding"), coding, `${method} ${target}`);
        if (method === "GET") {
          assertBytes(decode(coding, res.body), site.bytes(target.slice(1)), `${method} ${target}`);
        } else {
          assert.equal(res.body.length, 0);
        }
      }
    }
    assert.equal(client.pending, 0);
  });
});

Deno.test("compression: precompressed siblings of a cached file are served as they are, the other coding is made", async () => {
  await withSite({}, async (site) => {
    const br = await send(site.port, "GET", `/${PRE}`, BROWSER);
    assert.equal(br.status, 200);
    assert.equal(br.header("content-encoding"), "br");
    assert.equal(br.header("content-type"), "text/css; charset=utf-8");
    assertBytes(br.body, site.bytes(`${PRE}.br`), "the sibling's bytes");
    assert.equal(br.header("etag"), await fileTag(site.path(`${PRE}.br`), "br"));
    assert.equal(br.header("last-modified"), await lastModifiedOf(site.path(`${PRE}.br`)));
    assert.deepEqual(varies(br), ["Accept-Encoding"]);
    const notModified = await send(site.port, "GET", `/${PRE}`, [
      ...BROWSER,
      ["If-None-Match", br.header("etag") as string],
    ]);
    assert.equal(notModified.status, 304);
    // No gzip sibling: made from the file.
    const gzip = await send(site.port, "GET", `/${PRE}`, GZIP_ONLY);
    assert.equal(gzip.header("content-encoding"), "gzip");
    assertBytes(decode("gzip", gzip.body), site.bytes(PRE), "made gzip");
    assert.equal(gzip.header("etag"), variantTag(await identityTag(site, PRE), "gzip"));
    const identity = await send(site.port, "GET", `/${PRE}`);
    assertBytes(identity.body, site.bytes(PRE), "identity");
  });
});

Deno.test("compression: precompressed siblings of a streamed file (beyond the cache's size), ranges included", async () => {
  await withSite({}, async (site) => {
    const name = BIG_WITH_SIBLINGS;
    assert.ok(site.bytes(name).length > 64 * 1024, "streamed, not cached");
    for (
      const [coding, accept, suffix] of [["br", BROWSER, ".br"], [
        "gzip",
        GZIP_ONLY,
        ".gz",
      ]] as const
    ) {
      const sibling = site.bytes(name + suffix);
      const etag = await fileTag(site.path(name + suffix), coding);
      const res = await send(site.port, "GET", `/${name}`, accept);
      assert.equal(res.status, 200, describe(res));
      assert.equal(res.header("content-encoding"), coding);
      assert.equal(res.header("content-type"), "text/css; charset=utf-8");
      assert.equal(res.header("content-length"), String(sibling.length));
      assert.equal(res.header("etag"), etag);
      assert.deepEqual(varies(res), ["Accept-Encoding"]);
      assertBytes(res.body, sibling, `${coding} sibling`);
      assertBytes(decode(coding, res.body), site.bytes(name), `${coding} decoded`);
      const range = await send(site.port, "GET", `/${name}`, [...accept, [
        "Range",
        "bytes=100-299",
      ]]);
      assert.equal(range.status, 206);
      assert.equal(range.header("content-range"), `bytes 100-299/${sibling.length}`);
      assert.equal(range.header("content-encoding"), coding);
      assertBytes(range.body, sibling.subarray(100, 300), `${coding} range`);
      const unsatisfiable = await send(site.port, "GET", `/${name}`, [
        ...accept,
        ["Range", `bytes=${sibling.length}-`],
      ]);
      assert.equal(unsatisfiable.status, 416);
      assert.equal(unsatisfiable.header("content-range"), `bytes */${sibling.length}`);
      assert.equal(unsatisfiable.header("content-encoding"), coding);
      const notModified = await send(site.port, "GET", `/${name}`, [...accept, [
        "If-None-Match",
        etag,
      ]]);
      assert.equal(notModified.status, 304);
      assert.equal(notModified.header("etag"), etag);
      assert.deepEqual(varies(notModified), ["Accept-Encoding"]);
      await assertHeadLikeGet(site, `/${name}`, coding, accept, 200);
    }
    const identity = await send(site.port, "GET", `/${name}`);
    assert.equal(identity.header("content-encoding"), null);
    assert.deepEqual(varies(identity), ["Accept-Encoding"]);
    assertBytes(identity.body, site.bytes(name), "identity");
    // The siblings themselves are still files of their own, served as before.
    const direct = await send(site.port, "GET", `/${name}.gz`, BROWSER);
    assert.equal(direct.status, 200);
    assert.equal(direct.header("content-type"), "application/octet-stream");
    assert.equal(direct.header("content-disposition"), `attachment; filename="${name}.gz"`);
    assert.equal(direct.header("content-encoding"), null);
    assert.deepEqual(varies(direct), []);
    assertBytes(direct.body, site.bytes(`${name}.gz`), "the .gz itself");
  });
});

Deno.test("compression: a sibling that is not a regular file inside the root is not used", async () => {
  await using outside = await tempDir();
  await withSite({ fileCacheValidMs: 0 }, async (site) => {
    const secret = zlib.brotliCompressSync(encoder.encode("secret outside the root"));
    await Deno.writeFile(`${outside.path}/x.br`, secret);
    await Deno.writeFile(`${site.root}/.hidden.br`, secret);
    const cases: [string, string, () => Promise<void>][] = [
      [
        "a symlink out of the root",
        "a.css",
        () => symlink(`${outside.path}/x.br`, site.path("a.css.br")),
      ],
      [
        "a symlink to a dotfile",
        "b.css",
        () => symlink(`${site.root}/.hidden.br`, site.path("b.css.br")),
      ],
      ["a folder", "c.css", () => Deno.mkdir(site.path("c.css.br"))],
    ];
    const css = text(2000, "confined");
    for (const [label, name, make] of cases) {
      // Big (streamed: siblings only) and small (cached: made instead).
      await Deno.writeFile(site.path(name), css);
      await make();
      const big = await send(site.port, "GET", `/${name}`, BROWSER);
      assert.equal(big.status, 200, `${label}: ${describe(big)}`);
      assert.equal(big.header("content-encoding"), null, label);
      assert.deepEqual(varies(big), [], label);
      assertBytes(big.body, css, label);
      const small = css.subarray(0, 4000);
      await Deno.writeFile(site.path(name), small);
      const cached = await send(site.port, "GET", `/${name}`, BROWSER);
      assert.equal(cached.header("content-encoding"), "br", label);
      assertBytes(decode("br", cached.body), small, `${label}: made, not the sibling`);
    }
  });
});

Deno.test("compression: a change on disk reaches the variants; a sibling added or removed too", async (t) => {
  // Both freshness guards: the watcher (default) and a stat on every hit.
  for (const config of [{}, { fileCacheValidMs: 0 }] as Partial<ServerConfig>[]) {
    await t.step(JSON.stringify(config), async () => {
      await withSite(config, async (site) => {
        const name = "style.css";
        const first = await send(site.port, "GET", `/${name}`, BROWSER);
        assertBytes(decode("br", first.body), site.bytes(name), "first");
        const changed = text(80, "changed");
        await Deno.writeFile(site.path(name), changed);
        let res = first;
        await waitFor(async () => {
          res = await send(site.port, "GET", `/${name}`, BROWSER);
          return res.header("etag") !== first.header("etag");
        }, { what: "the new content" });
        assert.equal(res.header("content-encoding"), "br");
        assertBytes(decode("br", res.body), changed, "changed br");
        const gzip = await send(site.port, "GET", `/${name}`, GZIP_ONLY);
        assertBytes(decode("gzip", gzip.body), changed, "changed gzip");
        const stale = await send(site.port, "GET", `/${name}`, [
          ...BROWSER,
          ["If-None-Match", first.header("etag") as string],
        ]);
        assert.equal(stale.status, 200, "the old br tag no longer matches");

        // A sibling appears: it is served; it goes: made again.
        const sibling = zlib.brotliCompressSync(changed, {
          params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 },
        });
        await Deno.writeFile(site.path(`${name}.br`), sibling);
        await waitFor(async () => {
          res = await send(site.port, "GET", `/${name}`, BROWSER);
          return res.body.length === sibling.length;
        }, { what: "the sibling served" });
        assertBytes(res.body, sibling, "the new sibling");
        await Deno.remove(site.path(`${name}.br`));
        await waitFor(async () => {
          res = await send(site.port, "GET", `/${name}`, BROWSER);
          return res.body.length !== sibling.length;
        }, { what: "the sibling gone" });
        assertBytes(decode("br", res.body), changed, "made again");
      });
    });
  }
});

Deno.test("compression under --cors: Vary: Origin and Vary: Accept-Encoding, both", async () => {
  await withSite({ corsOrigins: [APP] }, async (site) => {
    for (const fields of [BROWSER, [...BROWSER, ["Origin", APP]]] as FieldList[]) {
      for (const method of ["GET", "HEAD"]) {
        const res = await send(site.port, method, "/page.html", fields);
        assert.equal(res.status, 200);
        assert.deepEqual(varies(res), ["Origin", "Accept-Encoding"], `${method} ${fields}`);
        assert.equal(res.header("content-encoding"), "br");
        if (method === "GET") assertBytes(decode("br", res.body), site.bytes("page.html"), method);
      }
    }
    const image = await send(site.port, "GET", "/logo.png", [...BROWSER, ["Origin", APP]]);
    assert.deepEqual(varies(image), ["Origin"]);
  });
});

Deno.test("compression: uploads are served back as they were sent, never compressed", async (t) => {
  const document = JSON.stringify({ items: Array.from({ length: 100 }, (_, i) => `item ${i}`) });
  for (const separate of [false, true]) {
    await t.step(separate ? "--uploads DIR" : "<root>/uploads", async () => {
      await using elsewhere = await tempDir();
      const config: Partial<ServerConfig> = separate ? { uploads: elsewhere.path } : {};
      await withSite(config, async (site) => {
        const head = requestHead(site.port, "/upload", {
          method: "POST",
          fields: [["Content-Type", "application/json"], [
            "Content-Length",
            String(document.length),
          ]],
        });
        using client = await RawClient.connect(site.port);
        await client.send(head + document);
        const created = await client.response();
        assert.equal(created.status, 201, describe(created));
        const location = created.header("location") as string;
        for (let i = 0; i < 2; i++) {
          const res = await send(site.port, "GET", location, BROWSER);
          assert.equal(res.status, 200);
          assert.equal(res.header("content-type"), "application/json");
          assert.equal(res.header("content-encoding"), null);
          assert.deepEqual(varies(res), []);
          assert.equal(res.text(), document);
        }
      });
    });
  }
});

/** One raw exchange: the exact bytes of the response, its Date made constant. */
async function rawExchange(port: number, head: string, expectBytes: number): Promise<string> {
  using client = await RawClient.connect(port);
  await client.send(head);
  const res = await client.response({ head: head.startsWith("HEAD") });
  assert.ok(res.body.length <= expectBytes);
  const fields = res.fields.map(([n, v]) => `${n}: ${n === "date" ? "<date>" : v}`).join("\r\n");
  return `${res.version} ${res.status} ${res.reason}\r\n${fields}\r\n\r\n${
    new TextDecoder("latin1").decode(res.body)
  }`;
}

Deno.test("--no-compression: every response is as before compression existed, byte for byte", async () => {
  await withSite({ compression: false }, async (site) => {
    const name = "page.html";
    const body = site.bytes(name);
    const lastModified = await lastModifiedOf(site.path(name));
    const tag = await identityTag(site, name);
    // The exact response the server gave before compression (field names as the raw client
    // lower-cases them), whatever the request's Accept-Encoding.
    const expected = "HTTP/1.1 200 OK\r\n" +
      "date: <date>\r\nserver: denohttpd/0.1.0\r\nx-content-type-options: nosniff\r\n" +
      `content-type: text/html; charset=utf-8\r\nlast-modified: ${lastModified}\r\n` +
      `etag: ${tag}\r\naccept-ranges: bytes\r\ncontent-length: ${body.length}\r\n` +
      "connection: keep-alive\r\nkeep-alive: timeout=30, max=100\r\n\r\n" +
      new TextDecoder("latin1").decode(body);
    for (const fields of [[], BROWSER, GZIP_ONLY]) {
      const head = requestHead(site.port, `/${name}`, { fields });
      assert.equal(await rawExchange(site.port, head, body.length), expected);
    }
    // Every kind of response is the same with and without a browser's Accept-Encoding, and
    // never names a coding or Vary; siblings are not looked at.
    const requests: [string, string, FieldList][] = [
      ["GET", `/${name}`, [["Range", "bytes=0-9"]]],
      ["GET", `/${name}`, [["If-None-Match", tag]]],
      ["GET", `/${name}`, [["Range", "bytes=999999-"]]],
      ["GET", `/${name}`, [["If-Match", '"x"']]],
      ["HEAD", `/${name}`, []],
      ["GET", `/${PRE}`, []],
      ["GET", `/${BIG_WITH_SIBLINGS}`, []],
      ["GET", `/${BIG_WITH_SIBLINGS}`, [["Range", "bytes=10-19"]]],
      ["GET", "/notes.txt", []],
    ];
    for (const [method, target, fields] of requests) {
      const without = await rawExchange(site.port, request(site.port, method, target, fields), 1e6);
      const withAe = await rawExchange(
        site.port,
        request(site.port, method, target, [...fields, ...BROWSER]),
        1e6,
      );
      assert.equal(withAe, without, `${method} ${target} ${JSON.stringify(fields)}`);
      assert.ok(!/\r\n(vary|content-encoding):/i.test(withAe), `${method} ${target}: ${withAe}`);
    }
    const big = await send(site.port, "GET", `/${BIG_WITH_SIBLINGS}`, BROWSER);
    assertBytes(big.body, site.bytes(BIG_WITH_SIBLINGS), "the file, not a sibling");
  });
});
