/**
 * `--threads N` as an operator runs it (main.ts spawned with `deno task start:threads`'s
 * sandbox): the flag's one-line refusals; requests served by more than one thread (a
 * connection's id says which: `(id - 1) % N`) with ids unique across threads; access lines never
 * torn under load, to a pipe and to a file, and /metrics reporting every thread; uploads from
 * many connections with unique names, the storage bound and the upload rate holding for all
 * threads together; start-up cleanup done once; a graceful stop with downloads in flight on
 * several threads and one summary; log files reopened on SIGUSR1; HTTPS in every thread and a
 * certificate reload reaching them all; a port in use refused as with one thread.
 */

import assert from "node:assert/strict";
import { bytes, get, RawClient, requestHead } from "../helpers/raw_client.ts";
import {
  PROJECT_DIR,
  runCli,
  type SpawnedServer,
  tempDir,
  tempRoot,
  waitFor,
  withSpawnedServer,
} from "../helpers/server.ts";
import { BIG_BYTES, bigRoot, stalledDownload } from "../helpers/stop.ts";
import { parseExposition, sampleValue } from "../helpers/exposition.ts";
import { captureLogs } from "../helpers/log_capture.ts";
import { DEFAULT_CONFIG } from "../../src/config.ts";
import { startThreads } from "../../src/server/threads.ts";
import {
  IGNORE_WITHOUT_TLS_TOOLS,
  servedName,
  testCertificates,
  tlsClient,
} from "../helpers/tls_certs.ts";

const SPAWNED = { sanitizeOps: false, sanitizeResources: false };

/** `deno task start:threads`'s sandbox for `root`, with `read` and `write` added. */
function threadPermissions(
  root: string,
  extra: { read?: string[]; write?: string[] } = {},
): string[] {
  return [
    "--unstable-net",
    "--allow-net",
    `--allow-read=${[root, "src", ...(extra.read ?? [])].join(",")}`,
    `--allow-write=${[`${root}/uploads`, ...(extra.write ?? [])].join(",")}`,
    "--allow-sys=statfs",
  ];
}

/** Runs `fn` with main.ts spawned on `root` with `args` and the threads' sandbox. */
function withThreads<T>(
  root: string,
  args: string[],
  fn: (server: SpawnedServer) => Promise<T>,
  extra: { read?: string[]; write?: string[] } = {},
): Promise<T> {
  return withSpawnedServer(["0", ...args], {
    root,
    permissions: threadPermissions(root, extra),
  }, fn);
}

/** The thread (0-based) that served connection `id` of `threads`. */
function threadOf(id: number, threads: number): number {
  return (id - 1) % threads;
}

