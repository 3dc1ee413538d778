/**
 * Conditional requests end to end over raw TCP (RFC 9110 §8.8, §13): ETag, Last-Modified and
 * Accept-Ranges on file responses; If-Match, If-Unmodified-Since, If-None-Match and
 * If-Modified-Since evaluated in the order of RFC 9110 §13.2.2, for GET and HEAD, on small
 * files (served from memory) and large ones (streamed). Every server serves a scratch root
 * under tests/.tmp whose files and mtimes the tests set themselves (Deno.utime).
 */

import assert from "node:assert/strict";
import type { ServerConfig } from "../../src/config.ts";
import { RawClient, type RawResponse } from "../helpers/raw_client.ts";
import {
  assertBytes,
  assertHeadLikeGet,
  assertWhole,
  currentEtag,
  describe,
  ETAG,
  type FieldList,
  lastModifiedOf,
  randomBytes,
  request,
  send,
  sendThenProbe,
} from "../helpers/file_responses.ts";
import { tempRoot, withServer } from "../helpers/server.ts";

const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** The files' mtime: a Sunday, with a fraction of a second that Last-Modified must drop. */
const MTIME = new Date("2020-01-05T10:20:30.750Z");
/** MTIME truncated to whole seconds: what Last-Modified says. */
const LM = new Date("2020-01-05T10:20:30Z");
const SECOND = 1000;
const DAY = 86_400_000;

/** Small (≤ 64 KiB, from memory) and large (> 64 KiB, streamed) files in every scratch root. */
const SMALL = "small.txt";
const LARGE = "large.png";
const FILES = [SMALL, "page.html", "index.html", LARGE];

interface Site {
  port: number;
  root: string;
  /** Absolute path of a file in the root. */
  path(name: string): string;
}

/**
 * Runs `fn` with a server on a scratch root of random-content files (all with mtime MTIME);
 * stops the server and removes the root afterwards.
 */
async function withSite(
  configOrFn: Partial<ServerConfig> | ((site: Site) => Promise<void>),
  maybeFn?: (site: Site) => Promise<void>,
): Promise<void> {
  // Files change under the server here. By default every cached hit is confirmed by a stat,
  // so the very next request sees a change; the watcher's own bound is tested below.
  const [config, fn] = typeof configOrFn === "function"
    ? [{ fileCacheValidMs: 0 }, configOrFn]
    : [configOrFn, maybeFn!];
  await using dir = await tempRoot({ files: [] });
  const contents: Record<string, Uint8Array> = {
    [SMALL]: crypto.getRandomValues(new Uint8Array(1000)),
    "page.html": new TextEncoder().encode(
      `<!doctype html><title>t</title>\n${"<p>page</p>\n".repeat(150)}`,
    ),
    "index.html": new TextEncoder().encode("<!doctype html><title>i</title><p>index</p>\n"),
    [LARGE]: randomBytes(300_000),
    "data.json": new TextEncoder().encode('{"a":1}'),
  };
  for (const [name, data] of Object.entries(contents)) {
    await Deno.writeFile(`${dir.path}/${name}`, data);
    await Deno.utime(`${dir.path}/${name}`, MTIME, MTIME);
  }
  await withServer(
    { root: dir.path, ...config },
    (server) => fn({ port: server.port, root: dir.path, path: (name) => `${dir.path}/${name}` }),
  );
}

function imfDate(ms: number): string {
  return new Date(ms).toUTCString();
}

