/**
 * CORS end to end (`--cors`, the Fetch standard's CORS protocol) over raw TCP: preflights from
 * allowed origins get a 204 that says what the resource allows; actual responses to allowed
 * origins carry Access-Control-Allow-Origin, errors too (413 refused at the head included);
 * other origins, and every request without --cors, get exactly what they got before.
 */

import assert from "node:assert/strict";
import type { ServerConfig } from "../../src/config.ts";
import {
  bytes,
  type FieldList,
  RawClient,
  type RawResponse,
  requestHead,
} from "../helpers/raw_client.ts";
import { tempRoot, withServer } from "../helpers/server.ts";

const APP = "https://app.example";
const EXPOSE =
  "ETag, Location, Content-Range, Accept-Ranges, Content-Disposition, Retry-After, Allow";
/** Under a policy every response varies by Origin (the first Vary); a preflight by these too. */
const VARY_ORIGIN: [string, string] = ["vary", "Origin"];
const PREFLIGHT_VARY = "Access-Control-Request-Method, Access-Control-Request-Headers";
const FILES = ["index.html", "notes.txt", "banner.png"];

/** Runs `fn` with a server on a scratch root (never resources/uploads) and `overrides`. */
async function withSite(
  overrides: Partial<ServerConfig>,
  fn: (port: number, uploads: string, root: string) => Promise<void>,
): Promise<void> {
  await using root = await tempRoot({ files: FILES });
  await withServer(
    { root: root.path, ...overrides },
    (server) => fn(server.port, root.uploads, root.path),
  );
}

/** Sends `request` on a fresh connection; the response. */
async function send(
  port: number,
  request: string | Uint8Array,
  options: { head?: boolean } = {},
): Promise<RawResponse> {
  using client = await RawClient.connect(port);
  await client.send(request);
  return await client.response(options);
}

/** The head of a preflight for `target` from `origin`. */
function preflightHead(port: number, target: string, origin: string, fields: FieldList = []) {
  return requestHead(port, target, {
    method: "OPTIONS",
    fields: [["Origin", origin], ["Access-Control-Request-Method", "POST"], ...fields],
  });
}

/** An upload of `body` with `fields` (Content-Type application/json unless given). */
function upload(port: number, body: string, fields: FieldList): Uint8Array {
  const type: FieldList = fields.some(([n]) => n.toLowerCase() === "content-type")
    ? []
    : [["Content-Type", "application/json"]];
  const head = requestHead(port, "/upload", {
    method: "POST",
    fields: [...type, ...fields, ["Content-Length", String(bytes(body).length)]],
  });
  return bytes(head + body);
}

/**
 * The fields whose names start with access-control-, and Vary, in order; but for the
 * `Vary: Accept-Encoding` of a compressible file, which is content negotiation's, not CORS's
 * (tests/e2e/compression_test.ts has both together).
 */
function corsOf(res: RawResponse): [string, string][] {
  return res.fields.filter(([name, value]) =>
    name.startsWith("access-control-") || (name === "vary" && value !== "Accept-Encoding")
  );
}

/** Every field but Date (which may turn between two responses). */
function withoutDate(res: RawResponse): [string, string][] {
  return res.fields.filter(([name]) => name !== "date");
}

Deno.test("CORS preflight of /upload from an allowed origin: 204 with what POST needs", async () => {
  await withSite({ corsOrigins: [APP] }, async (port) => {
    const res = await send(
      port,
      preflightHead(port, "/upload", APP, [["Access-Control-Request-Headers", "content-type"]]),
    );
    assert.equal(res.status, 204);
    assert.equal(res.reason, "No Content");
    assert.deepEqual(corsOf(res), [
      VARY_ORIGIN,
      ["access-control-allow-methods", "POST"],
      ["access-control-allow-headers", "content-type"],
      ["access-control-max-age", "600"],
      ["access-control-allow-origin", APP],
      ["vary", PREFLIGHT_VARY],
    ]);
    assert.equal(res.header("content-length"), null, "a 204 has no Content-Length");
    assert.equal(res.header("allow"), null);
    assert.equal(res.header("access-control-allow-credentials"), null);
    assert.equal(res.header("connection"), "keep-alive");
    assert.equal(res.body.length, 0);
  });
});