/** The connection ids of the access lines (text format) in `log`. */
function accessIds(log: string): number[] {
  return [...log.matchAll(/·access: conn#(\d+) /g)].map((m) => Number(m[1]));
}

/** The connection ids of the first `n` access lines, once the log has them all. */
async function loggedIds(server: SpawnedServer, n: number): Promise<number[]> {
  await waitFor(() => accessIds(server.log()).length >= n, {
    what: () => `${n} access lines:\n${server.log()}`,
  });
  return accessIds(server.log());
}

/** `n` requests of `target` on one connection, pipelined in batches of `batch`; their statuses. */
async function pipelined(port: number, target: string, n: number, batch = 25): Promise<number[]> {
  using client = await RawClient.connect(port);
  const statuses: number[] = [];
  for (let sent = 0; sent < n; sent += batch) {
    const count = Math.min(batch, n - sent);
    await client.send(requestHead(port, target).repeat(count));
    for (let i = 0; i < count; i++) statuses.push((await client.response()).status);
  }
  return statuses;
}

/** A JSON upload on a fresh connection: its status and Location. */
async function upload(
  port: number,
  body: string,
): Promise<{ status: number; location: string | null }> {
  using client = await RawClient.connect(port);
  await client.send(
    `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${bytes(body).length}\r\n\r\n${body}`,
  );
  const response = await client.response({ timeoutMs: 15_000 });
  return { status: response.status, location: response.header("location") };
}

/** The names in `dir`. */
async function names(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) found.push(entry.name);
  return found.sort();
}

const REFUSED: ReadonlyArray<{ argv: string[]; mentions: RegExp }> = [
  { argv: ["--threads", "0"], mentions: /invalid --threads "0"/ },
  { argv: ["--threads=-1"], mentions: /invalid --threads "-1"/ },
  { argv: ["--threads", "-1"], mentions: /threads/ },
  { argv: ["--threads", "x"], mentions: /invalid --threads "x"/ },
  { argv: ["--threads", "1.5"], mentions: /invalid --threads "1.5"/ },
  { argv: ["--threads", ""], mentions: /invalid --threads ""/ },
  { argv: ["--threads", "257"], mentions: /from 1 to 256/ },
  { argv: ["--threads", "3", "--pool", "2"], mentions: /more than the pool \(2\)/ },
  { argv: ["--threads"], mentions: /threads/ },
];

for (const { argv, mentions } of REFUSED) {
  Deno.test(`main.ts ${argv.join(" ")}: one line, exit status 2`, async () => {
    const { code, out, err } = await runCli(argv);
    assert.equal(code, 2, err);
    assert.equal(out, "");
    assert.equal(err.trimEnd().split("\n").length, 1, err);
    assert.match(err, /^denohttpd: /);
    assert.match(err, mentions);
  });
}

Deno.test("main.ts --threads 2 in deno task start's sandbox: one line naming --unstable-net, exit 2", async () => {
  const { code, err } = await runCli(["--threads", "2"]);
  assert.equal(code, 2, err);
  assert.equal(err.trimEnd().split("\n").length, 1, err);
  assert.match(err, /--threads 2 needs Deno's --unstable-net/);
  assert.match(err, /deno task start:threads/);
});

Deno.test("main.ts --threads 2 with --unstable-net but no read access to the program: one line naming it, exit 2", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-net",
      "--allow-net",
      "--allow-read=resources",
      "--allow-write=resources/uploads",
      "--allow-sys=statfs",
      "main.ts",
      "--threads",
      "2",
    ],
    cwd: PROJECT_DIR,
    stdin: "null",
    signal: AbortSignal.timeout(10_000),
  }).output();
  const err = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 2, err);
  assert.equal(err.trimEnd().split("\n").length, 1, err);
  assert.match(err, /needs read access to the program's modules \(src\)/);
  assert.match(err, /--allow-read=resources,src/);
});

Deno.test({
  name: "--threads 2: connections are served by both threads, ids unique, one start-up line",
  ...SPAWNED,
  async fn() {
    await using root = await tempRoot({ files: ["index.html"] });
    await withThreads(root.path, ["--threads", "2"], async (server) => {
      const log = server.log();
      assert.match(log, /with 10 workers \(queue 200\) in 2 threads; press Ctrl\+C to stop/);
      assert.equal(log.match(/listening on/g)?.length, 1);
      // The kernel spreads connections by their addresses: 40 land on both threads.
      const statuses = await Promise.all(
        Array.from({ length: 40 }, async () => (await get(server.port, "/index.html")).status),
      );
      assert.ok(statuses.every((s) => s === 200));
      const ids = await loggedIds(server, 40);
      assert.equal(new Set(ids).size, 40, "every connection has its own id");
      const byThread = [0, 1].map((t) => ids.filter((id) => threadOf(id, 2) === t).length);
      assert.ok(byThread.every((n) => n > 0), `connections per thread: ${byThread}`);
    });
  },
});

