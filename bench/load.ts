/**
 * `deno task bench`: a reproducible side-by-side load run of denohttpd against nginx and a minimal
 * `Deno.serve` static server, on this machine, printed as a markdown table of medians and ratios.
 *
 *   deno task bench [--rounds N] [--duration SECONDS] [--quick] [--json PATH]
 *
 * Set-up. bench/install.sh installs wrk, nginx and curl from Debian when missing. This script
 * makes a temporary root under /tmp (removed at the end) with a copy of resources/ (files only),
 * an empty uploads/ and a 200 MiB file `big.png` of random bytes (.png is a type denohttpd
 * serves, as a download); each server gets its own folder of hard links to those files, so that
 * no server observes another's file activity. It starts, each on a free port of 127.0.0.1:
 * - denohttpd with default settings (only --root and --port), sandboxed to the temporary root;
 *   its log (an access line per request) goes to a file;
 * - nginx, master process + 1 worker, sendfile on, tcp_nopush on, keepalive_requests 100,
 *   keepalive_timeout 30s, access log on, written to a file;
 * - bench/deno_serve_static.ts (Deno.serve, streams `file.readable`), read-only sandbox, no log.
 * Each server is started through `exec`, so the PID measured is the server itself (checked via
 * /proc/PID/exe); its RSS is VmRSS summed over the process and its descendants (for nginx:
 * master + worker).
 *
 * Warm-up, per server: wrk on the small page for 2 s, and one curl download of big.png that must
 * arrive whole (200 MiB). Then R rounds; in each round every measurement runs once per server, the
 * server order rotating from round to round. Reported: the median over rounds (the maximum for
 * peak RSS).
 * (a) `wrk -t1 -c50 --latency` GET /index.html (keep-alive) for D s: requests/s;
 * (d) the 99th percentile latency of that same run, and the server's CPU time (user + system,
 *     /proc/PID/stat of the process tree) per request during it: on a shared machine the rate
 *     moves with whatever else runs, the CPU a request costs much less;
 * (b) `wrk -t1 -c1` GET /big.png for D s: bytes/s (wrk's Transfer/sec, 1024-based units);
 * (c) RSS growth with 1000 idle connections: RSS just before; then 1000 TCP connections, opened
 *     100 at a time, each sends one keep-alive GET /index.html and reads the whole response, then
 *     stays idle; after 1 s RSS again; the growth is the difference. Measured once on each freshly
 *     started server before any load (the target row), and in every round after (a) and (b),
 *     where a heap already grown under load hides most of it;
 * peak RSS while 10 curl processes download big.png at once, sampled every 20 ms;
 * (e) and (f): (a) and (b) over TLS, for denohttpd and nginx only (each also listens with TLS on
 *     a second port: denohttpd with --https-port, nginx with `listen … ssl`), with one EC P-256
 *     certificate made by openssl for the run, TLS 1.3 only on nginx so that both negotiate the
 *     same suite with wrk (checked with `openssl s_client`, and noted), nginx with
 *     `ssl_session_cache shared:SSL:1m`; and the TLS cost of each server: its (e) ÷ (a) and
 *     (f) ÷ (b) in the same round.
 * wrk reports of non-2xx responses or socket errors, failed downloads, and warnings or errors in
 * the servers' logs are listed under the table. All servers and tools are stopped at the end, on
 * an error and on Ctrl+C.
 */

import { parseArgs } from "node:util";

const HOST = "127.0.0.1";
const PROJECT = new URL("..", import.meta.url).pathname;
const SMALL_PATH = "/index.html";
const BIG_NAME = "big.png";
const BIG_BYTES = 200 * 1024 * 1024;
const MIB = 1024 * 1024;
const IDLE_CONNECTIONS = 1000;
const CONNECT_BATCH = 100;
const IDLE_SETTLE_MS = 1000;
const PARALLEL_DOWNLOADS = 10;
const RSS_SAMPLE_MS = 20;
const WARMUP_SECONDS = 2;
const OPEN_FILES_NEEDED = IDLE_CONNECTIONS + 500;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 12_000;

const SERVER_NAMES = ["denohttpd", "nginx", "Deno.serve"] as const;
type ServerName = typeof SERVER_NAMES[number];

const TARGETS = {
  smallRatio: 1.0,
  downloadRatio: 0.9,
  tlsSmallRatio: 1.0,
  tlsDownloadRatio: 0.8,
  idleGrowthMiB: 64,
  peakRssMiB: 200,
};

interface Options {
  rounds: number;
  durationSeconds: number;
  jsonPath: string | undefined;
}

interface Tools {
  nginx: string;
  wrk: string;
  curl: string;
}

interface Server {
  name: ServerName;
  port: number;
  /** The port it also serves HTTPS on (denohttpd, nginx), or null. */
  tlsPort: number | null;
  /** The server process and its descendants, whose VmRSS is summed. */
  pids: number[];
  /** Its stdout/stderr and, for nginx, its error log. */
  logPaths: string[];
}

/** One server's numbers in one round. */
interface Sample {
  round: number;
  server: ServerName;
  smallRequestsPerSec: number;
  smallP99Ms: number;
  /** Server CPU per request during (a), µs. */
  smallCpuMicros: number;
  downloadBytesPerSec: number;
  idleBaselineBytes: number;
  idleGrowthBytes: number;
  /** (c) measured once, on the freshly started process, before any load. */
  freshIdleGrowthBytes: number;
  peakRssBytes: number;
  peakGrowthBytes: number;
  parallelDownloadSeconds: number;
  /** (e), (f); NaN for a server without TLS. */
  tlsSmallRequestsPerSec: number;
  tlsSmallP99Ms: number;
  tlsSmallCpuMicros: number;
  tlsDownloadBytesPerSec: number;
}

