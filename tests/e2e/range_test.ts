/**
 * Byte ranges end to end over raw TCP (RFC 9110 §14): single ranges give 206 with exactly those
 * bytes, unsatisfiable ones 416, invalid or multiple ones the whole file, If-Range guards
 * resumption, HEAD answers like GET without a body, and curl can resume a download. Both small
 * files (served from memory) and large ones (streamed in chunks) are covered. Every server
 * serves a scratch root under tests/.tmp (gallery.jpg is a copy of resources/gallery.jpg).
 */

import assert from "node:assert/strict";
import { RawClient, type RawResponse } from "../helpers/raw_client.ts";
import {
  assertBytes,
  assertHeadLikeGet,
  assertWhole,
  comparable,
  currentEtag,
  describe,
  type FieldList,
  lastModifiedOf,
  randomBytes,
  request,
  send,
  sendThenProbe,
  typeFields,
} from "../helpers/file_responses.ts";
import type { ServerConfig } from "../../src/config.ts";
import { tempDir, tempRoot, withServer } from "../helpers/server.ts";

/** The files' mtime, with a fraction of a second that Last-Modified drops. */
const MTIME = new Date("2020-01-05T10:20:30.750Z");
const LM = new Date("2020-01-05T10:20:30Z");
const DAY = 86_400_000;

const SMALL = "small.txt"; // 1000 bytes, from memory
const LARGE = "large.png"; // 300 000 bytes, streamed
const GALLERY = "gallery.jpg"; // 2.49 MB, streamed in several chunks
const EMPTY = "empty.txt";

interface Site {
  port: number;
  path(name: string): string;
  /** Where a test may put files of its own (not served). */
  scratch: string;
}

/**
 * Runs `fn` with a server on a scratch root of random-content files and a copy of gallery.jpg
 * (all with mtime MTIME); stops the server and removes the root afterwards.
 */
async function withSite(
  configOrFn: Partial<ServerConfig> | ((site: Site) => Promise<void>),
  maybeFn?: (site: Site) => Promise<void>,
): Promise<void> {
  const [config, fn] = typeof configOrFn === "function"
    ? [{}, configOrFn]
    : [configOrFn, maybeFn as (site: Site) => Promise<void>];
  await using dir = await tempRoot({ files: [GALLERY] });
  const root = dir.path;
  await using scratch = await tempDir();
  const contents: Record<string, Uint8Array> = {
    [SMALL]: crypto.getRandomValues(new Uint8Array(1000)),
    "page.html": new TextEncoder().encode(
      `<!doctype html><title>t</title>\n${"<p>page</p>\n".repeat(150)}`,
    ),
    [LARGE]: randomBytes(300_000),
    [EMPTY]: new Uint8Array(0),
    "data.json": new TextEncoder().encode('{"a":1}'),
  };
  for (const [name, data] of Object.entries(contents)) {
    await Deno.writeFile(`${root}/${name}`, data);
  }
  for (const name of [...Object.keys(contents), GALLERY]) {
    await Deno.utime(`${root}/${name}`, MTIME, MTIME);
  }
  // Files change under the server here: confirming every cached hit by a stat makes the
  // very next request see a change (the default watcher reports it within milliseconds).
  await withServer(
    { root, fileCacheValidMs: 0, ...config },
    (server) => fn({ port: server.port, path: (name) => `${root}/${name}`, scratch: scratch.path }),
  );
}

/** 206 with bytes first..last (inclusive) of the file, its type and validators. */
async function assertPartial(
  site: Site,
  res: RawResponse,
  name: string,
  first: number,
  last: number,
  label: string,
  options: { head?: boolean } = {},
): Promise<void> {
  const file = await Deno.readFile(site.path(name));
  assert.equal(res.status, 206, `${label}: expected 206\n${describe(res)}`);
  assert.equal(res.version, "HTTP/1.1");
  assert.equal(res.reason, "Partial Content");
  assert.equal(res.header("content-range"), `bytes ${first}-${last}/${file.length}`, label);
  assert.equal(res.header("content-length"), String(last - first + 1), `${label}: length`);
  if (!options.head) assertBytes(res.body, file.subarray(first, last + 1), label);
  const { type, disposition } = typeFields(name);
  assert.equal(res.header("content-type"), type, `${label}: Content-Type`);
  assert.equal(res.header("content-disposition"), disposition, `${label}: Content-Disposition`);
  assert.equal(res.header("accept-ranges"), "bytes", `${label}: Accept-Ranges`);
  assert.equal(res.header("etag"), await currentEtag(site, name), `${label}: ETag`);
  assert.equal(res.header("last-modified"), await lastModifiedOf(site.path(name)), label);
  assert.equal(res.header("transfer-encoding"), null);
}