for (const destination of ["a pipe (stderr)", "a file (--access-log)"] as const) {
  Deno.test({
    name:
      `--threads 4, 20,000 requests at once, JSON access lines to ${destination}: every line whole, ids unique, /metrics counts them all`,
    ...SPAWNED,
    async fn() {
      await using root = await tempRoot({ files: ["index.html"] });
      await using dir = await tempDir();
      const file = `${dir.path}/access.json`;
      const toFile = destination !== "a pipe (stderr)";
      const args = ["--threads", "4", "--log-format", "json", "--metrics"];
      if (toFile) args.push("--access-log", file);
      await withThreads(root.path, args, async (server) => {
        const connections = 200;
        const perConnection = 100;
        // 40 clients at once, each using 5 connections in turn (the 100th response closes one).
        await Promise.all(Array.from({ length: 40 }, async () => {
          for (let c = 0; c < connections / 40; c++) {
            const statuses = await pipelined(server.port, "/index.html", perConnection);
            assert.ok(statuses.every((s) => s === 200));
          }
        }));
        const total = connections * perConnection;
        const accessLines = async () => {
          const text = toFile ? await Deno.readTextFile(file).catch(() => "") : server.log();
          return text.split("\n").filter((line) => line.startsWith("{"));
        };
        await waitFor(async () => (await accessLines()).length >= total, {
          timeoutMs: 20_000,
          what: `${total} access lines`,
        });
        const records = (await accessLines()).map((line) => JSON.parse(line));
        assert.equal(records.length, total);
        const perConn = new Map<number, number>();
        for (const r of records) perConn.set(r.conn, (perConn.get(r.conn) ?? 0) + 1);
        assert.equal(perConn.size, connections, "one id per connection, none shared");
        assert.ok([...perConn.values()].every((n) => n === perConnection));
        const threads = new Set([...perConn.keys()].map((id) => threadOf(id, 4)));
        assert.ok(threads.size >= 3, `threads used: ${[...threads]}`);
        // Every line of the error log is whole too: a timestamp, a level, a category.
        for (const line of server.log().split("\n")) {
          if (line === "" || line.startsWith("{")) continue;
          assert.match(
            line,
            /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[(DBG|INF|WRN|ERR)\] denohttpd·/,
          );
        }
        const scrape = await get(server.port, "/metrics");
        const families = parseExposition(scrape.text());
        assert.equal(
          sampleValue(families, "http_requests_total", { method: "GET", code: "200" }),
          total,
        );
        assert.equal(sampleValue(families, "http_request_duration_seconds_count"), total);
        assert.equal(sampleValue(families, "denohttpd_pool_size"), 10);
      }, toFile ? { write: [file] } : {});
    },
  });
}

Deno.test({
  name:
    "--threads 2: 200 uploads at once from as many connections are each saved once, under a name of their own",
  ...SPAWNED,
  async fn() {
    await using root = await tempRoot({ files: ["index.html"] });
    await withThreads(root.path, ["--threads", "2", "--upload-rate", "0"], async (server) => {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => upload(server.port, JSON.stringify({ i }))),
      );
      assert.ok(
        results.every((r) => r.status === 201),
        JSON.stringify(results.map((r) => r.status)),
      );
      const locations = results.map((r) => (r.location as string).slice("/uploads/".length));
      assert.equal(new Set(locations).size, 200);
      assert.deepEqual(await names(root.uploads), [...locations].sort());
      const ids = await loggedIds(server, 200);
      assert.ok(new Set(ids.map((id) => threadOf(id, 2))).size === 2, "both threads stored");
    });
  },
});

Deno.test({
  name:
    "--threads 2 --uploads-max-bytes 40K: 60 uploads at once, exactly 10 stored (the bound is one for all threads), the rest 507",
  ...SPAWNED,
  async fn() {
    await using root = await tempRoot({ files: ["index.html"] });
    const args = ["--threads", "2", "--upload-rate", "0", "--uploads-max-bytes", "40K"];
    await withThreads(root.path, args, async (server) => {
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) => upload(server.port, JSON.stringify({ i }))),
      );
      const created = results.filter((r) => r.status === 201).length;
      const full = results.filter((r) => r.status === 507).length;
      assert.deepEqual([created, full], [10, 50]);
      assert.equal((await names(root.uploads)).length, 10);
      const ids = await loggedIds(server, 60);
      assert.equal(new Set(ids.map((id) => threadOf(id, 2))).size, 2, "both threads answered");
    });
  },
});

