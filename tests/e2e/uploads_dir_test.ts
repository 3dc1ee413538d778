/**
 * `--uploads DIR` and the sandbox hint end to end: uploads are saved in the folder given (made
 * if missing, crash leftovers removed), not in `<root>/uploads`; when --root or --uploads lie
 * outside the sandbox, start-up fails with one line (status 1) ending in the `deno run` line
 * that grants them, and that line, run as it is, starts a server that serves and saves there.
 */

import assert from "node:assert/strict";
import { bytes, exchange, get } from "../helpers/raw_client.ts";
import { runCli, spawnServer, tempDir, tempRoot, withServer } from "../helpers/server.ts";

const NAME = /^\/uploads\/(upload_\d{8}_\d{6}_[A-Za-z0-9]{4}\.json)$/;

function uploadRequest(port: number, body: string): Uint8Array {
  return bytes(
    `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${bytes(body).length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/** Uploads `body`; the saved file's name. */
async function uploadTo(port: number, body: string): Promise<string> {
  const res = await exchange(port, uploadRequest(port, body));
  assert.equal(res.status, 201, res.text());
  const match = NAME.exec(res.header("location") ?? "");
  assert.ok(match !== null, `Location ${res.header("location")}`);
  return match[1] as string;
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) out.push(entry.name);
  return out.sort();
}

Deno.test("--uploads: uploads go to the folder given, made if missing, not to <root>/uploads", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await using elsewhere = await tempDir();
  const uploads = `${elsewhere.path}/incoming/json`;
  await withServer({ root: root.path, uploads }, async (server) => {
    const name = await uploadTo(server.port, '{"where":"elsewhere"}');
    assert.deepEqual(await names(uploads), [name]);
    assert.equal(await Deno.readTextFile(`${uploads}/${name}`), '{"where":"elsewhere"}');
    assert.deepEqual(await names(root.uploads), [], "<root>/uploads was written");
    assert.equal(server.state.site.uploadsDir, await Deno.realPath(uploads));
  });
});

for (const where of ["outside the root", "inside the root under another name"]) {
  Deno.test(`--uploads ${where}: the Location of a 201 serves the saved document`, async () => {
    await using root = await tempRoot({ files: ["index.html"] });
    await using elsewhere = await tempDir();
    const uploads = where === "outside the root"
      ? `${elsewhere.path}/json`
      : `${root.path}/incoming`;
    await withServer({ root: root.path, uploads }, async (server) => {
      const body = '{"served":"back","n":12345}';
      const name = await uploadTo(server.port, body);
      const res = await get(server.port, `/uploads/${name}`);
      assert.equal(res.status, 200);
      assert.equal(res.header("content-type"), "application/json");
      assert.equal(res.text(), body);
      const head = await get(server.port, `/uploads/${name}`, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.header("content-length"), String(body.length));
      const range = await get(server.port, `/uploads/${name}`, {
        fields: [["Range", "bytes=1-8"]],
      });
      assert.equal(range.status, 206);
      assert.equal(range.text(), body.slice(1, 9));
      // The folder itself redirects like any folder; what is not in it is missing.
      const folder = await get(server.port, "/uploads");
      assert.equal(folder.status, 301);
      assert.equal(folder.header("location"), "/uploads/");
      assert.equal((await get(server.port, "/uploads/nothing.json")).status, 404);
      assert.equal((await get(server.port, "/uploads/../index.html")).status, 403);
      await Deno.writeTextFile(`${uploads}/.upload-x.tmp`, "{");
      assert.equal((await get(server.port, "/uploads/.upload-x.tmp")).status, 404);
    });
  });
}

Deno.test("--uploads: partial uploads left there by a crash are removed at start-up", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await using uploads = await tempDir();
  await Deno.writeTextFile(`${uploads.path}/.upload-leftover.tmp`, '{"torn');
  await Deno.writeTextFile(`${uploads.path}/upload_20260101_000000_abcd.json`, "{}");
  await withServer({ root: root.path, uploads: uploads.path }, async () => {
    assert.deepEqual(await names(uploads.path), ["upload_20260101_000000_abcd.json"]);
  });
});

/** Words of a POSIX shell line that uses only plain words and single quotes ('\'' included). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (c === " ") {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      assert.ok(end > i, `unterminated quote in ${line}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === "\\") {
      word = (word ?? "") + (line[++i] ?? "");
    } else {
      assert.match(c, /[A-Za-z0-9_@%+=:,./-]/, `unquoted ${JSON.stringify(c)} in ${line}`);
      word = (word ?? "") + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/**
 * Runs main.ts with `args` in `deno task start`'s sandbox, expects the one-line sandbox failure
 * naming `folder`, and returns the words of the `deno run` line it offers.
 */
async function grantLine(args: string[], folder: string): Promise<string[]> {
  const { code, out, err } = await runCli(args);
  assert.equal(code, 1, `exit status ${code}:\n${err}`);
  assert.equal(out, "");
  const lines = err.split("\n").filter((line) => line.trim() !== "");
  assert.equal(lines.length, 1, `not one line:\n${err}`);
  const line = lines[0] as string;
  assert.ok(line.includes(folder), line);
  assert.match(line, /outside the sandbox/);
  const marker = "; to grant it, run: ";
  const at = line.indexOf(marker);
  assert.ok(at > 0, line);
  return shellWords(line.slice(at + marker.length));
}

/** `deno run PERMISSIONS main.ts ARGS` → the permissions and the arguments. */
function splitRun(words: string[]): { permissions: string[]; args: string[] } {
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  const script = words.indexOf("main.ts");
  assert.ok(script > 2, words.join(" "));
  return { permissions: words.slice(2, script), args: words.slice(script + 1) };
}

// The spawned servers' piped stderr is read by the helper until the child exits; its read op
// may complete a tick after the exit status, which the op sanitizer would flag.
const SPAWNED = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.test({
  ...SPAWNED,
  name: "--uploads outside the sandbox: the hint's deno run line starts a server saving there",
  fn: async () => {
    await using dir = await tempDir();
    const uploads = `${dir.path}/saved uploads`;
    const words = await grantLine(["0", "--uploads", uploads], uploads);
    const { permissions, args } = splitRun(words);
    assert.deepEqual(permissions, [
      "--allow-net",
      `--allow-read=resources,${uploads}`,
      `--allow-write=${uploads}`,
      "--allow-sys=statfs",
    ]);
    assert.deepEqual(args, ["0", "--uploads", uploads]);
    const server = await spawnServer(args, { permissions });
    try {
      const name = await uploadTo(server.port, '{"granted":true}');
      assert.equal(await Deno.readTextFile(`${uploads}/${name}`), '{"granted":true}');
    } finally {
      server.process.kill("SIGKILL");
      await server.status;
    }
  },
});

Deno.test({
  ...SPAWNED,
  name: "--root outside the sandbox: the hint grants the root and its uploads folder",
  fn: async () => {
    await using dir = await tempDir();
    const root = `${dir.path}/my site`;
    await Deno.mkdir(root);
    await Deno.writeTextFile(`${root}/index.html`, "<!doctype html><title>granted</title>\n");
    const words = await grantLine(["0", "--root", root, "--cors", "*"], root);
    const { permissions, args } = splitRun(words);
    assert.deepEqual(permissions, [
      "--allow-net",
      `--allow-read=${root}`,
      `--allow-write=${root}/uploads`,
      "--allow-sys=statfs",
    ]);
    assert.deepEqual(args, ["0", "--root", root, "--cors", "*"]);
    const server = await spawnServer(args, { permissions });
    try {
      const res = await get(server.port, "/", {
        fields: [["Origin", "https://app.example"], ["Connection", "close"]],
      });
      assert.equal(res.status, 200);
      assert.equal(res.text(), "<!doctype html><title>granted</title>\n");
      assert.equal(res.header("access-control-allow-origin"), "*");
      await uploadTo(server.port, "[1,2,3]");
      assert.equal((await names(`${root}/uploads`)).length, 1);
    } finally {
      server.process.kill("SIGKILL");
      await server.status;
    }
  },
});

Deno.test("a missing --root is still a plain one-line failure, without a grant line", async () => {
  const { code, err } = await runCli(["0", "--root", "resources/no-such-folder"]);
  assert.equal(code, 1);
  assert.match(err, /no such file or directory/);
  assert.ok(!err.includes("to grant it"), err);
});
