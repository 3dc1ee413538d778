/**
 * Symlinks that lead out of the root: refused with 403 by the in-process server and by the
 * spawned, sandboxed one (read permission for the root only), which never crashes on them.
 */

import assert from "node:assert/strict";
import { type FieldList, get } from "../helpers/raw_client.ts";
import { symlink, tempDir, tempRoot, withServer, withSpawnedServer } from "../helpers/server.ts";

const SECRET = "top secret: outside the root\n";
const OK_TEXT = "inside the root\n";
/** Each request goes on its own connection and says so. */
const CLOSE: FieldList = [["Connection", "close"]];

interface Site extends AsyncDisposable {
  root: string;
  remove(): Promise<void>;
}

/**
 * root/: index.html, ok.txt, inner.txt → ok.txt, escape.txt → <outside>/secret.txt (absolute),
 * loop.txt → ../<outside>/secret.txt (relative), outdir → <outside>, self.txt → self.txt,
 * host.txt → /etc/hostname.
 */
async function buildSite(): Promise<Site> {
  const root = await tempRoot({ files: [] });
  const outside = await tempDir();
  const remove = async () => {
    await root.remove();
    await outside.remove();
  };
  try {
    const outsideName = outside.path.slice(outside.path.lastIndexOf("/") + 1);
    await Deno.writeTextFile(`${outside.path}/secret.txt`, SECRET);
    await Deno.writeTextFile(`${root.path}/index.html`, "<!doctype html><title>sandbox</title>\n");
    await Deno.writeTextFile(`${root.path}/ok.txt`, OK_TEXT);
    await symlink("ok.txt", `${root.path}/inner.txt`);
    await symlink(`${outside.path}/secret.txt`, `${root.path}/escape.txt`);
    await symlink(`../${outsideName}/secret.txt`, `${root.path}/loop.txt`);
    await symlink(outside.path, `${root.path}/outdir`);
    await symlink("self.txt", `${root.path}/self.txt`);
    await symlink("/etc/hostname", `${root.path}/host.txt`);
  } catch (error) {
    await remove();
    throw error;
  }
  return { root: root.path, remove, [Symbol.asyncDispose]: remove };
}

const REFUSED = ["/escape.txt", "/loop.txt", "/outdir/secret.txt", "/host.txt"];

async function assertConfined(port: number): Promise<void> {
  for (const path of REFUSED) {
    const res = await get(port, path, { fields: CLOSE });
    assert.equal(res.status, 403, `GET ${path}: ${res.status} ${res.text()}`);
    assert.ok(!res.text().includes("top secret"), `GET ${path} leaked the outside file`);
    assert.equal(res.header("content-disposition"), null, `GET ${path} offered a download`);
    // The server keeps serving after each refusal.
    const ok = await get(port, "/ok.txt", { fields: CLOSE });
    assert.equal(ok.status, 200, `GET /ok.txt after ${path}: ${ok.status}`);
    assert.equal(ok.text(), OK_TEXT);
  }
  const inner = await get(port, "/inner.txt", { fields: CLOSE });
  assert.equal(inner.status, 200, "a symlink that stays inside the root is refused");
  assert.equal(inner.text(), OK_TEXT);
  assert.equal((await get(port, "/", { fields: CLOSE })).status, 200);
}

Deno.test("GET of a symlink out of the root is 403 (in-process server)", async () => {
  await using site = await buildSite();
  await withServer({ root: site.root }, async (server) => {
    await assertConfined(server.port);
  });
});

Deno.test("GET of a symlink that points at itself is refused, not a 500", async () => {
  await using site = await buildSite();
  await withServer({ root: site.root }, async (server) => {
    // ELOOP is the client's dead end, not a server fault: nginx answers 403 for it.
    const res = await get(server.port, "/self.txt", { fields: CLOSE });
    assert.ok([403, 404].includes(res.status), `GET /self.txt: ${res.status} ${res.text()}`);
    assert.equal((await get(server.port, "/ok.txt", { fields: CLOSE })).status, 200);
  });
});

// The spawned server's piped stderr is read by the helper until the child exits; its read op
// may complete a tick after the exit status, which the op sanitizer would flag.
Deno.test({
  name: "GET of a symlink out of the root is 403 (spawned, read-sandboxed server), never a crash",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using site = await buildSite();
    await withSpawnedServer(["0"], { root: site.root }, async (server) => {
      let exited = false;
      server.status.then(() => exited = true);
      await assertConfined(server.port);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(exited, false, `server exited:\n${server.log()}`);
      assert.equal((await get(server.port, "/ok.txt", { fields: CLOSE })).status, 200);
      assert.ok(!/uncaught| {4}at /i.test(server.log()), `error in the log:\n${server.log()}`);
      server.process.kill("SIGTERM");
      assert.equal((await server.status).code, 0);
    });
  },
});