Deno.test({
  name:
    "--threads 2 --upload-rate 1/s: one address's burst of 2 is one for all threads, the rest 429",
  ...SPAWNED,
  async fn() {
    await using root = await tempRoot({ files: ["index.html"] });
    await withThreads(root.path, ["--threads", "2", "--upload-rate", "1/s"], async (server) => {
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => upload(server.port, JSON.stringify({ i }))),
      );
      const seconds = (performance.now() - started) / 1000;
      const created = results.filter((r) => r.status === 201).length;
      assert.equal(created + results.filter((r) => r.status === 429).length, 40);
      // The burst, plus one a second while they were sent; two threads' own buckets would
      // let two bursts through.
      assert.ok(created >= 2 && created <= 2 + Math.floor(seconds), `${created} in ${seconds} s`);
      const ids = await loggedIds(server, 40);
      assert.equal(new Set(ids.map((id) => threadOf(id, 2))).size, 2, "both threads answered");
    });
  },
});

Deno.test({
  name: "--threads 3: a crash's leftover upload is removed once, with one line, before serving",
  ...SPAWNED,
  async fn() {
    await using root = await tempRoot({ files: ["index.html"] });
    await Deno.writeTextFile(`${root.uploads}/.upload-LeftByACrash.tmp`, '{"half":');
    await Deno.writeTextFile(`${root.uploads}/upload_20260101_000000_abcd.json`, "{}");
    await withThreads(root.path, ["--threads", "3"], async (server) => {
      const log = server.log();
      assert.equal(log.match(/removed 1 partial upload\(s\) left by an earlier crash/g)?.length, 1);
      assert.ok(log.indexOf("removed 1 partial") < log.indexOf("listening on"));
      assert.deepEqual(await names(root.uploads), ["upload_20260101_000000_abcd.json"]);
      assert.equal(
        (await get(server.port, "/uploads/upload_20260101_000000_abcd.json")).status,
        200,
      );
    });
  },
});

/** Stalled downloads until some are on each of `threads` threads; with their connection ids. */
async function downloadsOnEveryThread(
  server: SpawnedServer,
  threads: number,
): Promise<RawClient[]> {
  const clients: RawClient[] = [];
  for (let i = 0; i < 40; i++) {
    clients.push(await stalledDownload(server.port));
    await waitFor(() => countArrivals(server.log()) === clients.length, {
      what: () => `${clients.length} arrivals:\n${server.log()}`,
    });
    const used = new Set(arrivalIds(server.log()).map((id) => threadOf(id, threads)));
    if (used.size === threads && clients.length >= threads * 2) return clients;
  }
  throw new Error("connections did not reach every thread");
}

