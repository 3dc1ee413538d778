/**
 * The small-file cache: an entry is served only while a stat shows the same file, and the bytes
 * held stay within the capacity, least recently used first out.
 */

import assert from "node:assert/strict";
import { type CachedFile, FileCache, identityOf } from "../../../src/handlers/file_cache.ts";
import { fileValidators } from "../../../src/http/validators.ts";
import { tempDir } from "../../helpers/server.ts";

async function entryFor(path: string): Promise<CachedFile> {
  const bytes = await Deno.readFile(path);
  const info = await Deno.stat(path);
  return {
    identity: identityOf(info),
    validators: fileValidators(info.size, info.mtime?.getTime() ?? 0),
    fields: [["Content-Type", "text/plain"]],
    bytes,
  };
}

Deno.test("file cache: a hit needs the same file; a change, a swap or a removal drops it", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir.path}/a.txt`;
    await Deno.writeTextFile(path, "first");
    const cache = new FileCache(1024);
    const entry = await entryFor(path);
    cache.put("/a.txt", entry);
    assert.equal(cache.fresh("/a.txt", path), entry);
    assert.equal(cache.fresh("/b.txt", `${dir.path}/b.txt`), null, "never cached");

    // Same size, new mtime: stale.
    await Deno.utime(path, new Date(), new Date(Date.now() + 5_000));
    assert.equal(cache.fresh("/a.txt", path), null);
    assert.equal(cache.size, 0);
    assert.equal(cache.bytes, 0);

    // A different file renamed over the path (same size and mtime): a new inode, so stale.
    cache.put("/a.txt", await entryFor(path));
    const other = `${dir.path}/other.txt`;
    await Deno.writeTextFile(other, "secnd");
    const { mtime } = await Deno.stat(path);
    await Deno.utime(other, mtime!, mtime!);
    await Deno.rename(other, path);
    assert.equal(cache.fresh("/a.txt", path), null);

    // Removed: stale.
    cache.put("/a.txt", await entryFor(path));
    await Deno.remove(path);
    assert.equal(cache.fresh("/a.txt", path), null);
    assert.equal(cache.bytes, 0);
  } finally {
    await dir.remove();
  }
});

Deno.test("file cache: capacity is respected, least recently used goes first", async () => {
  const dir = await tempDir();
  try {
    const paths: string[] = [];
    for (const name of ["a", "b", "c"]) {
      const path = `${dir.path}/${name}.txt`;
      await Deno.writeFile(path, new Uint8Array(40).fill(name.charCodeAt(0)));
      paths.push(path);
    }
    const [a, b, c] = paths as [string, string, string];
    const cache = new FileCache(100);
    cache.put("/a", await entryFor(a));
    cache.put("/b", await entryFor(b));
    assert.ok(cache.fresh("/a", a), "a used again, so b is now the oldest");
    cache.put("/c", await entryFor(c));
    assert.equal(cache.bytes, 80);
    assert.ok(cache.fresh("/a", a));
    assert.equal(cache.fresh("/b", b), null, "b evicted");
    assert.ok(cache.fresh("/c", c));

    // Replacing an entry does not count it twice; an entry above capacity is not kept.
    cache.put("/c", await entryFor(c));
    assert.equal(cache.bytes, 80);
    const big = `${dir.path}/big.txt`;
    await Deno.writeFile(big, new Uint8Array(101));
    cache.put("/big", await entryFor(big));
    assert.equal(cache.fresh("/big", big), null);
    assert.equal(cache.bytes, 80);
  } finally {
    await dir.remove();
  }
});
