/**
 * Certificates for HTTPS tests, made at test time with `openssl` under tests/.tmp: a test CA, an
 * intermediate CA it signed, and leaves for `localhost` and `127.0.0.1` (subjectAltName DNS and
 * IP) signed by the intermediate, so a client trusting only the root proves that the server
 * sends its chain. Made once per test process (EC P-256 keys, a few hundred milliseconds) and
 * removed when the process ends.
 */

import type { ServerConfig } from "../../src/config.ts";
import type { ConnectOptions } from "./raw_client.ts";
import { TEST_TMP } from "./server.ts";

export interface TestCertificates {
  dir: string;
  /** The root CA's certificate (PEM text): what a client trusts. */
  ca: string;
  caPath: string;
  /** Leaf "localhost-one" then the intermediate, and its key. */
  cert: string;
  key: string;
  /** Leaf "localhost-two" (another key) then the intermediate, and its key. */
  cert2: string;
  key2: string;
  /** A key belonging to neither leaf. */
  strayKey: string;
  /** A leaf whose validity ended in the past ("expired"), with its key. */
  expiredCert: string;
  expiredKey: string;
  /** The subject CN of each leaf, as the log and `Deno.connectTls` peers see it. */
  names: { cert: string; cert2: string; expired: string };
}

let made: Promise<TestCertificates> | null = null;

/** The certificate set of this test process (made on first use). */
export function testCertificates(): Promise<TestCertificates> {
  made ??= make();
  return made;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdin: "null" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

const LEAF_EXTENSIONS = [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature",
  "extendedKeyUsage=serverAuth",
  "subjectAltName=DNS:localhost,IP:127.0.0.1",
].join("\n");

const CA_EXTENSIONS = [
  "basicConstraints=critical,CA:TRUE,pathlen:0",
  "keyUsage=critical,keyCertSign,cRLSign",
].join("\n");

async function make(): Promise<TestCertificates> {
  await Deno.mkdir(TEST_TMP, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: TEST_TMP, prefix: "tls-" });
  globalThis.addEventListener("unload", () => {
    try {
      Deno.removeSync(dir, { recursive: true });
    } catch {
      // Already gone.
    }
  });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await Deno.writeTextFile(`${dir}/leaf.ext`, LEAF_EXTENSIONS);
  await Deno.writeTextFile(`${dir}/ca.ext`, CA_EXTENSIONS);
  await openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-days",
    "2",
    "-subj",
    "/CN=denohttpd test root CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
  ]);
  await openssl(dir, [
    "req",
    ...ec,
    "-subj",
    "/CN=denohttpd test intermediate CA",
    "-keyout",
    "int.key",
    "-out",
    "int.csr",
  ]);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "int.csr",
    "-CA",
    "ca.crt",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    "ca.ext",
    "-out",
    "int.crt",
  ]);
  const intermediate = await Deno.readTextFile(`${dir}/int.crt`);
  const leaf = async (name: string, validity: string[]) => {
    await openssl(dir, [
      "req",
      ...ec,
      "-subj",
      `/CN=${name}`,
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
    ]);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "int.crt",
      "-CAkey",
      "int.key",
      "-CAcreateserial",
      ...validity,
      "-extfile",
      "leaf.ext",
      "-out",
      `${name}.crt`,
    ]);
    const chain = `${dir}/${name}.chain.pem`;
    await Deno.writeTextFile(chain, (await Deno.readTextFile(`${dir}/${name}.crt`)) + intermediate);
    return { cert: chain, key: `${dir}/${name}.key` };
  };
  const one = await leaf("localhost-one", ["-days", "2"]);
  const two = await leaf("localhost-two", ["-days", "2"]);
  // Valid from two days ago until yesterday (openssl x509 -not_before/-not_after need 3.4+).
  const past = (days: number) =>
    new Date(Date.now() - days * 86_400_000).toISOString().replace(/[-:T]/g, "").slice(0, 14) +
    "Z";
  const expired = await leafWithDates(dir, "localhost-expired", past(2), past(1), intermediate);
  await openssl(dir, [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-out",
    "stray.key",
  ]);
  return {
    dir,
    ca: await Deno.readTextFile(`${dir}/ca.crt`),
    caPath: `${dir}/ca.crt`,
    cert: one.cert,
    key: one.key,
    cert2: two.cert,
    key2: two.key,
    strayKey: `${dir}/stray.key`,
    expiredCert: expired.cert,
    expiredKey: expired.key,
    names: { cert: "localhost-one", cert2: "localhost-two", expired: "localhost-expired" },
  };
}