/** 416 with `Content-Range: bytes *\/size`, a short text body and the validators. */
async function assertUnsatisfiable(site: Site, res: RawResponse, name: string, label: string) {
  const size = (await Deno.stat(site.path(name))).size;
  assert.equal(res.status, 416, `${label}: expected 416\n${describe(res)}`);
  assert.equal(res.reason, "Range Not Satisfiable");
  assert.equal(res.header("content-range"), `bytes */${size}`, `${label}: Content-Range`);
  assert.equal(res.header("content-length"), String(res.body.length), `${label}: length`);
  assert.match(res.header("content-type") ?? "", /^text\//, `${label}: Content-Type`);
  const body = res.text();
  assert.ok(body.length > 0 && body.length <= 200, `${label}: body not short: ${body.length}`);
  assert.ok(body.includes("416"), `${label}: body does not name 416: ${body}`);
  assert.deepEqual(
    { etag: res.header("etag"), lastModified: res.header("last-modified") },
    { etag: await currentEtag(site, name), lastModified: await lastModifiedOf(site.path(name)) },
    `${label}: 416 validators`,
  );
}

/** [Range value, first, last] for a file of `size` bytes. */
type RangeRow = [string, number, number];

function smallRows(size: number): RangeRow[] {
  return [
    ["bytes=0-0", 0, 0],
    ["bytes=0-9", 0, 9],
    ["bytes=10-19", 10, 19],
    [`bytes=${size - 1}-${size - 1}`, size - 1, size - 1],
    [`bytes=${size - 10}-`, size - 10, size - 1],
    ["bytes=0-", 0, size - 1],
    ["bytes=-1", size - 1, size - 1],
    ["bytes=-10", size - 10, size - 1],
    [`bytes=-${size}`, 0, size - 1],
    [`bytes=-${size * 5}`, 0, size - 1],
    [`bytes=500-${size * 100}`, 500, size - 1],
    [`bytes=0-${size - 1}`, 0, size - 1],
    ["BYTES=0-0", 0, 0],
    ["Bytes=3-4", 3, 4],
    ["bytes=007-0010", 7, 10],
  ];
}

Deno.test("single ranges of a small file: 206 with exactly those bytes", async (t) => {
  await withSite(async (site) => {
    for (const name of [SMALL, "page.html"]) {
      const size = (await Deno.stat(site.path(name))).size;
      for (const [value, first, last] of smallRows(size)) {
        await t.step(`/${name} Range: ${value}`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, [["Range", value]]);
          await assertPartial(site, res, name, first, last, value);
        });
      }
    }
    await t.step("optional whitespace around the field value", async () => {
      const client = await RawClient.connect(site.port);
      try {
        await client.send(
          `GET /${SMALL} HTTP/1.1\r\nHost: 127.0.0.1:${site.port}\r\nRange: \t bytes=2-3 \t\r\n\r\n`,
        );
        await assertPartial(site, await client.response(), SMALL, 2, 3, "OWS");
      } finally {
        client.close();
      }
    });
  });
});

Deno.test("single ranges of streamed files: exact bytes, also across chunk boundaries", async (t) => {
  await withSite(async (site) => {
    const gallery = (await Deno.stat(site.path(GALLERY))).size;
    const mib = 1 << 20;
    const rows: [string, RangeRow[]][] = [
      [GALLERY, [
        ["bytes=1000000-1999999", 1000000, 1999999],
        ["bytes=0-0", 0, 0],
        ["bytes=0-65535", 0, 65535],
        ["bytes=65536-131071", 65536, 131071],
        [`bytes=${mib - 10}-${mib + 10}`, mib - 10, mib + 10],
        [`bytes=${mib}-${mib}`, mib, mib],
        [`bytes=${mib - 1}-${2 * mib}`, mib - 1, 2 * mib],
        ["bytes=-1000", gallery - 1000, gallery - 1],
        ["bytes=2487000-", 2487000, gallery - 1],
        ["bytes=2400000-99999999", 2400000, gallery - 1],
        ["bytes=0-", 0, gallery - 1],
        [`bytes=-${gallery}`, 0, gallery - 1],
      ]],
      [LARGE, [
        ["bytes=65530-65545", 65530, 65545],
        ["bytes=100000-", 100000, 299999],
        ["bytes=-65537", 300000 - 65537, 299999],
        ["bytes=299999-299999", 299999, 299999],
        ["bytes=0-65536", 0, 65536],
      ]],
    ];
    for (const [name, ranges] of rows) {
      for (const [value, first, last] of ranges) {
        await t.step(`/${name} Range: ${value}`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, [["Range", value]]);
          await assertPartial(site, res, name, first, last, value);
        });
      }
    }
  });
});