/** The certificate every TLS server of the run uses, and the CA a client trusts. */
interface BenchTls {
  cert: string;
  key: string;
  ca: string;
}

/** Servers that also listen with TLS. */
const TLS_SERVERS: ReadonlySet<ServerName> = new Set(["denohttpd", "nginx"]);

interface WrkResult {
  requestsPerSec: number;
  /** Requests completed in the run. */
  requests: number;
  transferBytesPerSec: number;
  p99Ms: number | undefined;
  non2xx: number;
  socketErrors: string | undefined;
}

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked, so cleanup can stop them all.

const children = new Set<Deno.ChildProcess>();

function spawn(command: string, args: string[], piped: boolean, cwd?: string): Deno.ChildProcess {
  const child = new Deno.Command(command, {
    args,
    cwd,
    stdin: "null",
    stdout: piped ? "piped" : "null",
    stderr: piped ? "piped" : "null",
  }).spawn();
  children.add(child);
  child.status.finally(() => children.delete(child));
  return child;
}

/** Runs a tool to completion; its stdout (stderr appended when `withStderr`). */
async function run(
  command: string,
  args: string[],
  options: { allowFailure?: boolean; withStderr?: boolean } = {},
): Promise<string> {
  const output = await spawn(command, args, true).output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(output.stdout);
  const stderr = decoder.decode(output.stderr);
  if (!output.success && !options.allowFailure) {
    throw new Error(`${command} ${args.join(" ")} failed (${output.code}): ${stderr.trim()}`);
  }
  return options.withStderr ? `${stdout}${stderr}` : stdout;
}

/** Starts a server with stdout and stderr in `logPath`; `exec` keeps the PID the server's own. */
function spawnLogged(logPath: string, command: string, args: string[], cwd?: string) {
  const script = 'log="$1"; shift; exec "$@" >"$log" 2>&1';
  return spawn("sh", ["-c", script, "sh", logPath, command, ...args], false, cwd);
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    return; // already exited
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }, STOP_TIMEOUT_MS);
  await child.status;
  clearTimeout(timer);
}

async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stop));
}

// ---------------------------------------------------------------------------------------------
// Options, tools, machine

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: "string" },
      duration: { type: "string" },
      quick: { type: "boolean", default: false },
      json: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    rounds: positiveInteger("rounds", values.rounds) ?? (values.quick ? 2 : 5),
    durationSeconds: positiveInteger("duration", values.duration) ?? (values.quick ? 2 : 5),
    jsonPath: values.json,
  };
}

function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(text)) throw new Error(`--${name} must be a positive integer`);
  return Number(text);
}

function findTool(name: string): string {
  const path = Deno.env.get("PATH") ?? "";
  for (const dir of [...path.split(":"), "/usr/sbin", "/usr/bin"]) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch { /* not here */ }
  }
  throw new Error(`${name} not found: run through \`deno task bench\` (bench/install.sh)`);
}

/**
 * The bench holds 1000 idle connections and the servers inherit its open-file limit. Deno raises
 * its soft limit to the hard one at start-up, so only a low hard limit can fail here.
 */
function checkOpenFileLimit(): void {
  const soft = Deno.readTextFileSync("/proc/self/limits").match(/^Max open files\s+(\S+)/m)?.[1];
  if (soft !== undefined && soft !== "unlimited" && Number(soft) < OPEN_FILES_NEEDED) {
    throw new Error(`open-file limit ${soft} < ${OPEN_FILES_NEEDED}: raise it (ulimit -Hn)`);
  }
}

async function describeMachine(tools: Tools): Promise<string> {
  const firstLine = (text: string) => text.trim().split("\n")[0] ?? "";
  const nginx = await run(tools.nginx, ["-v"], { withStderr: true });
  const wrk = await run(tools.wrk, ["-v"], { allowFailure: true, withStderr: true });
  const version = (text: string) => text.match(/\d+\.\d+\.\d+/)?.[0] ?? "?";
  return [
    `${navigator.hardwareConcurrency} CPUs`,
    `Linux ${firstLine(Deno.readTextFileSync("/proc/sys/kernel/osrelease"))}`,
    `deno ${Deno.version.deno}`,
    `nginx ${version(nginx)}`,
    `wrk ${version(wrk)}`,
  ].join(", ");
}

// ---------------------------------------------------------------------------------------------
// Bench root and servers

async function prepareRoot(dir: string): Promise<string> {
  const root = `${dir}/root`;
  await Deno.mkdir(`${root}/uploads`, { recursive: true });
  for await (const entry of Deno.readDir(`${PROJECT}resources`)) {
    if (entry.isFile) {
      await Deno.copyFile(`${PROJECT}resources/${entry.name}`, `${root}/${entry.name}`);
    }
  }
  const file = await Deno.open(`${root}/${BIG_NAME}`, {
    write: true,
    createNew: true,
    mode: 0o644,
  });
  const block = new Uint8Array(MIB);
  for (let written = 0; written < BIG_BYTES; written += block.length) {
    for (let offset = 0; offset < block.length; offset += 65536) {
      crypto.getRandomValues(block.subarray(offset, offset + 65536));
    }
    await writeAll(file, block);
  }
  file.close();
  // nginx's worker runs as `nobody` when the bench runs as root: it must be able to read.
  for (const path of [dir, root]) await Deno.chmod(path, 0o755);
  return root;
}