function arrivalIds(log: string): number[] {
  return [...log.matchAll(/\[DBG\] denohttpd·access: conn#(\d+) GET \/big\.png/g)].map((m) =>
    Number(m[1])
  );
}

function countArrivals(log: string): number {
  return arrivalIds(log).length;
}

Deno.test({
  name:
    "--threads 2, SIGTERM with downloads in flight on both threads: all complete, one stopping line, one summary",
  ...SPAWNED,
  async fn() {
    await using root = await bigRoot();
    await Deno.mkdir(`${root.path}/uploads`, { recursive: true });
    const args = ["--threads", "2", "--log-level", "debug"];
    await withThreads(root.path, args, async (server) => {
      const clients = await downloadsOnEveryThread(server, 2);
      try {
        server.process.kill("SIGTERM");
        await waitFor(() => /stopping: no new connections/.test(server.log()), {
          what: () => `the stop:\n${server.log()}`,
        });
        // Each download now reads to its end.
        for (const client of clients) {
          const response = await client.response({ timeoutMs: 20_000 });
          assert.equal(response.status, 200);
          assert.equal(response.body.length, BIG_BYTES);
        }
      } finally {
        for (const client of clients) client.close();
      }
      const status = await server.status;
      assert.equal(status.code, 0);
      const log = server.log();
      assert.equal(log.match(/signal received; shutting down gracefully/g)?.length, 1);
      assert.equal(log.match(/stopping: no new connections/g)?.length, 1);
      assert.match(
        log,
        new RegExp(
          `stopping: no new connections; ${clients.length} open, ${clients.length} request`,
        ),
      );
      const summaries = log.match(/stopped after \d+ ms: .*/g) ?? [];
      assert.equal(summaries.length, 1, log);
      assert.match(
        summaries[0] as string,
        new RegExp(
          `${clients.length} connection\\(s\\), ${clients.length} request\\(s\\); ${clients.length} response\\(s\\) served, 0 refused at the stop, 0 cut at the deadline`,
        ),
      );
      assert.equal(log.match(/snapshot: workers busy 0\/10/g)?.length, 1);
      // The summary is the last line: every thread's lines came before it.
      const lines = log.trimEnd().split("\n");
      assert.match(lines[lines.length - 1] as string, /stopped after/);
    });
  },
});

Deno.test({
  name:
    "--threads 2: SIGUSR1 reopens the log files; every thread's next lines land in the new ones",
  ...SPAWNED,
  async fn() {
    await using root = await tempRoot({ files: ["index.html"] });
    await using dir = await tempDir();
    const access = `${dir.path}/access.log`;
    const errors = `${dir.path}/error.log`;
    const args = [
      "--threads",
      "2",
      "--access-log",
      access,
      "--error-log",
      errors,
      "--log-format",
      "json",
    ];
    const process = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...threadPermissions(root.path, { write: [access, errors] }),
        "main.ts",
        "0",
        "--root",
        root.path,
        ...args,
      ],
      cwd: PROJECT_DIR,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const lines = async (path: string) =>
      (await Deno.readTextFile(path).catch(() => "")).split("\n").filter((l) => l !== "");
    try {
      await waitFor(async () => (await lines(errors)).some((l) => l.includes("listening on")), {
        timeoutMs: 15_000,
        what: "the start-up line",
      });
      const port = Number(
        /listening on http:\/\/[^ ]*:(\d+)\//.exec((await lines(errors)).join("\n"))![1],
      );
      const round = (tag: string) =>
        Promise.all(Array.from({ length: 20 }, () => pipelined(port, `/index.html?${tag}`, 10)));
      await round("first");
      await waitFor(async () => (await lines(access)).length === 200, { what: "the first lines" });
      // Deno arms its SIGUSR1 inspector 500 ms after start (see access_log_test.ts).
      await new Promise((resolve) => setTimeout(resolve, 600));
      await Deno.rename(access, `${access}.1`);
      await Deno.rename(errors, `${errors}.1`);
      process.kill("SIGUSR1");
      await waitFor(
        async () => (await lines(errors)).some((l) => l.includes("SIGUSR1: log files reopened")),
        {
          what: "the reopen",
        },
      );
      await round("second");
      // Counted as it goes, so a timeout says where the lines went (or that they did not come).
      let counts = "";
      await waitFor(async () => {
        const now = await lines(access);
        const old = await lines(`${access}.1`);
        counts = `new file ${now.length} lines, old file ${old.length}`;
        return now.length === 200;
      }, { what: () => `the second lines (${counts})`, timeoutMs: 20_000 });
      const first = (await lines(`${access}.1`)).map((l) => JSON.parse(l));
      const second = (await lines(access)).map((l) => JSON.parse(l));
      assert.equal(first.length, 200);
      assert.ok(first.every((r) => r.target.endsWith("?first")));
      assert.ok(second.every((r) => r.target.endsWith("?second")));
      const threads = new Set(second.map((r) => threadOf(r.conn, 2)));
      assert.equal(threads.size, 2, "both threads write to the new file");
      process.kill("SIGTERM");
      const { code } = await process.status;
      assert.equal(code, 0);
      assert.ok((await lines(errors)).some((l) => l.includes("stopped after")));
      await process.stderr.cancel();
    } finally {
      try {
        process.kill("SIGKILL");
      } catch {
        // exited
      }
    }
  },
});