Deno.test("several range requests pipelined on one keep-alive connection", async () => {
  await withSite(async (site) => {
    using client = await RawClient.connect(site.port);
    const rows: [string, string, number, number][] = [
      [GALLERY, "bytes=1000000-1999999", 1000000, 1999999],
      [SMALL, "bytes=5-9", 5, 9],
      [LARGE, "bytes=70000-", 70000, 299999],
      [GALLERY, "bytes=-5", 2487324, 2487328],
    ];
    await client.send(
      rows.map(([name, value]) => request(site.port, "GET", `/${name}`, [["Range", value]])).join(
        "",
      ),
    );
    for (const [name, value, first, last] of rows) {
      await assertPartial(
        site,
        await client.response({ timeoutMs: 10_000 }),
        name,
        first,
        last,
        value,
      );
    }
    assert.equal(client.pending, 0);
  });
});

Deno.test("unsatisfiable ranges: 416 with Content-Range bytes */size; connection kept", async (t) => {
  await withSite(async (site) => {
    for (const name of [SMALL, LARGE, GALLERY]) {
      const size = (await Deno.stat(site.path(name))).size;
      const values = [
        `bytes=${size}-`,
        `bytes=${size}-${size + 10}`,
        `bytes=${size * 5}-${size * 6}`,
        "bytes=-0",
        `BYTES=${size}-`,
        `bytes=${size}-,${size + 5}-`,
        `bytes=-0,${size}-${size + 1}`,
      ];
      for (const value of values) {
        await t.step(`/${name} Range: ${value}`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, [["Range", value]]);
          await assertUnsatisfiable(site, res, name, value);
        });
      }
    }
  });
});

Deno.test("syntactically invalid Range fields are ignored: 200 with the whole file", async (t) => {
  await withSite(async (site) => {
    const values = [
      "bytes=5-2",
      "bytes=abc",
      "bytes=",
      "bytes=1-2-3",
      "bytes=--1",
      "bytes=-",
      "items=0-1",
      "bytes 0-1",
      "=0-1",
      "bytes=0x1-0x2",
      "bytes=1e2-",
      "bytes=+1-2",
      "bytes=1.5-3",
      "bytes=-1-2",
    ];
    for (const name of [SMALL, LARGE]) {
      for (const value of values) {
        await t.step(`/${name} Range: ${value}`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, [["Range", value]]);
          await assertWhole(site, res, name, value);
        });
      }
    }
  });
});

Deno.test("more than one range: the whole file (200), unless none is satisfiable", async (t) => {
  await withSite(async (site) => {
    for (const name of [SMALL, GALLERY]) {
      const size = (await Deno.stat(site.path(name))).size;
      for (
        const value of ["bytes=0-1,5-6", "bytes=0-1, 5-6", `bytes=0-1,${size}-`, "bytes=-0,0-0"]
      ) {
        await t.step(`/${name} Range: ${value} → 200`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, [["Range", value]]);
          await assertWhole(site, res, name, value);
        });
      }
      const none = `bytes=${size}-,${size + 1}-${size + 9}`;
      await t.step(`/${name} Range: ${none} → 416`, async () => {
        const res = await sendThenProbe(site, "GET", `/${name}`, [["Range", none]]);
        await assertUnsatisfiable(site, res, name, none);
      });
    }
  });
});

Deno.test("a zero-length file ignores Range: 200 with an empty body", async (t) => {
  await withSite(async (site) => {
    for (const value of ["bytes=0-0", "bytes=0-", "bytes=-1", "bytes=5-10"]) {
      await t.step(`Range: ${value}`, async () => {
        const res = await sendThenProbe(site, "GET", `/${EMPTY}`, [["Range", value]]);
        assert.equal(res.status, 200, `${value}\n${describe(res)}`);
        assert.equal(res.header("content-length"), "0");
        assert.equal(res.body.length, 0);
        assert.equal(res.header("content-range"), null);
        assert.equal(res.header("accept-ranges"), "bytes");
        const head = await sendThenProbe(site, "HEAD", `/${EMPTY}`, [["Range", value]]);
        assert.deepEqual(comparable(head), comparable(res));
      });
    }
  });
});