/**
 * A root of `name`'s own: the same files, hard-linked (one copy on disk and in the page cache).
 * Separate folders keep the servers from observing each other: denohttpd watches its root for
 * changes, and the kernel reports every open of a file to watchers of its folder, so a shared
 * root would have it spend CPU on nginx's opens while nginx is measured.
 */
async function rootFor(name: ServerName, dir: string, shared: string): Promise<string> {
  const root = `${dir}/root-${name.replace(/\W/g, "_")}`;
  await Deno.mkdir(`${root}/uploads`, { recursive: true });
  for await (const entry of Deno.readDir(shared)) {
    if (entry.isFile) await Deno.link(`${shared}/${entry.name}`, `${root}/${entry.name}`);
  }
  await Deno.chmod(root, 0o755);
  return root;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function nginxConfig(dir: string, root: string, port: number, tls: TlsListen): string {
  const temp = (name: string) => `${name}_temp_path ${dir}/nginx/${name}`;
  return `# Generated by bench/load.ts
worker_processes 1;
master_process on;
daemon off;
pid ${dir}/nginx/nginx.pid;
error_log ${dir}/nginx/error.log warn;
events { worker_connections 4096; }
http {
  types { text/html html; }
  default_type application/octet-stream;
  charset utf-8;
  access_log ${dir}/nginx/access.log;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100;
  keepalive_timeout 30s;
  ${["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(temp).join(";\n  ")};
  ssl_protocols TLSv1.3;
  ssl_session_cache shared:SSL:1m;
  server {
    listen ${HOST}:${port};
    listen ${HOST}:${tls.port} ssl;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
    root ${root};
    index index.html;
  }
}
`;
}

interface TlsListen {
  port: number;
  cert: string;
  key: string;
}

/**
 * A CA and a leaf for 127.0.0.1 (EC P-256), made with openssl in `dir`/tls; the leaf's file holds
 * the chain, as a deployment's would. Readable by nginx's worker (`nobody` when run as root).
 */
async function makeCertificate(dir: string): Promise<BenchTls> {
  const tlsDir = `${dir}/tls`;
  await Deno.mkdir(tlsDir);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const openssl = (args: string[]) => run("openssl", args);
  await openssl([
    "req",
    "-x509",
    ...ec,
    "-days",
    "2",
    "-subj",
    "/CN=bench CA",
    "-keyout",
    `${tlsDir}/ca.key`,
    "-out",
    `${tlsDir}/ca.crt`,
  ]);
  await openssl([
    "req",
    ...ec,
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    `${tlsDir}/key.pem`,
    "-out",
    `${tlsDir}/leaf.csr`,
  ]);
  await Deno.writeTextFile(
    `${tlsDir}/leaf.ext`,
    "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    `${tlsDir}/leaf.csr`,
    "-CA",
    `${tlsDir}/ca.crt`,
    "-CAkey",
    `${tlsDir}/ca.key`,
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    `${tlsDir}/leaf.ext`,
    "-out",
    `${tlsDir}/leaf.crt`,
  ]);
  const ca = await Deno.readTextFile(`${tlsDir}/ca.crt`);
  await Deno.writeTextFile(
    `${tlsDir}/cert.pem`,
    (await Deno.readTextFile(`${tlsDir}/leaf.crt`)) + ca,
  );
  for (const name of ["cert.pem", "key.pem"]) await Deno.chmod(`${tlsDir}/${name}`, 0o644);
  await Deno.chmod(tlsDir, 0o755);
  return { cert: `${tlsDir}/cert.pem`, key: `${tlsDir}/key.pem`, ca };
}

/** The protocol and suite `openssl s_client` negotiates with `port` (what wrk, also OpenSSL, gets). */
async function negotiated(port: number): Promise<string> {
  const out = await run("sh", [
    "-c",
    `openssl s_client -connect ${HOST}:${port} -brief </dev/null 2>&1`,
  ], { allowFailure: true });
  const protocol = out.match(/Protocol version: (\S+)/)?.[1] ?? "?";
  const suite = out.match(/Ciphersuite: (\S+)/)?.[1] ?? "?";
  const key = out.match(/Signature type: (\S+)/)?.[1] ?? "?";
  return `${protocol} ${suite} (${key})`;
}

/** How each server is launched: the binary (what /proc/PID/exe must be), arguments, cwd. */
async function launchSpec(
  name: ServerName,
  dir: string,
  root: string,
  ports: { port: number; tls: TlsListen },
  tools: Tools,
) {
  const { port, tls } = ports;
  switch (name) {
    case "denohttpd":
      return {
        binary: Deno.execPath(),
        args: [
          "run",
          // deno task start:tls's flags: --unstable-net for certificate reloads.
          "--unstable-net",
          "--allow-net",
          `--allow-read=${root},${tls.cert},${tls.key}`,
          `--allow-write=${root}/uploads`,
          "--allow-sys=statfs",
          `${PROJECT}main.ts`,
          "--root",
          root,
          "--port",
          String(port),
          "--https-port",
          String(tls.port),
          "--tls-cert",
          tls.cert,
          "--tls-key",
          tls.key,
        ],
        cwd: PROJECT,
      };
    case "nginx": {
      const prefix = `${dir}/nginx`;
      await Deno.mkdir(prefix);
      await Deno.writeTextFile(`${prefix}/nginx.conf`, nginxConfig(dir, root, port, tls));
      return {
        binary: tools.nginx,
        args: ["-p", prefix, "-e", `${prefix}/error.log`, "-c", `${prefix}/nginx.conf`],
        cwd: prefix,
      };
    }
    case "Deno.serve":
      return {
        binary: Deno.execPath(),
        args: [
          "run",
          "--allow-net",
          `--allow-read=${root}`,
          `${PROJECT}bench/deno_serve_static.ts`,
          root,
          String(port),
        ],
        cwd: PROJECT,
      };
  }
}

