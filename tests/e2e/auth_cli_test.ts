/**
 * Authentication through main.ts in `deno task start`'s sandbox: a password file made by
 * Debian's `htpasswd -B`; the access line names the user in all three formats and no log line
 * ever holds a password; the start-up refusals (plain HTTP beyond loopback: exit 2; a bad,
 * served, unreadable or missing password file: exit 1), each one line.
 *
 * `htpasswd` comes from Debian's apache2-utils (.ci/run installs it); without it the tests that
 * need it are ignored, loudly, except under CI=true, where they fail.
 */

import assert from "node:assert/strict";
import { basicAuthorization } from "../../src/http/basic_auth.ts";
import { bytes, exchange, get } from "../helpers/raw_client.ts";
import {
  PROJECT_DIR,
  runCli,
  tempDir,
  tempRoot,
  waitFor,
  withSpawnedServer,
} from "../helpers/server.ts";

const HTPASSWD = "htpasswd";
const haveHtpasswd = await new Deno.Command(HTPASSWD, { args: ["-nbB", "probe", "x"] }).output()
  .then((output) => output.code === 0, () => false);
const onCi = Deno.env.get("CI") === "true";
if (!haveHtpasswd) {
  console.warn(
    `${HTPASSWD} not found (apt-get install apache2-utils): htpasswd tests ${
      onCi ? "FAIL" : "ignored"
    }`,
  );
}
const needsHtpasswd = !haveHtpasswd && !onCi;

/** The password of every test user: distinctive, so a leak into a log is found. */
const PASSWORD = "Corr3ct-Horse:Battery";

async function htpasswd(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(HTPASSWD, { args }).output();
  const err = new TextDecoder().decode(stderr);
  if (code !== 0) throw new Error(`htpasswd ${args.join(" ")}: ${err}`);
  return new TextDecoder().decode(stdout);
}

/** Path relative to the project (the sandbox's scopes are given so). */
const relative = (path: string) => path.slice(PROJECT_DIR.length + 1);