Deno.test("If-Range: the current ETag or Last-Modified gives 206, anything else the whole file", async (t) => {
  await withSite(async (site) => {
    const lm = LM.getTime();
    for (const name of [SMALL, GALLERY]) {
      const etag = await currentEtag(site, name);
      const size = (await Deno.stat(site.path(name))).size;
      assert.equal(await lastModifiedOf(site.path(name)), LM.toUTCString());
      const rows: { label: string; fields: FieldList; expect: "206" | "200" | "416" }[] = [
        { label: "current ETag", fields: [["If-Range", etag]], expect: "206" },
        { label: "weak current ETag", fields: [["If-Range", `W/${etag}`]], expect: "200" },
        { label: "another ETag", fields: [["If-Range", '"0-0"']], expect: "200" },
        // Last-Modified (the mtime's .750 dropped) is a strong validator: the file is old.
        { label: "Last-Modified", fields: [["If-Range", LM.toUTCString()]], expect: "206" },
        {
          label: "a second earlier",
          fields: [["If-Range", new Date(lm - 1000).toUTCString()]],
          expect: "200",
        },
        {
          label: "a second later",
          fields: [["If-Range", new Date(lm + 1000).toUTCString()]],
          expect: "200",
        },
        {
          label: "a day later",
          fields: [["If-Range", new Date(lm + DAY).toUTCString()]],
          expect: "200",
        },
        { label: "not a validator", fields: [["If-Range", "not a date"]], expect: "200" },
        {
          label: "current ETag, unsatisfiable range",
          fields: [["If-Range", etag], ["Range", `bytes=${size}-`]],
          expect: "416",
        },
        {
          label: "another ETag, unsatisfiable range",
          fields: [["If-Range", '"0-0"'], ["Range", `bytes=${size}-`]],
          expect: "200",
        },
      ];
      for (const row of rows) {
        await t.step(`/${name} If-Range: ${row.label} → ${row.expect}`, async () => {
          const fields: FieldList = row.fields.some(([n]) => n === "Range")
            ? row.fields
            : [["Range", "bytes=100-199"], ...row.fields];
          const res = await sendThenProbe(site, "GET", `/${name}`, fields);
          if (row.expect === "206") await assertPartial(site, res, name, 100, 199, row.label);
          else if (row.expect === "416") await assertUnsatisfiable(site, res, name, row.label);
          else await assertWhole(site, res, name, row.label);
        });
      }
      await t.step(`/${name} If-Range without Range → plain 200`, async () => {
        const res = await sendThenProbe(site, "GET", `/${name}`, [["If-Range", etag]]);
        await assertWhole(site, res, name, "If-Range alone");
      });
    }
  });
});

Deno.test("If-Range after the file changed: old validators get the whole new content", async (t) => {
  await withSite(async (site) => {
    for (const name of [SMALL, LARGE]) {
      await t.step(`/${name}`, async () => {
        const path = site.path(name);
        const before = await send(site.port, "GET", `/${name}`, [["Range", "bytes=0-99"]]);
        await assertPartial(site, before, name, 0, 99, "before");
        const oldEtag = before.header("etag")!;
        const oldLastModified = before.header("last-modified")!;

        const fresh = randomBytes((await Deno.stat(path)).size);
        await Deno.writeFile(path, fresh);
        const later = new Date(MTIME.getTime() + 2 * DAY);
        await Deno.utime(path, later, later);

        for (const validator of [oldEtag, oldLastModified]) {
          const res = await sendThenProbe(site, "GET", `/${name}`, [
            ["Range", "bytes=100-"],
            ["If-Range", validator],
          ]);
          await assertWhole(site, res, name, `If-Range: ${validator}`);
          assertBytes(res.body, fresh, "new content");
          assert.notEqual(res.header("etag"), oldEtag);
        }
        const newEtag = await currentEtag(site, name);
        const resumed = await sendThenProbe(site, "GET", `/${name}`, [
          ["Range", "bytes=100-"],
          ["If-Range", newEtag],
        ]);
        await assertPartial(site, resumed, name, 100, fresh.length - 1, "new ETag");
        assertBytes(resumed.body, fresh.subarray(100), "new content from 100");
      });
    }
  });
});