/** Each server's RSS right after start-up, before any load (for the notes). */
const startupRss: string[] = [];

async function startServer(
  name: ServerName,
  dir: string,
  root: string,
  tools: Tools,
  tls: BenchTls,
) {
  const port = freePort();
  const tlsPort = TLS_SERVERS.has(name) ? freePort() : null;
  const logPath = `${dir}/${name}.log`;
  const { binary, args, cwd } = await launchSpec(name, dir, root, {
    port,
    tls: { port: tlsPort ?? 0, cert: tls.cert, key: tls.key },
  }, tools);
  const child = spawnLogged(logPath, binary, args, cwd);
  await waitReady(name, port, child, logPath);
  if (tlsPort !== null) await waitReady(name, tlsPort, child, logPath, tls.ca);
  if (Deno.realPathSync(`/proc/${child.pid}/exe`) !== Deno.realPathSync(binary)) {
    throw new Error(`${name}: PID ${child.pid} is not ${binary}`);
  }
  const logPaths = name === "nginx" ? [logPath, `${dir}/nginx/error.log`] : [logPath];
  const server: Server = { name, port, tlsPort, pids: processTree(child.pid), logPaths };
  const rss = rssBytes(server.pids);
  startupRss.push(`${name} ${mib(rss)} MiB`);
  progress(`${name} ready on port ${port} (PIDs ${server.pids.join(", ")}), RSS ${mib(rss)} MiB`);
  return server;
}

async function waitReady(
  name: string,
  port: number,
  child: Deno.ChildProcess,
  logPath: string,
  ca?: string,
) {
  let exited = false;
  child.status.then(() => exited = true);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !exited) {
    try {
      const conn = ca === undefined
        ? await Deno.connect({ hostname: HOST, port })
        : await Deno.connectTls({ hostname: HOST, port, caCerts: [ca] });
      try {
        if ((await request(conn, port, SMALL_PATH, "close")).status === 200) return;
      } finally {
        conn.close();
      }
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  const log = await Deno.readTextFile(logPath).catch(() => "");
  throw new Error(`${name} did not start (${exited ? "exited" : "timeout"}):\n${log.slice(-2000)}`);
}

/** `pid` and all its descendants, from the parent PIDs in /proc/N/stat. */
function processTree(pid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat;
    try {
      stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
    } catch {
      continue; // exited meanwhile
    }
    const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    childrenOf.set(parent, [...(childrenOf.get(parent) ?? []), Number(entry.name)]);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(childrenOf.get(tree[i]!) ?? []));
  return tree;
}

/** CPU time (user + system) the processes have used so far, in µs (/proc/PID/stat). */
function cpuMicros(pids: readonly number[]): number {
  const hz = 100; // USER_HZ: the unit of utime and stime on Linux (sysconf(_SC_CLK_TCK))
  let ticks = 0;
  for (const pid of pids) {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1e6) / hz;
}

function rssBytes(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kib = status.match(/^VmRSS:\s+(\d+) kB$/m)?.[1];
    if (kib === undefined) throw new Error(`no VmRSS for PID ${pid}`);
    total += Number(kib) * 1024;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP over TCP (readiness and idle connections)

const encoder = new TextEncoder();

async function writeAll(
  writer: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await writer.write(bytes.subarray(offset));
}

/** Sends one GET and reads the whole response (Content-Length framing). */
async function request(conn: Deno.Conn, port: number, path: string, connection: string) {
  const line = `GET ${path} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nConnection: ${connection}\r\n\r\n`;
  await writeAll(conn, encoder.encode(line));
  let received = new Uint8Array(0);
  const buffer = new Uint8Array(16384);
  for (;;) {
    const text = new TextDecoder("latin1").decode(received);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const head = text.slice(0, end);
      const length = Number(head.match(/^content-length:\s*(\d+)/im)?.[1] ?? 0);
      if (received.length >= end + 4 + length) {
        return { status: Number(head.slice(9, 12)), closes: /^connection:\s*close/im.test(head) };
      }
    }
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`connection closed before the end of the response`);
    const grown = new Uint8Array(received.length + n);
    grown.set(received);
    grown.set(buffer.subarray(0, n), received.length);
    received = grown;
  }
}

