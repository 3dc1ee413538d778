/**
 * The small-file cache: without a watcher an entry is served only while a stat shows the same
 * file; with one, a change under the root drops it; the bytes held stay within the capacity,
 * least recently used first out.
 */

import assert from "node:assert/strict";
import {
  type CachedFile,
  charge,
  FileCache,
  identityOf,
  type Representation,
  type SiblingState,
} from "../../../src/handlers/file_cache.ts";
import { ResponseMemo } from "../../../src/http/response.ts";
import { fileValidators } from "../../../src/http/validators.ts";
import { tempDir, waitFor } from "../../helpers/server.ts";

async function entryFor(path: string): Promise<CachedFile> {
  const bytes = await Deno.readFile(path);
  const info = await Deno.stat(path);
  return {
    real: path,
    identity: identityOf(info),
    validators: fileValidators(info.size, info.mtime?.getTime() ?? 0),
    fields: [["Content-Type", "text/plain"]],
    bytes,
    memo: new ResponseMemo(),
  };
}

Deno.test("file cache: a hit needs the same file; a change, a swap or a removal drops it", async () => {
  const dir = await tempDir();
  try {
    const path = `${dir.path}/a.txt`;
    await Deno.writeTextFile(path, "first");
    const cache = new FileCache(64 * 1024);
    const entry = await entryFor(path);
    cache.put("/a.txt", path, entry, cache.generation);
    assert.equal(cache.fresh("/a.txt", path), entry);
    assert.equal(cache.fresh("/b.txt", `${dir.path}/b.txt`), null, "never cached");

    // Same size, new mtime: stale.
    await Deno.utime(path, new Date(), new Date(Date.now() + 5_000));
    assert.equal(cache.fresh("/a.txt", path), null);
    assert.equal(cache.size, 0);
    assert.equal(cache.bytes, 0);

    // A different file renamed over the path (same size and mtime): a new inode, so stale.
    cache.put("/a.txt", path, await entryFor(path), cache.generation);
    const other = `${dir.path}/other.txt`;
    await Deno.writeTextFile(other, "secnd");
    const { mtime } = await Deno.stat(path);
    await Deno.utime(other, mtime!, mtime!);
    await Deno.rename(other, path);
    assert.equal(cache.fresh("/a.txt", path), null);

    // Removed: stale.
    cache.put("/a.txt", path, await entryFor(path), cache.generation);
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
    // Each 40-byte file is charged 3 x 40 + 2048 = 2168 (its bytes, two encoded responses and
    // overhead): two fit in 5000, three do not.
    const cache = new FileCache(5000);
    cache.put("/a", a, await entryFor(a), cache.generation);
    cache.put("/b", b, await entryFor(b), cache.generation);
    assert.ok(cache.fresh("/a", a), "a used again, so b is now the oldest");
    cache.put("/c", c, await entryFor(c), cache.generation);
    assert.equal(cache.bytes, 2 * 2168);
    assert.ok(cache.fresh("/a", a));
    assert.equal(cache.fresh("/b", b), null, "b evicted");
    assert.ok(cache.fresh("/c", c));

    // Replacing an entry does not count it twice; an entry above capacity is not kept.
    cache.put("/c", c, await entryFor(c), cache.generation);
    assert.equal(cache.bytes, 2 * 2168);
    const big = `${dir.path}/big.txt`;
    await Deno.writeFile(big, new Uint8Array(1000));
    cache.put("/big", big, await entryFor(big), cache.generation);
    assert.equal(cache.fresh("/big", big), null);
    assert.equal(cache.bytes, 2 * 2168);
  } finally {
    await dir.remove();
  }
});

/** Waits until `condition` holds (a watcher event has been handled), at most 3 s. */
async function until(what: string, condition: () => boolean): Promise<void> {
  await waitFor(condition, { what, timeoutMs: 3_000 });
}

