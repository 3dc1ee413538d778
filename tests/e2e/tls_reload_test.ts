/**
 * Certificate reload without a restart: after `reload` (SIGHUP in main.ts) or a change to the
 * files (watched), new connections get the new certificate while a keep-alive connection made
 * before goes on with the old one; a bad new pair is one log line and the old one stays. The
 * served certificate is read by curl (`subject: CN=…`). The last tests run main.ts as
 * `deno task start:tls` does: SIGHUP, and the line that says reloading needs --unstable-net.
 */

import assert from "node:assert/strict";
import { captureLogs } from "../helpers/log_capture.ts";
import { RawClient, requestHead } from "../helpers/raw_client.ts";
import {
  PROJECT_DIR,
  tempDir,
  tempRoot,
  waitFor,
  withServer,
  withSpawnedServer,
} from "../helpers/server.ts";
import {
  IGNORE_WITHOUT_TLS_TOOLS,
  servedName,
  testCertificates,
  tlsClient,
} from "../helpers/tls_certs.ts";
import type { ServerConfig } from "../../src/config.ts";
import type { RunningServer } from "../../src/server/listener.ts";

function tlsTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({ name, ignore: IGNORE_WITHOUT_TLS_TOOLS, fn });
}

interface Files {
  cert: string;
  key: string;
  /** Puts the pair `cert`, `key` (paths of test certificates) in place, by rename or in place. */
  install(cert: string, key: string, how?: "rename" | "overwrite"): Promise<void>;
}

async function pairFiles(dir: string): Promise<Files> {
  const files: Files = {
    cert: `${dir}/cert.pem`,
    key: `${dir}/key.pem`,
    async install(cert, key, how = "overwrite") {
      const moves: [string, string][] = [[cert, files.cert], [key, files.key]];
      for (const [from, to] of moves) {
        if (how === "overwrite") {
          await Deno.writeFile(to, await Deno.readFile(from));
        } else {
          await Deno.writeFile(`${to}.new`, await Deno.readFile(from));
          await Deno.rename(`${to}.new`, to);
        }
      }
    },
  };
  const certs = await testCertificates();
  await files.install(certs.cert, certs.key);
  return files;
}

async function withReloadable(
  overrides: Partial<ServerConfig>,
  fn: (server: RunningServer, files: Files) => Promise<void>,
): Promise<void> {
  await using root = await tempRoot({ files: ["index.html", "notes.txt"] });
  await using dir = await tempDir();
  const files = await pairFiles(dir.path);
  const config = {
    root: root.path,
    tlsCert: files.cert,
    tlsKey: files.key,
    tlsWatchFiles: false,
    ...overrides,
  };
  await withServer(config, (server) => fn(server, files));
}

tlsTest(
  "reload: new connections get the new certificate, an open keep-alive one keeps going",
  async () => {
    await using logs = await captureLogs();
    const certs = await testCertificates();
    await withReloadable({}, async (server, files) => {
      using old = await RawClient.connect(server.port, await tlsClient());
      await old.send(requestHead(server.port, "/notes.txt"));
      assert.equal((await old.response()).status, 200);
      assert.equal(await servedName(server.port), certs.names.cert);

      await files.install(certs.cert2, certs.key2);
      await server.reload("test");
      assert.equal(await servedName(server.port), certs.names.cert2);
      assert.ok(
        logs.lines.some((l) =>
          l.startsWith(`info test: TLS certificate reloaded: CN=${certs.names.cert2}`)
        ),
        logs.lines.join("\n"),
      );

      // The connection made before the reload is served on, pipelined requests included.
      await old.send(
        requestHead(server.port, "/index.html") + requestHead(server.port, "/notes.txt"),
      );
      assert.equal((await old.response()).status, 200);
      assert.equal((await old.response()).status, 200);
      assert.equal(server.state.stats.connections, 3, "the old connection was not replaced");
    });
  },
);

tlsTest("reload: a bad new pair is one error line, and the pair in use stays", async (t) => {
  await using logs = await captureLogs();
  const certs = await testCertificates();
  await withReloadable({}, async (server, files) => {
    const cases: [string, () => Promise<void>, RegExp][] = [
      [
        "a key that does not belong to the certificate",
        () => files.install(certs.cert2, certs.strayKey),
        /does not belong to the certificate/,
      ],
      [
        "the key file in place of the certificate",
        () => files.install(certs.key, certs.key),
        /holds no PEM certificate/,
      ],
      ["a missing key file", () => Deno.remove(files.key), /cannot read key file .*no such file/],
    ];
    for (const [name, breakIt, reason] of cases) {
      await t.step(name, async () => {
        await breakIt();
        const before = logs.lines.length;
        await server.reload("SIGHUP");
        const added = logs.lines.slice(before);
        assert.equal(added.length, 1, added.join("\n"));
        assert.match(added[0]!, /^error SIGHUP: TLS certificate not reloaded: /);
        assert.match(added[0]!, reason);
        assert.match(added[0]!, new RegExp(`still serving CN=${certs.names.cert}`));
        assert.equal(await servedName(server.port), certs.names.cert);
        await files.install(certs.cert, certs.key);
      });
    }
    await t.step("the files unchanged: nothing to do, one line", async () => {
      const before = logs.lines.length;
      await server.reload("SIGHUP");
      const added = logs.lines.slice(before);
      assert.equal(added.length, 1, added.join("\n"));
      assert.match(added[0]!, /^info SIGHUP: TLS certificate files unchanged; still serving CN=/);
    });
  });
});