Deno.test({
  name: "--threads 2 on a port in use: one line, exit status 1, as with one thread",
  ...SPAWNED,
  async fn() {
    using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (taken.addr as Deno.NetAddr).port;
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...threadPermissions("resources"), "main.ts", String(port), "--threads", "2"],
      cwd: PROJECT_DIR,
      stdin: "null",
      signal: AbortSignal.timeout(15_000),
    }).output();
    const err = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 1, err);
    assert.equal(err.trimEnd().split("\n").length, 1, err);
    assert.match(
      err,
      new RegExp(`cannot start: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`),
    );
  },
});

Deno.test({
  name:
    "--threads 2 with --tls-cert: HTTPS served by both threads; SIGHUP reloads the certificate in every thread, one line",
  ignore: IGNORE_WITHOUT_TLS_TOOLS,
  ...SPAWNED,
  async fn() {
    const certs = await testCertificates();
    await using root = await tempRoot({ files: ["index.html"] });
    await using dir = await tempDir();
    const cert = `${dir.path}/cert.pem`;
    const key = `${dir.path}/key.pem`;
    await Deno.copyFile(certs.cert, cert);
    await Deno.copyFile(certs.key, key);
    const args = ["--threads", "2", "--tls-cert", cert, "--tls-key", key];
    await withThreads(root.path, args, async (server) => {
      const client = await tlsClient();
      const statuses = await Promise.all(
        Array.from(
          { length: 20 },
          async () => (await get(server.port, "/index.html", { connect: client })).status,
        ),
      );
      assert.ok(statuses.every((s) => s === 200));
      const threads = new Set((await loggedIds(server, 20)).map((id) => threadOf(id, 2)));
      assert.equal(threads.size, 2, "both threads served HTTPS");
      assert.equal(await servedName(server.port), certs.names.cert);
      await Deno.copyFile(certs.cert2, cert);
      await Deno.copyFile(certs.key2, key);
      server.process.kill("SIGHUP");
      await waitFor(() => /SIGHUP: TLS certificate reloaded/.test(server.log()), {
        what: () => `the reload:\n${server.log()}`,
      });
      assert.equal(server.log().match(/TLS certificate reloaded/g)?.length, 1);
      // Whichever thread a new connection reaches, it gets the new certificate.
      for (let i = 0; i < 8; i++) assert.equal(await servedName(server.port), certs.names.cert2);
    }, { read: [cert, key] });
  },
});

Deno.test({
  name:
    "startThreads(): the periodic snapshot adds up every thread; stop() sums their summaries into one",
  ...SPAWNED,
  async fn() {
    await using logs = await captureLogs();
    await using root = await tempRoot({ files: ["index.html"] });
    const server = await startThreads({
      ...DEFAULT_CONFIG,
      root: root.path,
      port: 0,
      threads: 2,
      snapshotIntervalMs: 200,
    });
    const clients: RawClient[] = [];
    try {
      // Ten keep-alive connections, each after one request, idle and open.
      for (let i = 0; i < 10; i++) {
        const client = await RawClient.connect(server.port);
        clients.push(client);
        await client.send(requestHead(server.port, "/index.html"));
        assert.equal((await client.response()).status, 200);
      }
      await waitFor(
        () =>
          logs.lines.some((l) =>
            l.includes(
              "snapshot: workers busy 0/10, queued 0, open connections 10, requests served 10",
            )
          ),
        { what: () => `the snapshot:\n${logs.lines.join("\n")}` },
      );
    } finally {
      const summary = await server.stop();
      for (const client of clients) client.close();
      assert.deepEqual(
        { ...summary, uptimeMs: 0 },
        { connections: 10, requests: 10, served: 10, refused: 0, cut: 0, forced: 0, uptimeMs: 0 },
      );
    }
    assert.equal(logs.lines.filter((l) => l.includes("stopped after")).length, 1);
    assert.ok(
      logs.lines.some((l) => /^info stopping: no new connections; 10 open, 0 request/.test(l)),
    );
  },
});