async function openIdleConnection(port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: HOST, port });
  try {
    const response = await request(conn, port, SMALL_PATH, "keep-alive");
    if (response.status !== 200 || response.closes) {
      throw new Error(
        `idle connection setup: status ${response.status}, closes ${response.closes}`,
      );
    }
    return conn;
  } catch (error) {
    conn.close();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Measurements

/** wrk's units: times (format_time) and 1024-based byte prefixes (format_binary). */
const TIME_UNITS_MS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
const BYTE_UNITS: Record<string, number> = {
  "": 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
};

function parseWrk(output: string): WrkResult {
  const requestsPerSec = output.match(/Requests\/sec:\s+([\d.]+)/)?.[1];
  const transfer = output.match(/Transfer\/sec:\s+([\d.]+)([KMGTP]?)B/);
  if (requestsPerSec === undefined || transfer === null) {
    throw new Error(`cannot parse wrk output:\n${output}`);
  }
  const p99 = output.match(/^\s*99%\s+([\d.]+)(us|ms|s|m|h)\s*$/m);
  return {
    requestsPerSec: Number(requestsPerSec),
    requests: Number(output.match(/^\s*(\d+) requests in /m)?.[1] ?? NaN),
    transferBytesPerSec: Number(transfer[1]) * (BYTE_UNITS[transfer[2] ?? ""] ?? NaN),
    p99Ms: p99 ? Number(p99[1]) * (TIME_UNITS_MS[p99[2] ?? ""] ?? NaN) : undefined,
    non2xx: Number(output.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0),
    socketErrors: output.match(/Socket errors:\s*(.*)/)?.[1],
  };
}

/** Over plain HTTP, or with `tls` over HTTPS (the server's TLS port). */
interface Over {
  tls?: boolean;
}

function urlOf(server: Server, path: string, over: Over): string {
  if (!over.tls) return `http://${HOST}:${server.port}${path}`;
  if (server.tlsPort === null) throw new Error(`${server.name} has no TLS port`);
  return `https://${HOST}:${server.tlsPort}${path}`;
}

async function wrk(tools: Tools, args: string[], url: string, seconds: number) {
  return parseWrk(await run(tools.wrk, [...args, `-d${seconds}s`, url]));
}

/**
 * (a) or (e), and the server's CPU time per request during it (µs): on a shared machine the
 * rate depends on what else runs, the CPU a request costs far less.
 */
async function wrkSmall(tools: Tools, server: Server, seconds: number, over: Over = {}) {
  const before = cpuMicros(server.pids);
  const result = await wrk(
    tools,
    ["-t1", "-c50", "--latency"],
    urlOf(server, SMALL_PATH, over),
    seconds,
  );
  return { ...result, cpuMicrosPerRequest: (cpuMicros(server.pids) - before) / result.requests };
}

async function wrkDownload(tools: Tools, server: Server, seconds: number, over: Over = {}) {
  return await wrk(
    tools,
    ["-t1", "-c1", "--timeout", "60s"],
    urlOf(server, `/${BIG_NAME}`, over),
    seconds,
  );
}

/** One curl download of big.png; refuses anything but a whole 200 MiB body with status 200. */
async function curlDownload(
  tools: Tools,
  server: Server,
  over: Over & { caPath?: string } = {},
): Promise<number> {
  const out = await run(tools.curl, [
    "-sS",
    "--max-time",
    "120",
    ...(over.caPath === undefined ? [] : ["--cacert", over.caPath]),
    "-o",
    "/dev/null",
    "-w",
    "%{http_code} %{size_download} %{speed_download}",
    urlOf(server, `/${BIG_NAME}`, over),
  ]);
  const [status, size, speed] = out.trim().split(" ").map(Number);
  if (status !== 200 || size !== BIG_BYTES) {
    throw new Error(`${server.name}: download of ${BIG_NAME} got ${status}, ${size} bytes`);
  }
  return speed ?? NaN;
}

async function idleGrowth(server: Server) {
  const baseline = rssBytes(server.pids);
  const conns: Deno.Conn[] = [];
  try {
    for (let opened = 0; opened < IDLE_CONNECTIONS; opened += CONNECT_BATCH) {
      const batch = Math.min(CONNECT_BATCH, IDLE_CONNECTIONS - opened);
      const results = await Promise.allSettled(
        Array.from({ length: batch }, () => openIdleConnection(server.port)),
      );
      for (const result of results) if (result.status === "fulfilled") conns.push(result.value);
      const failed = results.find((result) => result.status === "rejected");
      if (failed) throw new Error(`${server.name}: ${(failed as PromiseRejectedResult).reason}`);
    }
    await sleep(IDLE_SETTLE_MS);
    return { baseline, growth: rssBytes(server.pids) - baseline };
  } finally {
    for (const conn of conns) conn.close();
  }
}

async function parallelDownloadPeak(tools: Tools, server: Server) {
  const baseline = rssBytes(server.pids);
  let peak = baseline;
  const sample = () => {
    try {
      peak = Math.max(peak, rssBytes(server.pids));
    } catch { /* a dead server is reported by the next measurement */ }
  };
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: PARALLEL_DOWNLOADS }, () => curlDownload(tools, server)),
    );
  } finally {
    clearInterval(timer);
  }
  sample();
  return { peak, growth: peak - baseline, seconds: (performance.now() - started) / 1000 };
}

// ---------------------------------------------------------------------------------------------
// Rounds

const warnings: string[] = [];

function checkWrk(label: string, result: WrkResult): void {
  if (result.non2xx > 0) warnings.push(`${label}: wrk saw ${result.non2xx} non-2xx/3xx responses`);
  if (result.socketErrors) warnings.push(`${label}: wrk socket errors: ${result.socketErrors}`);
}