Deno.test("CORS preflight then upload on one connection: the page can read the 201", async () => {
  await withSite({ corsOrigins: [APP] }, async (port, uploads) => {
    using client = await RawClient.connect(port);
    await client.send(
      preflightHead(port, "/upload", APP, [["Access-Control-Request-Headers", "content-type"]]),
    );
    assert.equal((await client.response()).status, 204);
    await client.send(upload(port, '{"hello":"world"}', [["Origin", APP]]));
    const res = await client.response();
    assert.equal(res.status, 201, res.text());
    assert.deepEqual(corsOf(res), [
      VARY_ORIGIN,
      ["access-control-allow-origin", APP],
      ["access-control-expose-headers", EXPOSE],
    ]);
    const name = (res.header("location") ?? "").slice("/uploads/".length);
    assert.equal(await Deno.readTextFile(`${uploads}/${name}`), '{"hello":"world"}');
  });
});

Deno.test("CORS preflight of a file lists GET, HEAD; of a missing file too (no file is read)", async () => {
  await withSite({ corsOrigins: [APP] }, async (port) => {
    for (const target of ["/index.html", "/", "/banner.png", "/no-such-file.html"]) {
      const res = await send(port, preflightHead(port, target, APP));
      assert.equal(res.status, 204, target);
      assert.equal(res.header("access-control-allow-methods"), "GET, HEAD", target);
      assert.equal(res.header("access-control-allow-origin"), APP, target);
    }
  });
});

Deno.test("CORS preflight asking for a header not allowed: 204 without Allow-Headers", async () => {
  await withSite({ corsOrigins: ["*"] }, async (port) => {
    const res = await send(
      port,
      preflightHead(port, "/upload", APP, [["Access-Control-Request-Headers", "x-secret"]]),
    );
    assert.equal(res.status, 204);
    assert.equal(res.header("access-control-allow-headers"), null);
    assert.equal(res.header("access-control-allow-origin"), "*");
    assert.deepEqual(
      res.fields.filter(([name]) => name === "vary").map(([, value]) => value),
      ["Origin", PREFLIGHT_VARY],
    );
  });
});

Deno.test("CORS preflight from an origin not listed is a plain OPTIONS: 405 with Allow", async () => {
  await withSite({ corsOrigins: [APP] }, async (port) => {
    for (const origin of ["https://evil.example", "http://app.example", "null", `${APP}.evil`]) {
      const res = await send(port, preflightHead(port, "/upload", origin));
      const plain = await send(port, requestHead(port, "/upload", { method: "OPTIONS" }));
      assert.equal(res.status, 405, origin);
      assert.equal(res.header("allow"), "POST");
      assert.deepEqual(corsOf(res), [VARY_ORIGIN], `${origin} got CORS fields`);
      assert.deepEqual(withoutDate(res), withoutDate(plain));
      assert.equal(res.text(), plain.text());
    }
  });
});

Deno.test("CORS: OPTIONS * with an allowed Origin is still the server-wide 405", async () => {
  await withSite({ corsOrigins: ["*"] }, async (port) => {
    const res = await send(port, preflightHead(port, "*", APP));
    assert.equal(res.status, 405);
    assert.equal(res.header("allow"), "GET, HEAD, POST");
  });
});

Deno.test("CORS: a preflight with a foreign Host is refused by the Host check first", async () => {
  await withSite({ corsOrigins: ["*"] }, async (port) => {
    const res = await send(
      port,
      `OPTIONS /upload HTTP/1.1\r\nHost: evil.example\r\nOrigin: ${APP}\r\n` +
        "Access-Control-Request-Method: POST\r\n\r\n",
    );
    assert.equal(res.status, 403);
  });
});

