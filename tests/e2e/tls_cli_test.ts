/**
 * main.ts with the HTTPS flags, start to finish: flags that make no sense together end with one
 * line and exit status 2; a certificate or key that cannot be read (missing, outside the
 * sandbox) with one line and 1; one that is read but unusable (a key of another certificate, a
 * key where the certificate should be, broken PEM) with one line and 2; an expired certificate
 * starts, with a warning. Every run is bounded in time.
 */

import assert from "node:assert/strict";
import { PROJECT_DIR, runCli, tempDir, withSpawnedServer } from "../helpers/server.ts";
import { curl, IGNORE_WITHOUT_TLS_TOOLS, testCertificates } from "../helpers/tls_certs.ts";

/** A log line: RFC 3339 timestamp first. */
const LOG_LINE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}) /;

function tlsTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: IGNORE_WITHOUT_TLS_TOOLS, fn });
}

const relative = (path: string) => path.slice(PROJECT_DIR.length + 1);

/** Runs main.ts to its end in `deno task start:tls`'s sandbox for `cert` and `key`. */
async function runTls(
  cert: string,
  key: string,
  extra: string[] = [],
  read: string[] = [cert, key],
): Promise<{ code: number; out: string; err: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-net",
      "--allow-net",
      `--allow-read=${["resources", ...read.map(relative)].join(",")}`,
      "--allow-write=resources/uploads",
      "--allow-sys=statfs",
      "main.ts",
      "--port",
      "0",
      "--tls-cert",
      relative(cert),
      "--tls-key",
      relative(key),
      ...extra,
    ],
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

/** Exit `status`, nothing on stdout, one line on stderr (a log line or not), matching `reason`. */
function assertOneLine(
  run: { code: number; out: string; err: string },
  status: number,
  reason: RegExp,
): void {
  assert.equal(run.code, status, `exit status ${run.code}; stderr:\n${run.err}`);
  assert.equal(run.out, "");
  const lines = run.err.split("\n").filter((line) => line.trim() !== "");
  assert.equal(lines.length, 1, `not one line:\n${run.err}`);
  assert.ok(!run.err.includes("    at "), `stack trace:\n${run.err}`);
  assert.match(lines[0]!, reason);
  if (!LOG_LINE.test(lines[0]!)) assert.match(lines[0]!, /^denohttpd: /);
}

const FLAG_CASES: ReadonlyArray<[string, string[], RegExp]> = [
  ["a key without a certificate", ["--tls-key", "k.pem"], /--tls-key needs --tls-cert/],
  ["a certificate without a key", ["--tls-cert", "c.pem"], /--tls-cert needs --tls-key/],
  ["--https-port without TLS", ["--https-port", "8443"], /--https-port needs --tls-cert/],
  ["--redirect-http without TLS", ["--redirect-http"], /--redirect-http needs --tls-cert/],
  ["--hsts without TLS", ["--hsts", "600"], /--hsts needs --tls-cert/],
  [
    "--redirect-http without --https-port",
    ["--tls-cert", "c.pem", "--tls-key", "k.pem", "--redirect-http"],
    /--redirect-http needs --https-port/,
  ],
];

for (const [name, args, reason] of FLAG_CASES) {
  Deno.test(`main.ts with ${name} exits 2 with one line`, async () => {
    assertOneLine(await runCli(args), 2, reason);
  });
}

tlsTest("main.ts with a missing certificate file exits 1 with one line naming it", async () => {
  const certs = await testCertificates();
  const missing = `${certs.dir}/no-such.pem`;
  assertOneLine(
    await runTls(missing, certs.key),
    1,
    /cannot start: cannot read certificate file ".*no-such\.pem": no such file/,
  );
});

tlsTest("main.ts with a certificate the sandbox may not read exits 1 with one line", async () => {
  const certs = await testCertificates();
  assertOneLine(
    await runTls(certs.cert, certs.key, [], [certs.key]),
    1,
    /cannot read certificate file .*not permitted \(the sandbox needs --allow-read of the file\)/,
  );
});

const CONTENT_CASES: ReadonlyArray<
  [string, (c: Awaited<ReturnType<typeof testCertificates>>) => [string, string], RegExp]
> = [
  [
    "a key that belongs to another certificate",
    (c) => [c.cert, c.key2],
    /the key in ".*" does not belong to the certificate in ".*"/,
  ],
  ["the key where the certificate should be", (c) => [c.key, c.key], /holds no PEM certificate/],
  ["the certificate where the key should be", (c) => [c.cert, c.cert], /holds no PEM private key/],
];

for (const [name, pick, reason] of CONTENT_CASES) {
  tlsTest(`main.ts with ${name} exits 2 with one line`, async () => {
    const [cert, key] = pick(await testCertificates());
    assertOneLine(await runTls(cert, key), 2, reason);
  });
}

tlsTest("main.ts with a broken PEM certificate exits 2 with one line", async () => {
  const certs = await testCertificates();
  await using dir = await tempDir();
  const broken = `${dir.path}/broken.pem`;
  await Deno.writeTextFile(
    broken,
    "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
  );
  assertOneLine(await runTls(broken, certs.key), 2, /is not valid X\.509/);
});

tlsTest("main.ts with --https-port on a port in use exits 1 with one line", async () => {
  const certs = await testCertificates();
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const port = (blocker.addr as Deno.NetAddr).port;
    assertOneLine(
      await runTls(certs.cert, certs.key, ["--https-port", String(port)]),
      1,
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} with TLS: address already in use`),
    );
  } finally {
    blocker.close();
  }
});

tlsTest(
  "main.ts with an expired certificate starts with a warning; clients refuse it",
  async () => {
    const certs = await testCertificates();
    const args = [
      "--port",
      "0",
      "--tls-cert",
      relative(certs.expiredCert),
      "--tls-key",
      relative(certs.expiredKey),
    ];
    const permissions = [
      "--unstable-net",
      "--allow-net",
      `--allow-read=resources,${relative(certs.expiredCert)},${relative(certs.expiredKey)}`,
      "--allow-write=resources/uploads",
    ];
    await withSpawnedServer(args, { permissions }, async (server) => {
      assert.match(server.log(), /\[WRN\] denohttpd·server: TLS: the certificate expired on /);
      const refused = await curl(["-o", "/dev/null", `https://127.0.0.1:${server.port}/`]);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /expired/i);
    });
  },
);