/** RFC 850 form: `Sunday, 06-Nov-94 08:49:37 GMT`. */
function rfc850Date(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-` +
    `${p(d.getUTCFullYear() % 100)} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:` +
    `${p(d.getUTCSeconds())} GMT`;
}

/** asctime form: `Sun Nov  6 08:49:37 1994`. */
function asctimeDate(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${DAYS[d.getUTCDay()]!.slice(0, 3)} ${MONTHS[d.getUTCMonth()]} ` +
    `${String(d.getUTCDate()).padStart(2, " ")} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:` +
    `${p(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** The 304 contract: no body, no Content-Length/Content-Type, the current ETag, a Date. */
async function assertNotModified(site: Site, res: RawResponse, name: string, label: string) {
  assert.equal(res.status, 304, `${label}: expected 304\n${describe(res)}`);
  assert.equal(res.version, "HTTP/1.1");
  assert.equal(res.reason, "Not Modified");
  assert.equal(res.header("content-length"), null, `${label}: Content-Length on a 304`);
  assert.equal(res.header("content-type"), null, `${label}: Content-Type on a 304`);
  assert.equal(res.header("transfer-encoding"), null, `${label}: Transfer-Encoding on a 304`);
  assert.equal(res.body.length, 0);
  const etag = res.header("etag");
  assert.ok(etag !== null && ETAG.test(etag), `${label}: 304 ETag is ${etag}`);
  assert.equal(etag, await currentEtag(site, name), `${label}: 304 ETag is not the current one`);
  const date = res.header("date");
  assert.ok(date !== null && IMF_FIXDATE.test(date), `${label}: 304 Date is ${date}`);
  const lastModified = res.header("last-modified");
  if (lastModified !== null) {
    assert.equal(lastModified, await lastModifiedOf(site.path(name)), `${label}: Last-Modified`);
  }
}

/** The 412 contract: a short text body naming the status, with Content-Length. */
function assertPreconditionFailed(res: RawResponse, label: string) {
  assert.equal(res.status, 412, `${label}: expected 412\n${describe(res)}`);
  assert.equal(res.reason, "Precondition Failed");
  assert.equal(res.header("content-length"), String(res.body.length), `${label}: Content-Length`);
  assert.match(res.header("content-type") ?? "", /^text\//, `${label}: Content-Type`);
  const body = res.text();
  assert.ok(body.length > 0 && body.length <= 200, `${label}: body not short: ${body.length}`);
  assert.ok(body.includes("412"), `${label}: body does not name 412: ${body}`);
  assert.equal(res.header("content-range"), null);
}

Deno.test("validators: ETag, Last-Modified and Accept-Ranges on 200 for small and streamed files", async (t) => {
  await withSite(async (site) => {
    for (const name of FILES) {
      await t.step(`GET and HEAD /${name}`, async () => {
        const first = await send(site.port, "GET", `/${name}`);
        await assertWhole(site, first, name, `GET /${name}`);
        assert.equal(first.header("last-modified"), LM.toUTCString());
        const etag = first.header("etag");
        const again = await send(site.port, "GET", `/${name}`);
        assert.equal(again.header("etag"), etag, "ETag is not stable across requests");
        const head = await send(site.port, "HEAD", `/${name}`);
        assert.equal(head.status, 200);
        assert.equal(head.header("etag"), etag);
        assert.equal(head.header("last-modified"), first.header("last-modified"));
        assert.equal(head.header("accept-ranges"), "bytes");
      });
    }
    await t.step("/ has the validators of /index.html", async () => {
      const slash = await send(site.port, "GET", "/");
      const index = await send(site.port, "GET", "/index.html");
      assert.equal(slash.status, 200);
      assert.equal(slash.header("etag"), index.header("etag"));
      assert.equal(slash.header("last-modified"), index.header("last-modified"));
      assert.equal(slash.header("accept-ranges"), "bytes");
    });
    await t.step("different files have different ETags", async () => {
      const tags = new Set<string>();
      for (const name of FILES.filter((n) => n !== "index.html")) {
        tags.add(await currentEtag(site, name));
      }
      // page.html and index.html differ in size only by chance; the others differ in size.
      assert.ok(tags.size >= 2, `ETags: ${[...tags].join(" ")}`);
    });
  });
});

Deno.test('validators: the ETag is "<size hex>-<mtime ms hex>" of the file', async () => {
  await withSite(async (site) => {
    for (const name of [SMALL, LARGE]) {
      const info = await Deno.stat(site.path(name));
      const expected = `"${info.size.toString(16)}-${info.mtime!.getTime().toString(16)}"`;
      const res = await send(site.port, "GET", `/${name}`);
      assert.equal(res.header("etag"), expected, `/${name}`);
    }
  });
});

Deno.test("validators change when the file's mtime or content changes (small and streamed)", async (t) => {
  await withSite(async (site) => {
    for (const name of [SMALL, LARGE]) {
      await t.step(`/${name}`, async () => {
        const path = site.path(name);
        const original = await send(site.port, "GET", `/${name}`);
        await assertWhole(site, original, name, "before");
        const etag0 = original.header("etag");

        // Same bytes, a new mtime: both validators follow the mtime.
        const later = new Date(MTIME.getTime() + 3 * DAY);
        await Deno.utime(path, later, later);
        const touched = await send(site.port, "GET", `/${name}`);
        await assertWhole(site, touched, name, "after utime");
        assert.notEqual(touched.header("etag"), etag0, "ETag unchanged after a new mtime");
        assert.equal(touched.header("last-modified"), imfDate(later.getTime() - 750));

        // New bytes of another size, the original mtime put back: the size changes the ETag.
        const size = (await Deno.stat(path)).size;
        await Deno.writeFile(path, randomBytes(size + 7));
        await Deno.utime(path, MTIME, MTIME);
        const resized = await send(site.port, "GET", `/${name}`);
        await assertWhole(site, resized, name, "after resize");
        assert.notEqual(resized.header("etag"), etag0, "ETag unchanged after a size change");
        assert.notEqual(resized.header("etag"), touched.header("etag"));
        assert.equal(resized.header("last-modified"), LM.toUTCString());

        // New bytes of the same size and a new mtime: new content, new ETag (no stale cache).
        await Deno.writeFile(path, randomBytes(size + 7));
        const newer = new Date(MTIME.getTime() + 5 * DAY);
        await Deno.utime(path, newer, newer);
        const rewritten = await send(site.port, "GET", `/${name}`);
        await assertWhole(site, rewritten, name, "after rewrite");
        assert.notEqual(rewritten.header("etag"), resized.header("etag"));
      });
    }
  });
});

Deno.test("If-None-Match with the current ETag: 304 without body or length; connection stays open", async (t) => {
  await withSite(async (site) => {
    for (const name of [SMALL, LARGE, "page.html"]) {
      await t.step(`GET /${name}`, async () => {
        const etag = await currentEtag(site, name);
        const res = await sendThenProbe(site, "GET", `/${name}`, [["If-None-Match", etag]]);
        await assertNotModified(site, res, name, `If-None-Match on /${name}`);
      });
    }
    await t.step("two 304s in a row on one connection, then a 200", async () => {
      const etag = await currentEtag(site, LARGE);
      const client = await RawClient.connect(site.port);
      try {
        const conditional = request(site.port, "GET", `/${LARGE}`, [["If-None-Match", etag]]);
        await client.send(conditional + conditional + request(site.port, "GET", `/${SMALL}`));
        await assertNotModified(site, await client.response(), LARGE, "first");
        await assertNotModified(site, await client.response(), LARGE, "second");
        await assertWhole(site, await client.response(), SMALL, "third");
        assert.equal(client.pending, 0);
      } finally {
        client.close();
      }
    });
  });
});

Deno.test("If-None-Match: weak comparison, *, lists; no match gives the whole file", async (t) => {
  await withSite(async (site) => {
    for (const name of [SMALL, LARGE]) {
      const etag = await currentEtag(site, name);
      const other = await currentEtag(site, "page.html");
      const matching = [
        etag,
        `W/${etag}`,
        "*",
        `"nope", ${etag}`,
        `"nope",${etag}`,
        `W/"nope", W/${etag}, "other"`,
      ];
      for (const value of matching) {
        await t.step(`/${name} If-None-Match: ${value} → 304`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, [["If-None-Match", value]]);
          await assertNotModified(site, res, name, value);
        });
      }
      const failing = ['"nope"', 'W/"nope"', `"nope", "other"`, other, `W/${other}`];
      for (const value of failing) {
        await t.step(`/${name} If-None-Match: ${value} → 200`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, [["If-None-Match", value]]);
          await assertWhole(site, res, name, value);
        });
      }
    }
  });
});

Deno.test("If-None-Match decides alone: If-Modified-Since is ignored when it is present", async (t) => {
  await withSite(async (site) => {
    for (const name of [SMALL, LARGE]) {
      const etag = await currentEtag(site, name);
      await t.step(`/${name}: matching ETag, If-Modified-Since says modified → 304`, async () => {
        const res = await send(site.port, "GET", `/${name}`, [
          ["If-None-Match", etag],
          ["If-Modified-Since", imfDate(LM.getTime() - DAY)],
        ]);
        await assertNotModified(site, res, name, "INM match + IMS earlier");
      });
      await t.step(`/${name}: other ETag, If-Modified-Since says unmodified → 200`, async () => {
        const res = await send(site.port, "GET", `/${name}`, [
          ["If-None-Match", '"nope"'],
          ["If-Modified-Since", imfDate(LM.getTime() + DAY)],
        ]);
        await assertWhole(site, res, name, "INM mismatch + IMS later");
      });
    }
  });
});

Deno.test("If-Modified-Since: IMF-fixdate, RFC 850 and asctime, compared at whole seconds", async (t) => {
  await withSite(async (site) => {
    const lm = LM.getTime();
    // The file's mtime is 10:20:30.750; Last-Modified says 10:20:30, so 10:20:30 is "not modified".
    const rows: { value: string; status: 200 | 304 }[] = [
      { value: imfDate(lm), status: 304 },
      { value: imfDate(lm + SECOND), status: 304 },
      { value: imfDate(lm + DAY), status: 304 },
      { value: imfDate(lm - SECOND), status: 200 },
      { value: imfDate(lm - DAY), status: 200 },
      { value: rfc850Date(lm), status: 304 },
      { value: rfc850Date(lm + 3 * DAY), status: 304 },
      { value: rfc850Date(lm - SECOND), status: 200 },
      { value: "Sunday, 06-Nov-94 08:49:37 GMT", status: 200 },
      { value: asctimeDate(lm), status: 304 },
      { value: asctimeDate(lm + 10 * DAY), status: 304 },
      { value: asctimeDate(lm - DAY), status: 200 },
      { value: "Sun Nov  6 08:49:37 1994", status: 200 },
      { value: "Sun, 06 Nov 1994 08:49:37 GMT", status: 200 },
    ];
    assert.equal(rfc850Date(lm), "Sunday, 05-Jan-20 10:20:30 GMT");
    assert.equal(asctimeDate(lm), "Sun Jan  5 10:20:30 2020");
    for (const name of [SMALL, LARGE]) {
      for (const row of rows) {
        await t.step(`/${name} If-Modified-Since: ${row.value} → ${row.status}`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, [
            ["If-Modified-Since", row.value],
          ]);
          if (row.status === 304) await assertNotModified(site, res, name, row.value);
          else await assertWhole(site, res, name, row.value);
        });
      }
    }
  });
});

Deno.test("If-Modified-Since that is not a valid HTTP-date is ignored (200)", async (t) => {
  await withSite(async (site) => {
    // Each of these would mean "not modified" if it were read as a date at all.
    const invalid = [
      "not a date",
      "2030-01-01T00:00:00Z",
      "2030-01-01",
      "Tue, 01 Jan 2030",
      `${imfDate(LM.getTime() + DAY)} extra`,
    ];
    for (const name of [SMALL, LARGE]) {
      for (const value of invalid) {
        await t.step(`/${name} If-Modified-Since: ${value}`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, [["If-Modified-Since", value]]);
          await assertWhole(site, res, name, value);
        });
      }
    }
  });
});

Deno.test("If-Match: strong comparison; * and lists pass; anything else is 412, connection kept", async (t) => {
  await withSite(async (site) => {
    for (const name of [SMALL, LARGE]) {
      const etag = await currentEtag(site, name);
      const other = await currentEtag(site, "page.html");
      for (const value of [etag, "*", `"nope", ${etag}`, `W/"x", ${etag}`]) {
        await t.step(`/${name} If-Match: ${value} → 200`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, [["If-Match", value]]);
          await assertWhole(site, res, name, value);
        });
      }
      for (const value of ['"nope"', `W/${etag}`, other, `"nope", W/${etag}`]) {
        await t.step(`/${name} If-Match: ${value} → 412`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, [["If-Match", value]]);
          assertPreconditionFailed(res, value);
        });
      }
    }
  });
});

Deno.test("If-Unmodified-Since: 412 when the file is newer, only without If-Match", async (t) => {
  await withSite(async (site) => {
    const lm = LM.getTime();
    for (const name of [SMALL, LARGE]) {
      const etag = await currentEtag(site, name);
      const rows: { fields: FieldList; status: 200 | 412 }[] = [
        { fields: [["If-Unmodified-Since", imfDate(lm - SECOND)]], status: 412 },
        { fields: [["If-Unmodified-Since", imfDate(lm - DAY)]], status: 412 },
        { fields: [["If-Unmodified-Since", rfc850Date(lm - DAY)]], status: 412 },
        { fields: [["If-Unmodified-Since", asctimeDate(lm - DAY)]], status: 412 },
        // Equal at whole seconds (the mtime's .750 is not "later").
        { fields: [["If-Unmodified-Since", imfDate(lm)]], status: 200 },
        { fields: [["If-Unmodified-Since", imfDate(lm + DAY)]], status: 200 },
        { fields: [["If-Unmodified-Since", "not a date"]], status: 200 },
        {
          fields: [["If-Match", etag], ["If-Unmodified-Since", imfDate(lm - DAY)]],
          status: 200,
        },
        { fields: [["If-Match", "*"], ["If-Unmodified-Since", imfDate(lm - DAY)]], status: 200 },
      ];
      for (const row of rows) {
        const label = row.fields.map(([n, v]) => `${n}: ${v}`).join(", ");
        await t.step(`/${name} ${label} → ${row.status}`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, row.fields);
          if (row.status === 412) assertPreconditionFailed(res, label);
          else await assertWhole(site, res, name, label);
        });
      }
    }
  });
});

Deno.test("precedence (RFC 9110 §13.2.2): If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since, Range", async (t) => {
  await withSite(async (site) => {
    const lm = LM.getTime();
    for (const name of [SMALL, LARGE]) {
      const etag = await currentEtag(site, name);
      const rows: { label: string; fields: FieldList; status: 200 | 206 | 304 | 412 }[] = [
        {
          label: "failing If-Match beats matching If-None-Match",
          fields: [["If-Match", '"nope"'], ["If-None-Match", etag]],
          status: 412,
        },
        {
          label: "failing If-Unmodified-Since beats matching If-None-Match",
          fields: [["If-Unmodified-Since", imfDate(lm - DAY)], ["If-None-Match", etag]],
          status: 412,
        },
        {
          label: "failing If-Match beats If-Modified-Since saying unmodified",
          fields: [["If-Match", '"nope"'], ["If-Modified-Since", imfDate(lm + DAY)]],
          status: 412,
        },
        {
          label: "passing If-Match, matching If-None-Match",
          fields: [["If-Match", etag], ["If-None-Match", etag]],
          status: 304,
        },
        {
          label: "passing If-Unmodified-Since, If-Modified-Since saying unmodified",
          fields: [
            ["If-Unmodified-Since", imfDate(lm + DAY)],
            ["If-Modified-Since", imfDate(lm + DAY)],
          ],
          status: 304,
        },
        {
          label: "matching If-None-Match beats Range",
          fields: [["If-None-Match", etag], ["Range", "bytes=0-9"]],
          status: 304,
        },
        {
          label: "If-Modified-Since saying unmodified beats Range",
          fields: [["If-Modified-Since", imfDate(lm)], ["Range", "bytes=0-9"]],
          status: 304,
        },
        {
          label: "failing If-Match beats Range",
          fields: [["If-Match", '"nope"'], ["Range", "bytes=0-9"]],
          status: 412,
        },
        {
          label: "failing If-Match beats an unsatisfiable Range",
          fields: [["If-Match", '"nope"'], ["Range", "bytes=99999999-"]],
          status: 412,
        },
        {
          label: "matching If-None-Match beats an unsatisfiable Range",
          fields: [["If-None-Match", etag], ["Range", "bytes=99999999-"]],
          status: 304,
        },
        {
          label: "If-None-Match not matching, then Range",
          fields: [["If-None-Match", '"nope"'], ["Range", "bytes=0-9"]],
          status: 206,
        },
        {
          label: "If-Modified-Since saying modified, then Range",
          fields: [["If-Modified-Since", imfDate(lm - DAY)], ["Range", "bytes=0-9"]],
          status: 206,
        },
        {
          label: "passing If-Match, then Range",
          fields: [["If-Match", etag], ["Range", "bytes=0-9"]],
          status: 206,
        },
      ];
      for (const row of rows) {
        await t.step(`/${name}: ${row.label} → ${row.status}`, async () => {
          const res = await sendThenProbe(site, "GET", `/${name}`, row.fields);
          if (row.status === 412) assertPreconditionFailed(res, row.label);
          else if (row.status === 304) await assertNotModified(site, res, name, row.label);
          else if (row.status === 200) await assertWhole(site, res, name, row.label);
          else {
            assert.equal(res.status, 206, `${row.label}\n${describe(res)}`);
            const size = (await Deno.stat(site.path(name))).size;
            assert.equal(res.header("content-range"), `bytes 0-9/${size}`);
            assertBytes(res.body, (await Deno.readFile(site.path(name))).subarray(0, 10), "206");
            assert.equal(res.header("etag"), etag);
          }
        });
      }
    }
  });
});

Deno.test("HEAD: conditional responses have GET's status and fields, and no body", async (t) => {
  await withSite(async (site) => {
    const lm = LM.getTime();
    for (const name of [SMALL, LARGE, "page.html"]) {
      const etag = await currentEtag(site, name);
      const rows: { label: string; fields: FieldList; status: number }[] = [
        { label: "If-None-Match match", fields: [["If-None-Match", etag]], status: 304 },
        { label: "If-None-Match *", fields: [["If-None-Match", "*"]], status: 304 },
        { label: "If-None-Match mismatch", fields: [["If-None-Match", '"x"']], status: 200 },
        {
          label: "If-Modified-Since equal",
          fields: [["If-Modified-Since", imfDate(lm)]],
          status: 304,
        },
        {
          label: "If-Modified-Since earlier",
          fields: [["If-Modified-Since", imfDate(lm - DAY)]],
          status: 200,
        },
        { label: "If-Match mismatch", fields: [["If-Match", '"x"']], status: 412 },
        { label: "If-Match match", fields: [["If-Match", etag]], status: 200 },
        {
          label: "If-Unmodified-Since earlier",
          fields: [["If-Unmodified-Since", imfDate(lm - DAY)]],
          status: 412,
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

Deno.test("a file changed since the client's copy: old validators get the new content", async (t) => {
  await withSite(async (site) => {
    for (const name of [SMALL, LARGE]) {
      await t.step(`/${name}`, async () => {
        const path = site.path(name);
        const before = await send(site.port, "GET", `/${name}`);
        await assertWhole(site, before, name, "before");
        const oldEtag = before.header("etag")!;
        const oldLastModified = before.header("last-modified")!;

        const size = (await Deno.stat(path)).size;
        const fresh = randomBytes(size);
        await Deno.writeFile(path, fresh);
        const later = new Date(MTIME.getTime() + 2 * DAY);
        await Deno.utime(path, later, later);

        const byEtag = await sendThenProbe(site, "GET", `/${name}`, [["If-None-Match", oldEtag]]);
        await assertWhole(site, byEtag, name, "If-None-Match old ETag");
        assertBytes(byEtag.body, fresh, "new content");
        const newEtag = byEtag.header("etag")!;
        assert.notEqual(newEtag, oldEtag);

        const byDate = await sendThenProbe(site, "GET", `/${name}`, [
          ["If-Modified-Since", oldLastModified],
        ]);
        await assertWhole(site, byDate, name, "If-Modified-Since old Last-Modified");
        assertBytes(byDate.body, fresh, "new content");

        const match = await sendThenProbe(site, "GET", `/${name}`, [["If-Match", oldEtag]]);
        assertPreconditionFailed(match, "If-Match old ETag");
        const unmodified = await sendThenProbe(site, "GET", `/${name}`, [
          ["If-Unmodified-Since", oldLastModified],
        ]);
        assertPreconditionFailed(unmodified, "If-Unmodified-Since old Last-Modified");

        const current = await sendThenProbe(site, "GET", `/${name}`, [["If-None-Match", newEtag]]);
        await assertNotModified(site, current, name, "If-None-Match new ETag");
      });
    }
  });
});

Deno.test("preconditions are ignored where the response would not be a 2xx", async (t) => {
  // --strict-types, where data.json is an unserved type (415).
  await withSite({ fileCacheValidMs: 0, strictTypes: true }, async (site) => {
    const rows: {
      label: string;
      method: string;
      target: string;
      fields: FieldList;
      status: number;
    }[] = [
      {
        label: "missing file, If-None-Match *",
        method: "GET",
        target: "/missing.txt",
        fields: [["If-None-Match", "*"]],
        status: 404,
      },
      {
        label: "missing file, If-Match *",
        method: "GET",
        target: "/missing.txt",
        fields: [["If-Match", "*"]],
        status: 404,
      },
      {
        label: "missing file, If-Modified-Since",
        method: "GET",
        target: "/missing.txt",
        fields: [["If-Modified-Since", imfDate(Date.now() + DAY)]],
        status: 404,
      },
      {
        label: "415 type, If-None-Match *",
        method: "GET",
        target: "/data.json",
        fields: [["If-None-Match", "*"]],
        status: 415,
      },
      {
        label: "POST to a file, If-Match mismatch",
        method: "POST",
        target: `/${SMALL}`,
        fields: [["If-Match", '"x"'], ["Content-Length", "0"]],
        status: 405,
      },
      {
        label: "GET /upload, If-None-Match *",
        method: "GET",
        target: "/upload",
        fields: [["If-None-Match", "*"]],
        status: 405,
      },
    ];
    for (const row of rows) {
      await t.step(`${row.label} → ${row.status}`, async () => {
        const res = await send(site.port, row.method, row.target, row.fields);
        assert.equal(res.status, row.status, `${row.label}\n${describe(res)}`);
      });
    }
  });
});

Deno.test("preconditions on a web type served by default (data.json): 304 with If-None-Match *", async () => {
  await withSite(async (site) => {
    const res = await sendThenProbe(site, "GET", "/data.json", [["If-None-Match", "*"]]);
    assert.equal(res.status, 304, describe(res));
    assert.match(res.header("etag") ?? "", ETAG);
  });
});

Deno.test("a small file served from memory is never served stale after delete or rewrite", async () => {
  await withSite(async (site) => {
    const path = site.path(SMALL);
    // Twice, so that a cache has certainly taken the file in.
    await assertWhole(site, await send(site.port, "GET", `/${SMALL}`), SMALL, "first");
    const warm = await send(site.port, "GET", `/${SMALL}`);
    await assertWhole(site, warm, SMALL, "second");
    const oldEtag = warm.header("etag")!;

    await Deno.remove(path);
    for (
      const fields of [[], [["If-None-Match", oldEtag]], [["If-Match", oldEtag]]] as FieldList[]
    ) {
      const gone = await send(site.port, "GET", `/${SMALL}`, fields);
      assert.equal(gone.status, 404, `deleted file\n${describe(gone)}`);
    }

    const fresh = crypto.getRandomValues(new Uint8Array(1234));
    await Deno.writeFile(path, fresh);
    await Deno.utime(path, MTIME, MTIME);
    const back = await send(site.port, "GET", `/${SMALL}`, [["If-None-Match", oldEtag]]);
    await assertWhole(site, back, SMALL, "recreated");
    assertBytes(back.body, fresh, "recreated content");
    assert.notEqual(back.header("etag"), oldEtag);
    const cached = await send(site.port, "GET", `/${SMALL}`, [[
      "If-None-Match",
      back.header("etag")!,
    ]]);
    await assertNotModified(site, cached, SMALL, "recreated, current ETag");
  });
});

Deno.test("with the default settings a rewritten small file is served fresh within the bound", async () => {
  // The root is watched, so a change is normally seen within milliseconds; a stat after
  // fileCacheValidMs (1 s) bounds it otherwise. Either way well within 2 s.
  await withSite({}, async (site) => {
    const path = site.path(SMALL);
    await send(site.port, "GET", `/${SMALL}`);
    const warm = await send(site.port, "GET", `/${SMALL}`);
    await assertWhole(site, warm, SMALL, "cached");
    const fresh = crypto.getRandomValues(new Uint8Array(1000));
    await Deno.writeFile(path, fresh);
    const changedAt = Date.now();
    let res = await send(site.port, "GET", `/${SMALL}`);
    while (res.header("etag") === warm.header("etag") && Date.now() - changedAt < 2_000) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      res = await send(site.port, "GET", `/${SMALL}`);
    }
    await assertWhole(site, res, SMALL, "rewritten");
    assertBytes(res.body, fresh, "rewritten content");
  });
});