/** A leaf with given validity dates (YYYYMMDDHHMMSSZ), signed with `openssl ca`. */
async function leafWithDates(
  dir: string,
  name: string,
  start: string,
  end: string,
  intermediate: string,
): Promise<{ cert: string; key: string }> {
  const db = `${dir}/ca-db`;
  await Deno.mkdir(db, { recursive: true });
  await Deno.writeTextFile(`${db}/index.txt`, "");
  await Deno.writeTextFile(`${db}/serial`, "1000\n");
  await Deno.writeTextFile(
    `${dir}/ca.cnf`,
    [
      "[ca]",
      "default_ca = test",
      "[test]",
      `dir = ${db}`,
      "database = $dir/index.txt",
      "serial = $dir/serial",
      "new_certs_dir = $dir",
      "default_md = sha256",
      "policy = any",
      "unique_subject = no",
      "copy_extensions = none",
      "[any]",
      "commonName = supplied",
      "[leaf]",
      LEAF_EXTENSIONS,
    ].join("\n"),
  );
  await openssl(dir, [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-subj",
    `/CN=${name}`,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
  ]);
  await openssl(dir, [
    "ca",
    "-batch",
    "-config",
    "ca.cnf",
    "-extensions",
    "leaf",
    "-cert",
    "int.crt",
    "-keyfile",
    "int.key",
    "-startdate",
    start,
    "-enddate",
    end,
    "-in",
    `${name}.csr`,
    "-out",
    `${name}.crt`,
    "-notext",
  ]);
  const chain = `${dir}/${name}.chain.pem`;
  await Deno.writeTextFile(chain, (await Deno.readTextFile(`${dir}/${name}.crt`)) + intermediate);
  return { cert: chain, key: `${dir}/${name}.key` };
}

/** Server settings for HTTPS on the test certificate (`cert`/`key`), files not watched. */
export async function tlsServer(): Promise<Partial<ServerConfig>> {
  const certs = await testCertificates();
  return { tlsCert: certs.cert, tlsKey: certs.key, tlsWatchFiles: false };
}

/** Client options for raw_client.ts: TLS to 127.0.0.1, trusting the test CA only. */
export async function tlsClient(): Promise<ConnectOptions> {
  return { tls: { caCerts: [(await testCertificates()).ca] } };
}

async function runs(command: string, args: string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(command, {
      args,
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Why the HTTPS tests cannot run here (openssl or curl missing), or null. `.ci/run` installs
 * both; elsewhere such tests are ignored, and under CI=true they run and fail instead.
 */
export const TLS_TOOLS_MISSING: string | null = await (async () => {
  const missing = [];
  if (!await runs("openssl", ["version"])) missing.push("openssl");
  if (!await runs("curl", ["--version"])) missing.push("curl");
  return missing.length === 0 ? null : `${missing.join(" and ")} not installed`;
})();

/** `ignore` for a test that needs openssl and curl. */
export const IGNORE_WITHOUT_TLS_TOOLS = TLS_TOOLS_MISSING !== null &&
  Deno.env.get("CI") !== "true";

if (IGNORE_WITHOUT_TLS_TOOLS) {
  console.error(`HTTPS tests ignored: ${TLS_TOOLS_MISSING} (apt-get install openssl curl)`);
}

export interface CurlResult {
  code: number;
  stdout: Uint8Array;
  stderr: string;
  text(): string;
}

/** Runs curl with `args`, trusting the test CA only; bounded by `timeoutMs` (default 20 s). */
export async function curl(args: string[], timeoutMs = 20_000): Promise<CurlResult> {
  const certs = await testCertificates();
  const out = await new Deno.Command("curl", {
    args: [
      "-sS",
      "--max-time",
      String(Math.ceil(timeoutMs / 1000)),
      "--cacert",
      certs.caPath,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs + 5_000),
  }).output();
  const stdout = out.stdout;
  return {
    code: out.code,
    stdout,
    stderr: new TextDecoder().decode(out.stderr),
    text: () => new TextDecoder().decode(stdout),
  };
}

/** The subject CN of the certificate a new TLS connection to `port` is served, as curl saw it. */
export async function servedName(port: number): Promise<string> {
  const result = await curl(["-v", "-o", "/dev/null", `https://127.0.0.1:${port}/`]);
  const name = /subject: CN=([^\s,]+)/.exec(result.stderr)?.[1];
  if (result.code !== 0 || name === undefined) {
    throw new Error(`curl found no certificate subject (exit ${result.code}):\n${result.stderr}`);
  }
  return name;
}
