/**
 * UploadStore (src/handlers/upload_store.ts) at its file-system seam: faults injected at each
 * step of a save, the order of the steps (durability before 201), the group commit of the
 * folder, and the storage bound. A real temporary folder underneath, so what is left on disk
 * is what a real failure would leave.
 */

import assert from "node:assert/strict";
import { HttpError } from "../../../src/http/status.ts";
import {
  DENO_UPLOAD_FS,
  GroupCommit,
  spaceFor,
  type UploadFs,
  UploadStore,
} from "../../../src/handlers/upload_store.ts";
import { tempDir } from "../../helpers/server.ts";

const DOC = new TextEncoder().encode('{"hello":"world"}');
const UNLIMITED = { maxBytes: 1 << 30, minFreeBytes: 0 };
/** What one DOC counts for against the bound: a whole block. */
const DOC_SPACE = spaceFor(DOC.length);

type Op = "create" | "write" | "sync" | "close" | "link" | "remove" | "sync folder";

/** DENO_UPLOAD_FS, recording each operation, failing the chosen one with `error`. */
function faultyFs(log: string[], failAt: Op | null, error: Error): UploadFs {
  const fail = (op: Op) => {
    log.push(op);
    if (op === failAt) throw error;
  };
  return {
    ...DENO_UPLOAD_FS,
    async create(path) {
      fail("create");
      const file = await DENO_UPLOAD_FS.create(path);
      return {
        async write(bytes) {
          if (failAt === "write") {
            // A full disk takes part of the bytes, then fails: those bytes must go too.
            await file.write(bytes.subarray(0, Math.ceil(bytes.length / 2)));
          }
          fail("write");
          return await file.write(bytes);
        },
        async syncData() {
          fail("sync");
          await file.syncData();
        },
        close() {
          log.push("close");
          file.close();
        },
      };
    },
    async link(existing, created) {
      fail("link");
      await DENO_UPLOAD_FS.link(existing, created);
    },
    async remove(path) {
      log.push("remove");
      await DENO_UPLOAD_FS.remove(path);
    },
    async syncFolder(dir) {
      fail("sync folder");
      await DENO_UPLOAD_FS.syncFolder(dir);
    },
  };
}

function osError(code: string, message: string): Error {
  return Object.assign(new Error(`${message} (os error)`), { code });
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) out.push(entry.name);
  return out.sort();
}

const FAULTS: [string, () => Error, number][] = [
  ["ENOSPC", () => osError("ENOSPC", "No space left on device"), 507],
  ["EDQUOT", () => osError("EDQUOT", "Disk quota exceeded"), 507],
  ["EIO", () => osError("EIO", "Input/output error"), 500],
  ["EMFILE", () => osError("EMFILE", "Too many open files"), 503],
  ["a message-only ENOSPC", () => new Error("No space left on device (os error 28)"), 507],
];

for (const step of ["create", "write", "sync", "link", "sync folder"] as const) {
  for (const [fault, makeError, status] of FAULTS) {
    Deno.test(`UploadStore.save() with ${fault} at ${step}: ${status}, nothing left, the next save works`, async () => {
      const dir = await tempDir();
      try {
        const log: string[] = [];
        const store = new UploadStore(dir.path, UNLIMITED, faultyFs(log, step, makeError()));
        await assert.rejects(store.save(DOC), (error) => {
          assert.ok(error instanceof HttpError);
          assert.equal(error.status, status);
          if (status === 503) assert.deepEqual(error.headers, [["Retry-After", "1"]]);
          return true;
        });
        assert.deepEqual(await names(dir.path), [], `left behind after ${log.join(", ")}`);
        assert.equal(store.storedBytes, 0);
        const ok = new UploadStore(dir.path, UNLIMITED);
        const name = await ok.save(DOC);
        assert.deepEqual(await names(dir.path), [name]);
        assert.deepEqual(await Deno.readFile(`${dir.path}/${name}`), DOC);
      } finally {
        await dir.remove();
      }
    });
  }
}

