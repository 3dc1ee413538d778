/**
 * What a compressed variant costs (README "Compression"): the memory it holds is what the cache
 * charges for it, and a file is compressed once per file and change, not once per request, also
 * when the root keeps changing or several requests miss the cache together.
 */

import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../../src/config.ts";
import { compress, compressionPolicy } from "../../src/handlers/compression.ts";
import { type CachedFile, FileCache } from "../../src/handlers/file_cache.ts";
import { send } from "../helpers/file_responses.ts";
import { tempRoot, withServer } from "../helpers/server.ts";

const encoder = new TextEncoder();
const BROWSER: [string, string][] = [["Accept-Encoding", "gzip, deflate, br, zstd"]];

function page(lines: number): Uint8Array {
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    out.push(`<p class="r${i % 7}">line ${i}: ${(i * 7919) % 10007}</p>`);
  }
  return encoder.encode(out.join("\n"));
}

Deno.test("compress() returns a variant that holds only its own bytes (what the cache charges)", () => {
  const policy = compressionPolicy(DEFAULT_CONFIG);
  assert.ok(policy !== null);
  const bytes = page(80); // about 3 KB, like index.html
  for (const coding of ["br", "gzip"] as const) {
    const out = compress(bytes, coding, policy);
    assert.ok(out !== null);
    assert.equal(
      out.buffer.byteLength,
      out.byteLength,
      `${coding}: ${out.byteLength} bytes charged, ${out.buffer.byteLength} held`,
    );
  }
});

/** Counts the distinct entries offered with coded variants: each cost a brotli and a gzip run. */
class CountingCache extends FileCache {
  compressedOffers = 0;
  readonly #seen = new WeakSet<object>();
  override put(key: string, fsPath: string, file: CachedFile, generation: number): void {
    if (file.encodings !== undefined && !this.#seen.has(file.encodings)) {
      this.#seen.add(file.encodings);
      this.compressedOffers++;
    }
    super.put(key, fsPath, file, generation);
  }
}

/**
 * A root that keeps changing (uploads arriving in <root>/uploads, a data file rewritten): a change
 * is reported while every file is read, so the cache keeps nothing.
 */
class ChangingCache extends CountingCache {
  #reads = 0;
  override get generation(): number {
    return super.generation + ++this.#reads;
  }
}

Deno.test("serveStatic() does not compress a file on every request when its entry cannot be kept", async () => {
  await using root = await tempRoot({ files: [] });
  await Deno.writeFile(`${root.path}/page.html`, page(300));
  await withServer({ root: root.path }, async (server) => {
    const cache = new ChangingCache(16 * 1024 * 1024);
    server.state.site.root.cache = cache;
    for (let i = 0; i < 10; i++) {
      const res = await send(server.port, "GET", "/page.html", BROWSER);
      assert.equal(res.status, 200);
      // Served as read, but still marked as a resource that has codings.
      assert.equal(res.header("vary"), "Accept-Encoding");
    }
    assert.equal(cache.size, 0, "nothing kept: a change was reported during every read");
    assert.equal(cache.compressedOffers, 0, "compressed although the cache could not keep it");
  });
});

Deno.test("serveStatic() compresses a cold file once when several requests for it arrive together", async () => {
  await using root = await tempRoot({ files: [] });
  await Deno.writeFile(`${root.path}/page.html`, page(300));
  await withServer({ root: root.path }, async (server) => {
    const cache = new CountingCache(16 * 1024 * 1024);
    server.state.site.root.cache = cache;
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => send(server.port, "GET", "/page.html", BROWSER)),
    );
    for (const res of responses) assert.equal(res.header("content-encoding"), "br");
    assert.equal(cache.compressedOffers, 1, "compressed more than once for 10 concurrent GETs");
  });
});