async function warmUp(tools: Tools, server: Server, caPath: string): Promise<void> {
  checkWrk(`warm-up ${server.name}`, await wrkSmall(tools, server, WARMUP_SECONDS));
  const speed = await curlDownload(tools, server);
  progress(`${server.name} warm-up: ${BIG_NAME} arrived whole, curl ${gbps(speed)} GB/s`);
  if (server.tlsPort === null) return;
  const over = { tls: true, caPath };
  checkWrk(`warm-up ${server.name} TLS`, await wrkSmall(tools, server, WARMUP_SECONDS, over));
  const tlsSpeed = await curlDownload(tools, server, over);
  progress(`${server.name} warm-up over TLS: arrived whole, curl ${gbps(tlsSpeed)} GB/s`);
}

/** The server order of a round: rotated by one each round. */
function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

async function runRounds(
  tools: Tools,
  servers: Server[],
  options: Options,
  freshIdleGrowth: ReadonlyMap<ServerName, number>,
): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const order = rotate(servers, round - 1);
    const partial = new Map<ServerName, Partial<Sample>>(
      order.map((
        s,
      ) => [s.name, { round, server: s.name, freshIdleGrowthBytes: freshIdleGrowth.get(s.name) }]),
    );
    const tag = (server: Server, what: string) =>
      `[round ${round}/${options.rounds}] ${what} ${server.name}`;
    for (const server of order) {
      const result = await wrkSmall(tools, server, options.durationSeconds);
      checkWrk(tag(server, "(a)"), result);
      if (result.p99Ms === undefined) throw new Error(`${server.name}: wrk printed no p99`);
      Object.assign(partial.get(server.name)!, {
        smallRequestsPerSec: result.requestsPerSec,
        smallP99Ms: result.p99Ms,
        smallCpuMicros: result.cpuMicrosPerRequest,
      });
      progress(
        `${tag(server, "(a)")}: ${fmtInt(result.requestsPerSec)} req/s, ` +
          `p99 ${result.p99Ms.toFixed(2)} ms`,
      );
    }
    for (const server of order) {
      const result = await wrkDownload(tools, server, options.durationSeconds);
      checkWrk(tag(server, "(b)"), result);
      partial.get(server.name)!.downloadBytesPerSec = result.transferBytesPerSec;
      progress(`${tag(server, "(b)")}: ${gbps(result.transferBytesPerSec)} GB/s`);
    }
    const overTls = order.filter((server) => server.tlsPort !== null);
    for (const server of order) {
      if (server.tlsPort !== null) continue;
      Object.assign(partial.get(server.name)!, {
        tlsSmallRequestsPerSec: NaN,
        tlsSmallP99Ms: NaN,
        tlsSmallCpuMicros: NaN,
        tlsDownloadBytesPerSec: NaN,
      });
    }
    for (const server of overTls) {
      const result = await wrkSmall(tools, server, options.durationSeconds, { tls: true });
      checkWrk(tag(server, "(e)"), result);
      if (result.p99Ms === undefined) throw new Error(`${server.name}: wrk printed no p99`);
      Object.assign(partial.get(server.name)!, {
        tlsSmallRequestsPerSec: result.requestsPerSec,
        tlsSmallP99Ms: result.p99Ms,
        tlsSmallCpuMicros: result.cpuMicrosPerRequest,
      });
      progress(
        `${tag(server, "(e)")}: ${fmtInt(result.requestsPerSec)} req/s over TLS, ` +
          `p99 ${result.p99Ms.toFixed(2)} ms`,
      );
    }
    for (const server of overTls) {
      const result = await wrkDownload(tools, server, options.durationSeconds, { tls: true });
      checkWrk(tag(server, "(f)"), result);
      partial.get(server.name)!.tlsDownloadBytesPerSec = result.transferBytesPerSec;
      progress(`${tag(server, "(f)")}: ${gbps(result.transferBytesPerSec)} GB/s over TLS`);
    }
    for (const server of order) {
      const { baseline, growth } = await idleGrowth(server);
      Object.assign(partial.get(server.name)!, {
        idleBaselineBytes: baseline,
        idleGrowthBytes: growth,
      });
      progress(
        `${tag(server, "(c)")}: RSS ${mib(baseline)} MiB + ${mib(growth)} MiB ` +
          `with ${IDLE_CONNECTIONS} idle connections`,
      );
    }
    for (const server of order) {
      const { peak, growth, seconds } = await parallelDownloadPeak(tools, server);
      Object.assign(partial.get(server.name)!, {
        peakRssBytes: peak,
        peakGrowthBytes: growth,
        parallelDownloadSeconds: seconds,
      });
      progress(
        `${tag(server, "(peak)")}: RSS peak ${mib(peak)} MiB (+${mib(growth)}) over ` +
          `${PARALLEL_DOWNLOADS} downloads in ${seconds.toFixed(1)} s`,
      );
    }
    for (const server of servers) samples.push(partial.get(server.name) as Sample);
  }
  return samples;
}

/**
 * Warnings and errors in a server's logs (denohttpd [WRN]/[ERR], nginx's error.log, anything
 * saying error or panic), grouped by message with numbers masked, the most frequent first.
 */