tlsTest(
  "reload: replacing the files (rename or in place) is noticed, once they are quiet",
  async () => {
    await using logs = await captureLogs();
    const certs = await testCertificates();
    const overrides = { tlsWatchFiles: true, tlsReloadDebounceMs: 200 };
    await withReloadable(overrides, async (server, files) => {
      const serves = (name: string) =>
        waitFor(async () => (await servedName(server.port)) === name, {
          timeoutMs: 5000,
          intervalMs: 100,
          what: () =>
            `the certificate ${name}:\n${
              logs.lines.filter((l) => !l.startsWith("debug")).join("\n")
            }`,
        });
      await files.install(certs.cert2, certs.key2, "rename");
      await serves(certs.names.cert2);
      // Watched anew after a rename: an in-place change is seen too.
      await files.install(certs.cert, certs.key, "overwrite");
      await serves(certs.names.cert);
      await files.install(certs.cert2, certs.key2, "rename");
      await serves(certs.names.cert2);
      const reloads = logs.lines.filter((l) => l.includes("TLS certificate reloaded"));
      assert.equal(reloads.length, 3, reloads.join("\n"));
      assert.ok(reloads.every((l) => l.startsWith("info certificate files changed: ")));
    });
  },
);

tlsTest("reload: keep-alive connections made across 20 reloads all keep working", async () => {
  const certs = await testCertificates();
  await withReloadable({}, async (server, files) => {
    const clients: RawClient[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        clients.push(await RawClient.connect(server.port, await tlsClient()));
        const [cert, key] = i % 2 === 0 ? [certs.cert2, certs.key2] : [certs.cert, certs.key];
        await files.install(cert, key);
        await server.reload("test");
        for (const client of clients) {
          await client.send(requestHead(server.port, "/notes.txt"));
          assert.equal((await client.response()).status, 200);
        }
      }
    } finally {
      for (const client of clients) client.close();
    }
  });
});

/** `deno task start:tls`'s command, with the certificate paths replaced by `cert` and `key`. */
async function startTlsCommand(cert: string, key: string): Promise<string[]> {
  const tasks = JSON.parse(await Deno.readTextFile(`${PROJECT_DIR}/deno.json`)).tasks;
  const line = (tasks["start:tls"] as string)
    .replaceAll("certs/localhost.pem", cert)
    .replaceAll("certs/localhost-key.pem", key);
  const words = line.split(" ");
  assert.deepEqual(words.slice(0, 2), ["deno", "run"]);
  return words.slice(2);
}

tlsTest(
  "deno task start:tls serves HTTPS with read access to the two files; SIGHUP reloads",
  async () => {
    const certs = await testCertificates();
    await using dir = await tempDir();
    const files = await pairFiles(dir.path);
    const relative = (path: string) => path.slice(PROJECT_DIR.length + 1);
    const args = await startTlsCommand(relative(files.cert), relative(files.key));
    const main = args.indexOf("main.ts");
    const permissions = args.slice(0, main);
    assert.ok(permissions.includes("--unstable-net"));
    assert.ok(
      permissions.includes(`--allow-read=resources,${relative(files.cert)},${relative(files.key)}`),
      permissions.join(" "),
    );
    await withSpawnedServer(
      [...args.slice(main + 1), "--port", "0"],
      { permissions },
      async (server) => {
        assert.match(server.log(), /listening on https:\/\/127\.0\.0\.1:\d+\//);
        assert.equal(await servedName(server.port), certs.names.cert);
        await files.install(certs.cert2, certs.key2);
        server.process.kill("SIGHUP");
        await waitFor(() => server.log().includes("SIGHUP: TLS certificate reloaded"), {
          what: () => server.log(),
        });
        assert.equal(await servedName(server.port), certs.names.cert2);
        assert.doesNotMatch(server.log(), /\[(ERR|WRN)\]/);
      },
    );
  },
);

tlsTest("without --unstable-net the server starts, and a reload says what it needs", async () => {
  const certs = await testCertificates();
  await using dir = await tempDir();
  const files = await pairFiles(dir.path);
  const relative = (path: string) => path.slice(PROJECT_DIR.length + 1);
  const args = await startTlsCommand(relative(files.cert), relative(files.key));
  const main = args.indexOf("main.ts");
  const permissions = args.slice(0, main).filter((flag) => flag !== "--unstable-net");
  await withSpawnedServer(
    [...args.slice(main + 1), "--port", "0"],
    { permissions },
    async (server) => {
      assert.match(server.log(), /not reloadable without --unstable-net/);
      await files.install(certs.cert2, certs.key2);
      server.process.kill("SIGHUP");
      await waitFor(() => server.log().includes("TLS certificate not reloaded"), {
        what: () => server.log(),
      });
      assert.match(
        server.log(),
        /SIGHUP: TLS certificate not reloaded: reloading needs Deno's --unstable-net/,
      );
      assert.equal(await servedName(server.port), certs.names.cert);
    },
  );
});