function upload(port: number, authorization: string | null): Uint8Array {
  const body = `{"who":"me"}`;
  return bytes(
    `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      (authorization === null ? "" : `Authorization: ${authorization}\r\n`) +
      `Content-Length: ${body.length}\r\n\r\n${body}`,
  );
}

/** main.ts with `permissions` and `args`, to its end (bounded); its status and output. */
async function runMain(permissions: string[], args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, "main.ts", ...args],
    cwd: PROJECT_DIR,
    stdin: "null",
    signal: AbortSignal.timeout(15_000),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    out: decoder.decode(output.stdout),
    err: decoder.decode(output.stderr),
  };
}

function oneLine(err: string): string {
  const lines = err.split("\n").filter((line) => line.trim() !== "");
  assert.equal(lines.length, 1, `not one line:\n${err}`);
  assert.ok(!err.includes("    at "), `stack trace:\n${err}`);
  return lines[0] as string;
}

Deno.test({
  name:
    "a password file made by htpasswd -B: right credentials upload, the access line names the user, no log holds the password",
  ignore: needsHtpasswd,
  async fn() {
    await using root = await tempRoot({ files: ["index.html"] });
    await using secrets = await tempDir();
    const file = `${secrets.path}/users`;
    await htpasswd(["-cbB", file, "alice", PASSWORD]);
    await htpasswd(["-bB", "-C", "6", file, "bob", "other"]);
    const content = await Deno.readTextFile(file);
    assert.match(content, /^alice:\$2y\$05\$.{53}\nbob:\$2y\$06\$.{53}\n$/);
    const access = `${secrets.path}/access.log`;
    const permissions = (extra: string[] = []) => [
      "--allow-net",
      `--allow-read=${relative(root.path)},${relative(file)}`,
      `--allow-write=${[`${relative(root.path)}/uploads`, ...extra].join(",")}`,
      "--allow-sys=statfs",
    ];
    const formats: [string, string[], (line: string, user: string | null) => void][] = [
      ["text", [], (line, user) => {
        if (user === null) assert.match(line, /\(host 127\.0\.0\.1:\d+ accepted\) -> 401/);
        else {assert.match(
            line,
            new RegExp(`\\(host 127\\.0\\.0\\.1:\\d+ accepted, user ${user}\\) -> 201`),
          );}
      }],
      ["combined", ["--log-format", "combined", "--access-log", relative(access)], (line, user) => {
        assert.match(
          line,
          new RegExp(
            `^127\\.0\\.0\\.1 - ${user ?? "-"} \\[[^\\]]+\\] "POST /upload HTTP/1\\.1" ${
              user === null ? 401 : 201
            } `,
          ),
        );
      }],
      ["json", ["--log-format", "json", "--access-log", relative(access)], (line, user) => {
        const entry = JSON.parse(line);
        assert.equal(entry.user, user);
        assert.equal(entry.status, user === null ? 401 : 201);
      }],
    ];
    for (const [format, args, check] of formats) {
      await Deno.remove(access).catch(() => {});
      await withSpawnedServer(
        ["0", "--auth-file", relative(file), ...args],
        {
          root: relative(root.path),
          permissions: permissions(args.length > 0 ? [relative(access)] : []),
        },
        async (server) => {
          const wrong = await exchange(
            server.port,
            upload(server.port, basicAuthorization("alice", "guess")),
          );
          assert.equal(wrong.status, 401);
          const right = await exchange(
            server.port,
            upload(server.port, basicAuthorization("alice", PASSWORD)),
          );
          assert.equal(right.status, 201, right.text());
          assert.equal((await get(server.port, "/")).status, 200);
          const read = async () =>
            format === "text"
              ? server.log().split("\n").filter((l) => l.includes("denohttpd·access:"))
              : (await Deno.readTextFile(access).catch(() => "")).split("\n").filter((l) =>
                l !== ""
              );
          await waitFor(async () => (await read()).length >= 3, {
            what: `3 ${format} access lines`,
            timeoutMs: 5000,
          });
          const lines = await read();
          const uploads = lines.filter((line) =>
            line.includes("POST /upload") || line.includes('"/upload"')
          );
          assert.equal(uploads.length, 2, lines.join("\n"));
          check(uploads[0] as string, null);
          check(uploads[1] as string, "alice");
          const everything = server.log() +
            (format === "text" ? "" : await Deno.readTextFile(access));
          assert.ok(!everything.includes(PASSWORD), `${format}: the password is in a log`);
          assert.ok(!everything.includes("Q29ycjNjdC1I"), `${format}: its base64 is in a log`);
          assert.match(
            server.log(),
            /asking for credentials \(HTTP Basic\) on uploads \(\/upload\); 2 user\(s\)/,
          );
        },
      );
    }
  },
});

Deno.test("--auth USER:PASSWORD: the password works and appears in no log line", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await withSpawnedServer(
    ["0", "--auth", `alice:${PASSWORD}`, "--auth-scope", "all", "--log-level", "debug"],
    { root: relative(root.path) },
    async (server) => {
      const missing = await get(server.port, "/");
      assert.equal(missing.status, 401);
      const ok = await get(server.port, "/", {
        fields: [["Authorization", basicAuthorization("alice", PASSWORD)]],
      });
      assert.equal(ok.status, 200);
      await waitFor(() => /user alice\) -> 200/.test(server.log()), { what: "the access line" });
      assert.ok(!server.log().includes(PASSWORD), server.log());
      assert.ok(!server.log().includes("Battery"), "part of the password is in the log");
    },
  );
});

const PLAIN_HTTP: ReadonlyArray<string[]> = [
  ["0", "0.0.0.0", "--auth", `alice:${PASSWORD}`],
  ["--port", "0", "--host", "0.0.0.0", "--auth-file", "users"],
  ["--port", "0", "--host", "192.0.2.1", "--auth-file", "users", "--auth-scope", "all"],
];

for (const args of PLAIN_HTTP) {
  Deno.test(`main.ts ${args.join(" ").replace(PASSWORD, "…")}: credentials over plain HTTP, exit 2 with one line`, async () => {
    const { code, out, err } = await runCli(args);
    assert.equal(code, 2, err);
    assert.equal(out, "");
    const line = oneLine(err);
    assert.match(line, /credentials over plain HTTP on \S+ .*--auth-insecure/);
    assert.ok(!err.includes(PASSWORD) && !err.includes("Battery"), err);
  });
}

Deno.test(
  "main.ts refuses a password file with an MD5 line: exit 1, one line naming the line and htpasswd -B",
  {
    ignore: needsHtpasswd,
  },
  async () => {
    await using secrets = await tempDir();
    const file = `${secrets.path}/users`;
    await htpasswd(["-cbB", file, "alice", PASSWORD]);
    const md5 = await htpasswd(["-nbm", "carol", PASSWORD]);
    await Deno.writeTextFile(file, `# team\n${await Deno.readTextFile(file)}${md5.trim()}\n`);
    const { code, err } = await runMain(
      [
        "--allow-net",
        `--allow-read=resources,${relative(file)}`,
        "--allow-write=resources/uploads",
        "--allow-sys=statfs",
      ],
      ["0", "--auth-file", relative(file)],
    );
    assert.equal(code, 1, err);
    const line = oneLine(err);
    assert.match(
      line,
      /cannot start: --auth-file "[^"]+": line 3: user "carol" has an MD5 \(\$apr1\$\) hash; .*htpasswd -B/,
    );
    const hash = md5.trim().slice("carol:".length);
    assert.ok(hash.startsWith("$apr1$") && !err.includes(hash), "the hash is in the message");
  },
);