Deno.test("UploadStore.save() syncs the data, links, removes the temporary name and syncs the folder before it returns", async () => {
  const dir = await tempDir();
  try {
    const log: string[] = [];
    const store = new UploadStore(dir.path, UNLIMITED, faultyFs(log, null, new Error()));
    const name = await store.save(DOC);
    log.push("respond");
    assert.deepEqual(log, [
      "create",
      "write",
      "sync",
      "close",
      "link",
      "remove",
      "sync folder",
      "respond",
    ]);
    assert.deepEqual(await names(dir.path), [name]);
  } finally {
    await dir.remove();
  }
});

Deno.test("UploadStore.save(): concurrent uploads share folder syncs, and none returns before a sync that began after its link", async () => {
  const dir = await tempDir();
  try {
    const events: string[] = [];
    let syncs = 0;
    const slowSync: UploadFs = {
      ...DENO_UPLOAD_FS,
      async link(existing, created) {
        await DENO_UPLOAD_FS.link(existing, created);
        events.push(`link ${created.slice(created.lastIndexOf("/") + 1)}`);
      },
      async syncFolder(folder) {
        const n = ++syncs;
        events.push(`sync ${n} start`);
        await new Promise((resolve) => setTimeout(resolve, 30));
        await DENO_UPLOAD_FS.syncFolder(folder);
        events.push(`sync ${n} end`);
      },
    };
    const store = new UploadStore(dir.path, UNLIMITED, slowSync);
    const saved = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const name = await store.save(DOC);
        events.push(`respond ${name}`);
        return name;
      }),
    );
    assert.equal(new Set(saved).size, 20);
    assert.ok(syncs < 20, `${syncs} folder syncs for 20 uploads: no group commit`);
    for (const name of saved) {
      const linked = events.indexOf(`link ${name}`);
      const responded = events.indexOf(`respond ${name}`);
      // The sync that covers it started after the link and ended before the response.
      const covering = events.findIndex((e, i) => {
        const ended = events.indexOf(e.replace("start", "end"));
        return i > linked && /^sync \d+ start$/.test(e) && ended >= 0 && ended < responded;
      });
      assert.ok(covering > linked, `${name} responded before a folder sync after its link`);
    }
  } finally {
    await dir.remove();
  }
});

Deno.test("GroupCommit.commit(): a failed sync rejects exactly the callers it covered", async () => {
  let calls = 0;
  const gate = Promise.withResolvers<void>();
  const commit = new GroupCommit(async () => {
    calls++;
    if (calls === 1) {
      await gate.promise;
      throw new Error("EIO");
    }
  });
  const first = commit.commit();
  const second = commit.commit(); // arrives while the first runs: covered by the next run
  gate.resolve();
  await assert.rejects(first, /EIO/);
  await second;
  assert.equal(calls, 2);
});

Deno.test("UploadStore: the storage bound answers 507 without writing, and counts what is stored", async () => {
  const dir = await tempDir();
  try {
    const limits = { maxBytes: DOC_SPACE * 3, minFreeBytes: 0 };
    const store = new UploadStore(dir.path, limits);
    await store.open();
    for (let i = 0; i < 3; i++) await store.save(DOC);
    assert.equal(store.storedBytes, DOC_SPACE * 3);
    await assert.rejects(store.save(DOC), (e) => e instanceof HttpError && e.status === 507);
    assert.equal((await names(dir.path)).length, 3);
    // A restarted server measures what is there.
    const again = new UploadStore(dir.path, limits);
    await again.open();
    assert.equal(again.storedBytes, DOC_SPACE * 3);
    await assert.rejects(again.save(DOC), (e) => e instanceof HttpError && e.status === 507);
  } finally {
    await dir.remove();
  }
});