Deno.test("CORS: GET and HEAD of files from an allowed origin, memo path kept clean", async () => {
  await withSite({ corsOrigins: [APP] }, async (port, _uploads, root) => {
    const index = await Deno.readTextFile(`${root}/index.html`);
    using client = await RawClient.connect(port);
    const plain = requestHead(port, "/index.html");
    const cors = requestHead(port, "/index.html", { fields: [["Origin", APP]] });
    // Plain (fills the cache), plain (memoised bytes), CORS, plain again: the CORS fields go to
    // the CORS response only, and the memoised response is never changed by it.
    const sequence = [plain, plain, cors, plain, cors];
    const responses: RawResponse[] = [];
    for (const request of sequence) {
      await client.send(request);
      responses.push(await client.response());
    }
    for (const [i, res] of responses.entries()) {
      assert.equal(res.status, 200);
      assert.equal(res.text(), index);
      if (sequence[i] === cors) {
        assert.deepEqual(corsOf(res), [
          VARY_ORIGIN,
          ["access-control-allow-origin", APP],
          ["access-control-expose-headers", EXPOSE],
        ]);
        // Otherwise the same response.
        assert.deepEqual(
          withoutDate(res).filter(([n]) => !n.startsWith("access-control-")),
          withoutDate(responses[0] as RawResponse),
        );
      } else {
        // Vary: Origin, so a cache never serves this copy to a CORS request.
        assert.deepEqual(corsOf(res), [VARY_ORIGIN], `plain response ${i}`);
      }
    }
    await client.send(
      requestHead(port, "/index.html", { method: "HEAD", fields: [["Origin", APP]] }),
    );
    const head = await client.response({ head: true });
    assert.equal(head.header("access-control-allow-origin"), APP);
    assert.equal(head.header("content-length"), String(bytes(index).length));
    // A streamed file, a 304 and a 404 get them too.
    await client.send(requestHead(port, "/banner.png", { fields: [["Origin", APP]] }));
    const big = await client.response();
    assert.equal(big.status, 200);
    assert.equal(big.body.length, (await Deno.stat(`${root}/banner.png`)).size);
    assert.equal(big.header("access-control-allow-origin"), APP);
    const etag = responses[0]?.header("etag") ?? "";
    await client.send(
      requestHead(port, "/index.html", { fields: [["Origin", APP], ["If-None-Match", etag]] }),
    );
    const notModified = await client.response();
    assert.equal(notModified.status, 304);
    assert.equal(notModified.header("access-control-allow-origin"), APP);
    await client.send(requestHead(port, "/missing.html", { fields: [["Origin", APP]] }));
    const missing = await client.response();
    assert.equal(missing.status, 404);
    assert.equal(missing.header("access-control-allow-origin"), APP);
  });
});

Deno.test("CORS: upload errors are readable by an allowed origin (415, 400, 413 at the head)", async () => {
  await withSite({ corsOrigins: [APP] }, async (port, uploads) => {
    const rows: { name: string; request: Uint8Array; status: number }[] = [
      {
        name: "415 for text/plain",
        request: upload(port, "{}", [["Origin", APP], ["Content-Type", "text/plain"]]),
        status: 415,
      },
      {
        name: "400 for a body that is not JSON",
        request: upload(port, "{", [["Origin", APP]]),
        status: 400,
      },
      {
        name: "413 for a Content-Length over the limit (refused before the body)",
        request: bytes(
          requestHead(port, "/upload", {
            method: "POST",
            fields: [
              ["Origin", APP],
              ["Content-Type", "application/json"],
              ["Content-Length", "9000"],
            ],
          }),
        ),
        status: 413,
      },
      {
        name: "413 for a chunked body over the limit",
        request: bytes(
          requestHead(port, "/upload", {
            method: "POST",
            fields: [
              ["Origin", APP],
              ["Content-Type", "application/json"],
              ["Transfer-Encoding", "chunked"],
            ],
          }) + `2328\r\n${"x".repeat(9000)}\r\n0\r\n\r\n`,
        ),
        status: 413,
      },
      {
        name: "405 for GET /upload",
        request: bytes(requestHead(port, "/upload", { fields: [["Origin", APP]] })),
        status: 405,
      },
    ];
    for (const row of rows) {
      const res = await send(port, row.request);
      assert.equal(res.status, row.status, row.name);
      assert.equal(res.header("access-control-allow-origin"), APP, row.name);
      assert.equal(res.header("vary"), "Origin", row.name);
      // The same errors for an origin not listed carry no CORS field.
      const other = new TextDecoder().decode(row.request).replace(APP, "https://evil.example");
      const refused = await send(port, other);
      assert.equal(refused.status, row.status, `${row.name} (other origin)`);
      assert.deepEqual(corsOf(refused), [VARY_ORIGIN], `${row.name} (other origin)`);
    }
    assert.deepEqual([...Deno.readDirSync(uploads)], [], "a refused upload left a file");
  });
});