Deno.test("main.ts refuses a password file inside the served root, outside the sandbox, or missing: exit 1, one line", async () => {
  await using root = await tempRoot({ files: ["index.html"] });
  await Deno.writeTextFile(
    `${root.path}/users.txt`,
    "alice:$2y$05$J1GCMqDeQ3p8FWPMbsC0Fu4MuRc89BwtgbrsV1FyXznyuEOsF5lze\n",
  );
  await Deno.writeTextFile(
    `${root.path}/.htpasswd`,
    "alice:$2y$05$J1GCMqDeQ3p8FWPMbsC0Fu4MuRc89BwtgbrsV1FyXznyuEOsF5lze\n",
  );
  const rootRel = relative(root.path);
  const sandbox = [
    "--allow-net",
    `--allow-read=${rootRel}`,
    `--allow-write=${rootRel}/uploads`,
    "--allow-sys=statfs",
  ];
  const served = await runMain(sandbox, [
    "0",
    "--root",
    rootRel,
    "--auth-file",
    `${rootRel}/users.txt`,
  ]);
  assert.equal(served.code, 1, served.err);
  assert.match(oneLine(served.err), /inside the served root, so anyone could download it/);
  const outside = await runMain(sandbox, ["0", "--root", rootRel, "--auth-file", "deno.json"]);
  assert.equal(outside.code, 1, outside.err);
  assert.match(
    oneLine(outside.err),
    /cannot read --auth-file "deno\.json": outside the sandbox's --allow-read scope \(add it, e\.g\. --allow-read=/,
  );
  const missing = await runMain(sandbox, [
    "0",
    "--root",
    rootRel,
    "--auth-file",
    `${rootRel}/nobody`,
  ]);
  assert.equal(missing.code, 1, missing.err);
  assert.match(oneLine(missing.err), /cannot read --auth-file "[^"]+": no such file/);
  // A hidden file inside the root is never served: that one starts.
  await withSpawnedServer(
    ["0", "--auth-file", `${rootRel}/.htpasswd`],
    { root: rootRel },
    async (server) => {
      assert.equal((await get(server.port, "/.htpasswd")).status, 404);
      assert.equal(
        (await exchange(server.port, upload(server.port, basicAuthorization("alice", "s3cret"))))
          .status,
        201,
      );
    },
  );
});