for (const minFreeBytes of [0, 1024]) {
  Deno.test(`UploadStore: concurrent uploads cannot overshoot the bound together (min free ${minFreeBytes})`, async () => {
    const dir = await tempDir();
    try {
      // The free-space check awaits: every upload must have reserved its space before it.
      const roomy: UploadFs = { ...DENO_UPLOAD_FS, freeBytes: () => Promise.resolve(2 ** 40) };
      const limits = { maxBytes: DOC_SPACE * 5, minFreeBytes };
      const store = new UploadStore(dir.path, limits, roomy);
      const results = await Promise.allSettled(Array.from({ length: 12 }, () => store.save(DOC)));
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 5);
      assert.equal((await names(dir.path)).length, 5);
    } finally {
      await dir.remove();
    }
  });
}

Deno.test("UploadStore: a full bound is answered from the count, and measured again in the background", async () => {
  const dir = await tempDir();
  try {
    let scans = 0;
    const counting: UploadFs = {
      ...DENO_UPLOAD_FS,
      async *list(folder) {
        scans++;
        yield* DENO_UPLOAD_FS.list(folder);
      },
    };
    const store = new UploadStore(dir.path, { maxBytes: DOC_SPACE, minFreeBytes: 0 }, counting);
    await store.open();
    const first = await store.save(DOC);
    assert.equal(scans, 1);
    // Refusals do not wait for a scan; at most one runs, and not again within its interval.
    const refused = await Promise.allSettled(Array.from({ length: 10 }, () => store.save(DOC)));
    assert.ok(refused.every((r) => r.status === "rejected"));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(scans <= 2, `${scans} scans for 10 refusals`);
    // Space an operator frees counts from the next measurement (at most every 5 s), not before.
    await Deno.remove(`${dir.path}/${first}`);
    assert.equal(store.storedBytes, DOC_SPACE);
  } finally {
    await dir.remove();
  }
});

Deno.test("UploadStore: --uploads-max-bytes 0 sets no bound", async () => {
  const dir = await tempDir();
  try {
    const store = new UploadStore(dir.path, { maxBytes: 0, minFreeBytes: 0 });
    for (let i = 0; i < 3; i++) await store.save(DOC);
    assert.equal((await names(dir.path)).length, 3);
  } finally {
    await dir.remove();
  }
});

Deno.test("UploadStore: --min-free-bytes is checked against the file system's free space", async () => {
  const dir = await tempDir();
  try {
    // 10,000 bytes free; an upload takes one 4 KiB block, leaving 5,904.
    const tight: UploadFs = { ...DENO_UPLOAD_FS, freeBytes: () => Promise.resolve(10_000) };
    const store = new UploadStore(dir.path, { maxBytes: 1 << 30, minFreeBytes: 6_000 }, tight);
    await assert.rejects(store.save(DOC), (e) => e instanceof HttpError && e.status === 507);
    const roomy = new UploadStore(dir.path, { maxBytes: 1 << 30, minFreeBytes: 5_000 }, tight);
    await roomy.save(DOC);
    assert.equal((await names(dir.path)).length, 1);
  } finally {
    await dir.remove();
  }
});

Deno.test("UploadStore.open() removes temporary leftovers and nothing else", async () => {
  const dir = await tempDir();
  try {
    await Deno.writeTextFile(`${dir.path}/.upload-abcdefabcdef.tmp`, "{");
    await Deno.writeTextFile(`${dir.path}/upload_20261201_120000_abcd.json`, "{}");
    await Deno.writeTextFile(`${dir.path}/.gitkeep`, "");
    const store = new UploadStore(dir.path, UNLIMITED);
    assert.equal((await store.open()).removed, 1);
    assert.deepEqual(await names(dir.path), [".gitkeep", "upload_20261201_120000_abcd.json"]);
    // Both files that stay count, each as the block it takes.
    assert.equal(store.storedBytes, 2 * spaceFor(2));
  } finally {
    await dir.remove();
  }
});