Deno.test("file cache: with a watcher, a change drops the entry without any stat", async () => {
  const dir = await tempDir();
  const cache = new FileCache(64 * 1024);
  try {
    const sub = `${dir.path}/sub`;
    await Deno.mkdir(sub);
    const a = `${dir.path}/a.txt`;
    const b = `${sub}/b.txt`;
    await Deno.writeTextFile(a, "aaaa");
    await Deno.writeTextFile(b, "bbbb");
    cache.watch(dir.path, 60_000, (error) => {
      throw error;
    });
    assert.equal(cache.validMs, 60_000);

    cache.put("/a.txt", a, await entryFor(a), cache.generation);
    cache.put("/sub/b.txt", b, await entryFor(b), cache.generation);
    assert.equal(cache.size, 2);
    // Reading a cached file is not a change.
    await Deno.readFile(a);
    await Deno.writeTextFile(a, "AAAA");
    await until("the change to a.txt", () => cache.fresh("/a.txt", a) === null);
    assert.ok(cache.fresh("/sub/b.txt", b), "an unrelated entry stays");

    // A folder renamed above an entry drops it.
    await Deno.rename(sub, `${dir.path}/moved`);
    await until("the rename of sub/", () => cache.size === 0);

    // Bytes read before a change was reported are not kept.
    const generation = cache.generation;
    const stale = await entryFor(a);
    await Deno.writeTextFile(a, "aaab");
    await until("the second change", () => cache.generation !== generation);
    cache.put("/a.txt", a, stale, generation);
    assert.equal(cache.size, 0);

    cache.close();
    assert.equal(cache.validMs, 0, "closed: every hit is confirmed by a stat again");
  } finally {
    cache.close();
    await dir.remove();
  }
});

/** A coded variant of `n` bytes, as compression.ts makes them. */
function variant(n: number): Representation {
  return {
    validators: fileValidators(n, 0),
    fields: [["Content-Encoding", "br"]],
    bytes: new Uint8Array(n),
    memo: new ResponseMemo(),
  };
}

/** The sibling state of `path` as it is now (its identity, or null when absent). */
async function siblingState(path: string): Promise<SiblingState> {
  const info = await Deno.stat(path).catch(() => null);
  return { named: path, real: info === null ? null : path, identity: info && identityOf(info) };
}

Deno.test("charge(): coded variants count like the identity (bytes, two encodings, overhead)", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/a.txt`;
  await Deno.writeFile(path, new Uint8Array(1000));
  const plain = await entryFor(path);
  assert.equal(charge(plain), 3 * 1000 + 2048);
  const coded: CachedFile = {
    ...plain,
    encodings: { available: 3, br: variant(300), gzip: variant(400) },
  };
  assert.equal(charge(coded), 3 * 1000 + 2048 + (3 * 300 + 1024) + (3 * 400 + 1024));
  const brOnly: CachedFile = {
    ...plain,
    encodings: { available: 1, br: variant(300), gzip: null },
  };
  assert.equal(charge(brOnly), 3 * 1000 + 2048 + 3 * 300 + 1024);
  // The cache's count follows the charge, in and out.
  const cache = new FileCache(64 * 1024);
  cache.put("/a.txt", path, coded, cache.generation);
  assert.equal(cache.bytes, charge(coded));
  cache.put("/a.txt", path, plain, cache.generation);
  assert.equal(cache.bytes, charge(plain));
});

Deno.test("file cache: a sibling that appears, changes or goes makes the entry stale (stat)", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/a.css`;
  const br = `${path}.br`;
  await Deno.writeTextFile(path, "body { color: red }");
  const cache = new FileCache(64 * 1024);
  const withSiblings = async () => ({
    ...await entryFor(path),
    siblings: [await siblingState(br), await siblingState(`${path}.gz`)],
  });
  cache.put("/a.css", path, await withSiblings(), cache.generation);
  assert.ok(cache.fresh("/a.css", path), "nothing changed");
  // Appears.
  await Deno.writeFile(br, new Uint8Array([1, 2, 3]));
  assert.equal(cache.fresh("/a.css", path), null, "a sibling appeared");
  cache.put("/a.css", path, await withSiblings(), cache.generation);
  assert.ok(cache.fresh("/a.css", path), "made with the sibling there");
  // Changes (a new modification time).
  await Deno.utime(br, new Date(), new Date(Date.now() + 5_000));
  assert.equal(cache.fresh("/a.css", path), null, "the sibling changed");
  cache.put("/a.css", path, await withSiblings(), cache.generation);
  // Goes.
  await Deno.remove(br);
  assert.equal(cache.fresh("/a.css", path), null, "the sibling went");
});

Deno.test("file cache: with a watcher, a sibling appearing drops the entry without any stat", async () => {
  await using dir = await tempDir();
  const path = `${dir.path}/a.css`;
  await Deno.writeTextFile(path, "body { color: red }");
  const cache = new FileCache(64 * 1024);
  try {
    cache.watch(dir.path, 60_000, (error) => {
      throw error;
    });
    const entry = {
      ...await entryFor(path),
      siblings: [await siblingState(`${path}.br`), await siblingState(`${path}.gz`)],
    };
    cache.put("/a.css", path, entry, cache.generation);
    await Deno.writeFile(`${path}.gz`, new Uint8Array([1, 2, 3]));
    await until("the new sibling", () => cache.fresh("/a.css", path) === null);
  } finally {
    cache.close();
  }
});