async function logProblems(server: Server): Promise<void> {
  const pattern = "\\[(WRN|ERR|FTL)\\]|\\[(warn|error|crit|alert|emerg)\\]|error|panic";
  const matched = await run("grep", ["-h", "-i", "-E", pattern, ...server.logPaths], {
    allowFailure: true,
  });
  const counts = new Map<string, number>();
  for (const line of matched.split("\n")) {
    if (line === "") continue;
    const message = line.slice(Math.max(0, line.indexOf("["))).replace(/\d+/g, "N");
    counts.set(message, (counts.get(message) ?? 0) + 1);
  }
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 3);
  for (const [message, count] of top) warnings.push(`${server.name} log, ${count}×: ${message}`);
  if (counts.size > top.length) {
    warnings.push(`${server.name} log: ${counts.size - top.length} more kinds of such lines`);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
const gbps = (bytesPerSec: number) => (bytesPerSec / 1e9).toFixed(2);
const mib = (bytes: number) => (bytes / MIB).toFixed(1);
const verdict = (met: boolean) => (met ? "met" : "**not met**");
const max = (values: number[]) => Math.max(...values);

/** One table row: how to pick the number from a sample, show it, and judge denohttpd. */
interface Row {
  measure: string;
  pick: (sample: Sample) => number;
  format: (value: number) => string;
  /** The target cell, from denohttpd's value and its ratio to nginx. */
  target: (denohttpd: number, ratio: number | undefined) => string;
  /** Median over rounds (the default), or the maximum for peaks. */
  peak?: boolean;
  /** No ratio column: memory footprints of such different programs are not a speed ratio. */
  noRatio?: boolean;
}

/** A value the row does not have for a server (Deno.serve over TLS) shows as a dash. */
const orDash = (format: (value: number) => string) => (value: number) =>
  Number.isFinite(value) ? format(value) : "—";

const ROWS: Row[] = [
  {
    measure: "(a) small HTML, keep-alive, wrk -t1 -c50: req/s",
    pick: (s) => s.smallRequestsPerSec,
    format: fmtInt,
    target: (_, r) =>
      `≥ ${TARGETS.smallRatio.toFixed(1)}× nginx: ${verdict((r ?? 0) >= TARGETS.smallRatio)}`,
  },
  {
    measure: "(d) p99 latency at (a): ms",
    pick: (s) => s.smallP99Ms,
    format: (ms) => ms.toFixed(2),
    target: () => "—",
  },
  {
    measure: "↳ server CPU per request at (a): µs (user + system)",
    pick: (s) => s.smallCpuMicros,
    format: (us) => us.toFixed(1),
    target: () => "—",
  },
  {
    measure: "(b) 200 MiB download, wrk -t1 -c1: GB/s",
    pick: (s) => s.downloadBytesPerSec,
    format: gbps,
    target: (_, r) =>
      `≥ ${TARGETS.downloadRatio.toFixed(1)}× nginx: ${verdict((r ?? 0) >= TARGETS.downloadRatio)}`,
  },
  {
    measure: "(e) small HTML over TLS, keep-alive, wrk -t1 -c50: req/s",
    pick: (s) => s.tlsSmallRequestsPerSec,
    format: orDash(fmtInt),
    target: (_, r) =>
      `≥ ${TARGETS.tlsSmallRatio.toFixed(1)}× nginx: ${verdict((r ?? 0) >= TARGETS.tlsSmallRatio)}`,
  },
  {
    measure: "↳ p99 latency at (e): ms",
    pick: (s) => s.tlsSmallP99Ms,
    format: orDash((ms) => ms.toFixed(2)),
    target: () => "—",
  },
  {
    measure: "↳ server CPU per request at (e): µs (user + system)",
    pick: (s) => s.tlsSmallCpuMicros,
    format: orDash((us) => us.toFixed(1)),
    target: () => "—",
  },
  {
    measure: "↳ TLS cost: (e) ÷ (a), same round",
    pick: (s) => s.tlsSmallRequestsPerSec / s.smallRequestsPerSec,
    format: orDash((ratio) => `${ratio.toFixed(2)}×`),
    target: () => "—",
    noRatio: true,
  },
  {
    measure: "(f) 200 MiB download over TLS, wrk -t1 -c1: GB/s",
    pick: (s) => s.tlsDownloadBytesPerSec,
    format: orDash(gbps),
    target: (_, r) =>
      `≥ ${TARGETS.tlsDownloadRatio.toFixed(1)}× nginx: ${
        verdict((r ?? 0) >= TARGETS.tlsDownloadRatio)
      }`,
  },
  {
    measure: "↳ TLS cost: (f) ÷ (b), same round",
    pick: (s) => s.tlsDownloadBytesPerSec / s.downloadBytesPerSec,
    format: orDash((ratio) => `${ratio.toFixed(2)}×`),
    target: () => "—",
    noRatio: true,
  },
  {
    measure: `(c) RSS growth, ${IDLE_CONNECTIONS} idle connections, fresh process: MiB`,
    pick: (s) => s.freshIdleGrowthBytes,
    format: mib,
    target: (d) => `< ${TARGETS.idleGrowthMiB} MiB: ${verdict(d < TARGETS.idleGrowthMiB * MIB)}`,
    noRatio: true,
  },
  {
    measure: `↳ the same after the loads of (a) and (b): MiB (median of rounds)`,
    pick: (s) => s.idleGrowthBytes,
    format: mib,
    target: () => "—",
    noRatio: true,
  },
  {
    measure: `peak RSS, ${PARALLEL_DOWNLOADS} × 200 MiB downloads at once: MiB (max of rounds)`,
    pick: (s) => s.peakRssBytes,
    format: mib,
    target: (d) => `< ${TARGETS.peakRssMiB} MiB: ${verdict(d < TARGETS.peakRssMiB * MIB)}`,
    peak: true,
    noRatio: true,
  },
  {
    measure: "↳ growth of that peak over the RSS just before: MiB (max of rounds)",
    pick: (s) => s.peakGrowthBytes,
    format: mib,
    target: () => "—",
    peak: true,
    noRatio: true,
  },
];

/**
 * denohttpd / nginx: for medians, the median of the per-round ratios (the two runs of a round
 * are close in time, so drift of the machine cancels out); for peaks, the ratio of the maxima.
 * Undefined where a value is not positive.
 */
function ratioToNginx(samples: Sample[], row: Row, denohttpd: number, nginx: number) {
  const valid = (d: number, n: number) => d > 0 && n > 0;
  if (row.peak) return valid(denohttpd, nginx) ? denohttpd / nginx : undefined;
  const ratios: number[] = [];
  for (const sample of samples.filter((s) => s.server === "denohttpd")) {
    const other = samples.find((s) => s.server === "nginx" && s.round === sample.round);
    const [d, n] = [row.pick(sample), other ? row.pick(other) : NaN];
    if (valid(d, n)) ratios.push(d / n);
  }
  return ratios.length > 0 ? median(ratios) : undefined;
}

function tableRow(samples: Sample[], row: Row): string {
  const [d, n, s] = SERVER_NAMES.map((name) =>
    (row.peak ? max : median)(samples.filter((x) => x.server === name).map(row.pick))
  ) as [number, number, number];
  const ratio = row.noRatio ? undefined : ratioToNginx(samples, row, d, n);
  const cells = [row.measure, row.format(d), row.format(n), row.format(s)];
  cells.push(ratio === undefined ? "—" : `${ratio.toFixed(2)}×`, row.target(d, ratio));
  return `| ${cells.join(" | ")} |`;
}

function report(samples: Sample[], options: Options, machine: string): string {
  return [
    "| measure | denohttpd | nginx | Deno.serve | denohttpd / nginx | target |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    ...ROWS.map((row) => tableRow(samples, row)),
    "",
    `Medians of ${options.rounds} interleaved rounds (server order rotated each round; the ` +
    `ratio is the median of the per-round ratios), wrk ${options.durationSeconds} s per run, ` +
    `after a ${WARMUP_SECONDS} s warm-up per server. RSS is VmRSS of the server process ` +
    `(nginx: master + worker). MiB = 2^20 B, GB = 10^9 B. Machine: ${machine}. ` +
    `Date: ${new Date().toISOString()}.`,
  ].join("\n");
}

// ---------------------------------------------------------------------------------------------
// Main

function progress(message: string): void {
  console.error(`bench: ${message}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(dir: string): Promise<void> {
  const options = parseOptions(Deno.args);
  checkOpenFileLimit();
  const tools: Tools = { nginx: findTool("nginx"), wrk: findTool("wrk"), curl: findTool("curl") };
  const machine = await describeMachine(tools);
  progress(`${options.rounds} rounds × ${options.durationSeconds} s; machine: ${machine}`);
  progress(`writing the bench root with a ${BIG_BYTES / MIB} MiB ${BIG_NAME} in ${dir}`);
  const root = await prepareRoot(dir);
  const tls = await makeCertificate(dir);
  const servers: Server[] = [];
  for (const name of SERVER_NAMES) {
    servers.push(await startServer(name, dir, await rootFor(name, dir, root), tools, tls));
  }
  const suites: string[] = [];
  for (const server of servers) {
    if (server.tlsPort !== null) {
      suites.push(`${server.name} ${await negotiated(server.tlsPort)}`);
    }
  }
  if (new Set(suites.map((s) => s.slice(s.indexOf(" ")))).size > 1) {
    warnings.push(`the servers negotiate different TLS parameters: ${suites.join("; ")}`);
  }
  const freshIdleGrowth = new Map<ServerName, number>();
  for (const server of servers) {
    const { baseline, growth } = await idleGrowth(server);
    freshIdleGrowth.set(server.name, growth);
    progress(
      `(c) fresh ${server.name}: RSS ${mib(baseline)} MiB + ${mib(growth)} MiB with ` +
        `${IDLE_CONNECTIONS} idle connections`,
    );
  }
  for (const server of servers) await warmUp(tools, server, `${dir}/tls/ca.crt`);
  const samples = await runRounds(tools, servers, options, freshIdleGrowth);
  for (const server of servers) await logProblems(server);
  console.log(report(samples, options, machine));
  const notes = [
    `TLS as openssl s_client (like wrk) negotiates it: ${suites.join("; ")}`,
    `RSS right after start-up, before any load: ${startupRss.join(", ")}`,
    ...warnings,
  ];
  console.log(`\nNotes:\n${notes.map((note) => `- ${note}`).join("\n")}`);
  if (options.jsonPath !== undefined) {
    const json = {
      date: new Date().toISOString(),
      machine,
      options,
      startupRss,
      samples,
      warnings,
    };
    await Deno.writeTextFile(options.jsonPath, JSON.stringify(json, null, 2) + "\n");
    progress(`raw per-round numbers written to ${options.jsonPath}`);
  }
}

const dir = await Deno.makeTempDir({ prefix: "denohttpd-load-" });
let cleaning: Promise<void> | undefined;
const cleanup = () =>
  cleaning ??= stopAll().finally(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    interrupted = true;
    progress(`${signal}: stopping the servers`);
    cleanup().finally(() => Deno.exit(130));
  });
}
try {
  await main(dir);
} catch (error) {
  if (!interrupted) {
    console.error(`bench: ${error instanceof Error ? error.message : error}`);
    Deno.exitCode = 1;
  }
} finally {
  await cleanup();
}
if (!interrupted) Deno.exit();