Deno.test("resuming by hand: first N bytes, then the rest with If-Range, byte-identical", async (t) => {
  await withSite(async (site) => {
    for (
      const [name, n] of [[GALLERY, 1_000_000], [GALLERY, 1], [LARGE, 65536], [SMALL, 333]] as const
    ) {
      await t.step(`/${name} split at ${n}`, async () => {
        const file = await Deno.readFile(site.path(name));
        const head = await send(site.port, "GET", `/${name}`, [["Range", `bytes=0-${n - 1}`]]);
        await assertPartial(site, head, name, 0, n - 1, "first part");
        const etag = head.header("etag")!;
        const tail = await send(site.port, "GET", `/${name}`, [
          ["Range", `bytes=${n}-`],
          ["If-Range", etag],
        ]);
        await assertPartial(site, tail, name, n, file.length - 1, "rest");
        const joined = new Uint8Array(head.body.length + tail.body.length);
        joined.set(head.body);
        joined.set(tail.body, head.body.length);
        assertBytes(joined, file, "joined parts");
      });
    }
  });
});

const curlAvailable = await (async () => {
  try {
    const out = await new Deno.Command("curl", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "curl -C - resumes a partial download of a streamed file to the exact bytes",
  ignore: !curlAvailable,
  fn: async () => {
    await withSite(async (site) => {
      const file = await Deno.readFile(site.path(GALLERY));
      const partial = `${site.scratch}/gallery.part`;
      await Deno.writeFile(partial, file.subarray(0, 1_000_000));
      const out = await new Deno.Command("curl", {
        args: [
          "-s",
          "-S",
          "-C",
          "-",
          "-o",
          partial,
          "-w",
          "%{http_code}",
          "--max-time",
          "20",
          `http://127.0.0.1:${site.port}/${GALLERY}`,
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(25_000),
      }).output();
      const stdout = new TextDecoder().decode(out.stdout);
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, `curl exited ${out.code}: ${stderr}`);
      assert.equal(stdout, "206", "curl did not get a 206");
      assertBytes(await Deno.readFile(partial), file, "resumed file");
    });
  },
});

Deno.test("Range is ignored on responses that are not a file", async (t) => {
  // --strict-types, where data.json is an unserved type (415).
  await withSite({ strictTypes: true }, async (site) => {
    const rows: {
      label: string;
      method: string;
      target: string;
      fields: FieldList;
      status: number;
    }[] = [
      { label: "missing file", method: "GET", target: "/missing.txt", fields: [], status: 404 },
      { label: "GET /upload", method: "GET", target: "/upload", fields: [], status: 405 },
      {
        label: "POST to a file",
        method: "POST",
        target: `/${SMALL}`,
        fields: [["Content-Length", "0"]],
        status: 405,
      },
      { label: "unserved type", method: "GET", target: "/data.json", fields: [], status: 415 },
    ];
    for (const row of rows) {
      for (const value of ["bytes=0-0", "bytes=99999-"]) {
        await t.step(`${row.label} with Range: ${value} → ${row.status}`, async () => {
          const res = await sendThenProbe(site, row.method, row.target, [
            ...row.fields,
            ["Range", value],
          ]);
          assert.equal(res.status, row.status, `${row.label}\n${describe(res)}`);
          assert.equal(res.header("content-range"), null, "Content-Range on a non-file response");
          assert.equal(res.header("content-length"), String(res.body.length));
          assert.ok(res.text().includes(String(row.status)), `body: ${res.text()}`);
        });
      }
    }
    await t.step("POST /upload with Range → 201 as usual", async () => {
      const body = '{"ranged":true}';
      const client = await RawClient.connect(site.port);
      try {
        await client.send(
          request(site.port, "POST", "/upload", [
            ["Content-Type", "application/json"],
            ["Range", "bytes=0-0"],
            ["Content-Length", String(body.length)],
          ]) + body,
        );
        const res = await client.response({ timeoutMs: 10_000 });
        assert.equal(res.status, 201, describe(res));
        assert.equal(res.header("content-range"), null);
        assert.match(res.text(), /^\{"status":"success"/);
      } finally {
        client.close();
      }
    });
  });
});

Deno.test("Range on a web type served by default (data.json): 206 with its type", async () => {
  await withSite(async (site) => {
    const res = await sendThenProbe(site, "GET", "/data.json", [["Range", "bytes=1-3"]]);
    assert.equal(res.status, 206, describe(res));
    assert.equal(res.header("content-type"), "application/json");
    assert.equal(res.header("content-range"), "bytes 1-3/7");
    assert.equal(res.text(), '"a"');
  });
});

Deno.test("HEAD with Range: GET's status and fields, no body bytes", async (t) => {
  await withSite(async (site) => {
    for (const name of [SMALL, "page.html", LARGE, GALLERY]) {
      const etag = await currentEtag(site, name);
      const size = (await Deno.stat(site.path(name))).size;
      const rows: { label: string; fields: FieldList; status: number }[] = [
        { label: "bytes=0-9", fields: [["Range", "bytes=0-9"]], status: 206 },
        { label: "bytes=-5", fields: [["Range", "bytes=-5"]], status: 206 },
        { label: "bytes=20-", fields: [["Range", "bytes=20-"]], status: 206 },
        { label: "unsatisfiable", fields: [["Range", `bytes=${size}-`]], status: 416 },
        { label: "invalid", fields: [["Range", "bytes=5-2"]], status: 200 },
        { label: "two ranges", fields: [["Range", "bytes=0-1,5-6"]], status: 200 },
        {
          label: "If-Range match",
          fields: [["Range", "bytes=0-9"], ["If-Range", etag]],
          status: 206,
        },
        {
          label: "If-Range mismatch",
          fields: [["Range", "bytes=0-9"], ["If-Range", '"x-y"']],
          status: 200,
        },
      ];
      for (const row of rows) {
        await t.step(`HEAD /${name} ${row.label} → ${row.status}`, async () => {
          await assertHeadLikeGet(site, `/${name}`, row.label, row.fields, row.status);
        });
      }
    }
  });
});

Deno.test("a file that crosses the 64 KiB line between requests is ranged by its current size", async () => {
  await withSite(async (site) => {
    // small.txt (cached in memory) grows past 64 KiB.
    const grown = randomBytes(100_000);
    await send(site.port, "GET", `/${SMALL}`);
    const oldEtag = await currentEtag(site, SMALL);
    await Deno.writeFile(site.path(SMALL), grown);
    await Deno.utime(
      site.path(SMALL),
      new Date(MTIME.getTime() + DAY),
      new Date(MTIME.getTime() + DAY),
    );
    for (
      const [value, first, last] of [["bytes=99990-", 99990, 99999], [
        "bytes=1000-70000",
        1000,
        70000,
      ]] as const
    ) {
      const res = await sendThenProbe(site, "GET", `/${SMALL}`, [["Range", value]]);
      await assertPartial(site, res, SMALL, first, last, `grown ${value}`);
    }
    const stale = await sendThenProbe(site, "GET", `/${SMALL}`, [["Range", "bytes=0-9"], [
      "If-Range",
      oldEtag,
    ]]);
    await assertWhole(site, stale, SMALL, "grown, If-Range old ETag");
    assertBytes(stale.body, grown, "grown content");

    // large.png (streamed) shrinks to 500 bytes.
    await send(site.port, "GET", `/${LARGE}`, [["Range", "bytes=0-0"]]);
    const shrunk = crypto.getRandomValues(new Uint8Array(500));
    await Deno.writeFile(site.path(LARGE), shrunk);
    await Deno.utime(
      site.path(LARGE),
      new Date(MTIME.getTime() + DAY),
      new Date(MTIME.getTime() + DAY),
    );
    const tail = await sendThenProbe(site, "GET", `/${LARGE}`, [["Range", "bytes=-10"]]);
    await assertPartial(site, tail, LARGE, 490, 499, "shrunk bytes=-10");
    const beyond = await sendThenProbe(site, "GET", `/${LARGE}`, [["Range", "bytes=600-"]]);
    await assertUnsatisfiable(site, beyond, LARGE, "shrunk bytes=600-");
  });
});

Deno.test("HTTP/1.0 with Range: 206 with exactly the span, then the connection closes", async () => {
  await withSite(async (site) => {
    using client = await RawClient.connect(site.port);
    await client.send(`GET /${GALLERY} HTTP/1.0\r\nRange: bytes=1048000-1049999\r\n\r\n`);
    const res = await client.response({ timeoutMs: 10_000 });
    await assertPartial(site, res, GALLERY, 1048000, 1049999, "HTTP/1.0");
    assert.equal(res.header("connection")?.toLowerCase(), "close");
    assert.ok(await client.closed(), "connection left open after an HTTP/1.0 response");
    assert.equal(client.pending, 0, "bytes beyond the announced Content-Length");
  });
});