Deno.test("CORS with *: Allow-Origin * (Vary: Origin on every response); the null origin is not matched", async () => {
  await withSite({ corsOrigins: ["*"] }, async (port) => {
    const res = await send(port, requestHead(port, "/notes.txt", { fields: [["Origin", APP]] }));
    assert.deepEqual(corsOf(res), [
      VARY_ORIGIN,
      ["access-control-allow-origin", "*"],
      ["access-control-expose-headers", EXPOSE],
    ]);
    const nul = await send(port, requestHead(port, "/notes.txt", { fields: [["Origin", "null"]] }));
    assert.deepEqual(corsOf(nul), [VARY_ORIGIN]);
    const preflight = await send(port, preflightHead(port, "/upload", "null"));
    assert.equal(preflight.status, 405);
    assert.deepEqual(corsOf(preflight), [VARY_ORIGIN]);
  });
});

Deno.test("CORS with null listed literally: the null origin is echoed", async () => {
  await withSite({ corsOrigins: ["null"] }, async (port) => {
    const res = await send(port, requestHead(port, "/notes.txt", { fields: [["Origin", "null"]] }));
    assert.equal(res.header("access-control-allow-origin"), "null");
    assert.equal(res.header("vary"), "Origin");
    const app = await send(port, requestHead(port, "/notes.txt", { fields: [["Origin", APP]] }));
    assert.deepEqual(corsOf(app), [VARY_ORIGIN]);
  });
});

Deno.test("CORS origins match case-insensitively and are answered in their canonical form", async () => {
  await withSite({ corsOrigins: ["http://localhost:3000"] }, async (port) => {
    const res = await send(
      port,
      requestHead(port, "/notes.txt", { fields: [["Origin", "HTTP://LocalHost:3000"]] }),
    );
    assert.equal(res.header("access-control-allow-origin"), "http://localhost:3000");
    for (const origin of ["http://localhost:3001", "https://localhost:3000", "http://localhost"]) {
      const other = await send(
        port,
        requestHead(port, "/notes.txt", { fields: [["Origin", origin]] }),
      );
      assert.deepEqual(corsOf(other), [VARY_ORIGIN], origin);
    }
  });
});

Deno.test("without --cors, Origin and preflight fields change nothing in any response", async () => {
  await withSite({}, async (port) => {
    const cases: { target: string; method: string; fields: FieldList }[] = [
      { target: "/index.html", method: "GET", fields: [] },
      { target: "/index.html", method: "HEAD", fields: [] },
      { target: "/upload", method: "OPTIONS", fields: [["Access-Control-Request-Method", "POST"]] },
      {
        target: "/index.html",
        method: "OPTIONS",
        fields: [["Access-Control-Request-Method", "GET"]],
      },
      { target: "/missing.html", method: "GET", fields: [] },
      { target: "/upload", method: "GET", fields: [] },
    ];
    for (const c of cases) {
      const head = c.method === "HEAD";
      const plain = await send(port, requestHead(port, c.target, { method: c.method }), { head });
      const withOrigin = await send(
        port,
        requestHead(port, c.target, { method: c.method, fields: [["Origin", APP], ...c.fields] }),
        { head },
      );
      assert.equal(withOrigin.status, plain.status, `${c.method} ${c.target}`);
      assert.deepEqual(withoutDate(withOrigin), withoutDate(plain), `${c.method} ${c.target}`);
      assert.deepEqual(withOrigin.body, plain.body);
    }
  });
});
