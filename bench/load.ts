/**
 * `deno task bench`: a reproducible side-by-side load run of denohttpd against the field of static
 * file servers one would use instead, on this machine, printed as markdown tables of medians and
 * ratios, a ceiling, and a check of the targets.
 *
 *   deno task bench [--rounds N] [--duration SECONDS] [--quick] [--json PATH]
 *                   [--only ID,ID...] [--checkout DIR]...
 *
 * Set-up. bench/install.sh installs from Debian what is missing of wrk, curl, openssl, nginx, h2o,
 * lighttpd and lighttpd-mod-deflate. This script makes a temporary root under /tmp (removed at the
 * end) with a copy of resources/ (files only), an empty uploads/ and a 200 MiB file `big.png` of
 * random bytes (.png is a type denohttpd serves, as a download); each server gets its own folder of
 * hard links to those files, so that no server observes another's file activity. It starts, each
 * on a free port of 127.0.0.1 (ID for --only in brackets):
 * - [denohttpd] denohttpd with default settings (only --root, --port and the TLS flags),
 *   sandboxed to its root; its log (an access line per request) goes to a file;
 * - [denohttpd-threads] "denohttpd --threads 2", only when `main.ts --help` mentions --threads;
 * - "denohttpd (DIR)" for each --checkout DIR: the main.ts of that source tree, default settings,
 *   for an A/B of a change (with TLS when its --help mentions --https-port);
 * - [nginx] "nginx 1 worker": master + 1 worker, sendfile on, tcp_nopush on, keepalive_requests
 *   100, keepalive_timeout 30s, access log on (one write per line);
 * - [nginx-tuned] "nginx tuned": worker_processes auto, open_file_cache max=1000 inactive=20s,
 *   open_file_cache_valid 1s, access log with buffer=64k flush=50ms, otherwise as above;
 * - [h2o] h2o (Debian's 2.2): file.dir, access-log, threads = CPUs (its default), `user: root`
 *   when run as root; it has no per-connection request cap, so its clients never reconnect;
 * - [lighttpd] lighttpd 1.4 in the foreground (-D): server.max-keep-alive-requests = 100 (its
 *   default is 1000), mod_accesslog;
 * - [deno-serve] "Deno.serve static": bench/deno_serve_static.ts (streams `file.readable`), no log;
 * - [bare] "bare Deno responder": bench/bare_responder.ts, one fixed precomputed 200 response as
 *   long as index.html for every request, no parsing, no log: the ceiling a Deno process reaches.
 *   It serves only the small-file identity rows.
 * Compression is on where the server has it, for text types: denohttpd's own default; nginx
 * `gzip on` with gzip_types (both rows); h2o `compress: ON`; lighttpd mod_deflate with a cache
 * folder and deflate.allowed-encodings br (when its build has brotli), gzip, deflate.
 * Each server is started through `exec`, so the PID measured is the server itself (checked via
 * /proc/PID/exe); its RSS is VmRSS summed over the process and its descendants (nginx: master +
 * workers; h2o: with its crash-handler helper), its CPU time likewise.
 *
 * Checks, per server, before any load: GET /index.html answers 200 with exactly the file's bytes;
 * with `Accept-Encoding: gzip, deflate, br, zstd` (curl, once) the body decodes, by the
 * Content-Encoding it came with, to exactly the file's bytes (the encoding and the size sent are
 * reported); a curl download of big.png arrives whole (200 MiB).
 *
 * Warm-up, per server: wrk -c50 on the small page for 2 s (identity, compressed, over TLS) and the
 * download above (also over TLS). Then R rounds; in each round every measurement runs once per
 * server, the order rotating from round to round. Reported: the median over rounds (the maximum for peak RSS), and
 * ratios as the median of the per-round ratios (both runs of a ratio are close in time).
 * (a) small, identity, c50: `wrk -t1 -c50 --latency` GET /index.html (keep-alive) for D s:
 *     requests/s, the 99th percentile latency, and the server's CPU time (user + system from
 *     /proc/PID/stat of the process tree) per request during it: on a shared machine the rate
 *     moves with whatever else runs, the CPU a request costs much less;
 * (b) small, identity, c500: the same with -c500;
 * (c) small, compressed, c50: (a) with `-H 'Accept-Encoding: gzip, deflate, br, zstd'`: the same
 *     figures and the bytes per response on the wire (wrk's transfer ÷ requests, headers included);
 * (d) `wrk -t1 -c1` GET /big.png for D s: bytes/s (wrk's Transfer/sec, 1024-based units);
 * (e) and (f): (a) and (d) over TLS, for denohttpd and nginx 1 worker only (each also listens with
 *     TLS on a second port: denohttpd with --https-port, nginx with `listen … ssl`), with one EC
 *     P-256 certificate made by openssl for the run, TLS 1.3 only on nginx so that both negotiate
 *     the same suite with wrk (checked with `openssl s_client`, and noted), nginx with
 *     `ssl_session_cache shared:SSL:1m`; and the TLS cost of each: (e) ÷ (a) and (f) ÷ (d);
 * (g) RSS growth with 1000 idle connections: RSS just before; then 1000 TCP connections, opened
 *     100 at a time, each sends one keep-alive GET /index.html and reads the whole response, then
 *     stays idle; after 1 s RSS again; the growth is the difference. Measured once on each freshly
 *     started server before any load (the target), and in every round after the loads, where a
 *     heap already grown under load hides most of it;
 * (h) peak RSS while 10 curl processes download big.png at once, sampled every 20 ms.
 * (g) and (h) are measured for every server but the bare responder.
 * Ratios: every row's to denohttpd; denohttpd's to each peer; denohttpd's (b) ÷ its (a) and (c) ÷
 * its (a); then the targets (TARGETS) are checked for every denohttpd row.
 * wrk reports of non-2xx responses or socket errors, failed downloads, warnings or errors in the
 * servers' logs, and access logs with fewer lines than wrk counted responses are listed under the
 * tables. All servers and tools are stopped at the end, on an error and on Ctrl+C.
 */

import { parseArgs } from "node:util";
import { freePort, median } from "./support.ts";
import * as zlib from "node:zlib";

const HOST = "127.0.0.1";
const PROJECT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const SMALL_NAME = "index.html";
const SMALL_PATH = `/${SMALL_NAME}`;
const BIG_NAME = "big.png";
const BIG_BYTES = 200 * 1024 * 1024;
const MIB = 1024 * 1024;
const ACCEPT_ENCODING = "gzip, deflate, br, zstd";
const IDLE_CONNECTIONS = 1000;
const CONNECT_BATCH = 100;
const IDLE_SETTLE_MS = 1000;
const PARALLEL_DOWNLOADS = 10;
const RSS_SAMPLE_MS = 20;
const WARMUP_SECONDS = 2;
const OPEN_FILES_NEEDED = IDLE_CONNECTIONS + 500;
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 12_000;
/** The text types the peers are told to compress (text/html is always among them). */
const COMPRESSED_TYPES = [
  "text/html",
  "text/plain",
  "text/css",
  "text/javascript",
  "application/javascript",
  "application/json",
  "image/svg+xml",
];

const TARGETS = {
  /** (a) req/s ≥ this × lighttpd's. */
  smallVsLighttpd: 1.0,
  /** (b) req/s ≥ this × h2o's. */
  manyVsH2o: 1.0,
  /** (b) ≥ this × its own (a). */
  manyVsOwnSmall: 0.95,
  /** p99 at (a) ≤ this × nginx 1 worker's. */
  p99VsNginx: 1.0,
  /** (d) ≥ this × nginx tuned's (lighttpd's ratio is reported beside it). */
  downloadVsNginxTuned: 1.0,
  /** (c) req/s ≥ this × its own (a). */
  compressedVsIdentity: 0.95,
  /** (e) ≥ this × nginx 1 worker's. */
  tlsSmallVsNginx: 1.0,
  /** (f) ≥ this × nginx 1 worker's. */
  tlsDownloadVsNginx: 0.8,
  /** (g) on the fresh process, MiB. */
  idleGrowthMiB: 32,
  /** (h), MiB. */
  peakRssMiB: 200,
};

type Kind = "denohttpd" | "nginx" | "nginx-tuned" | "h2o" | "lighttpd" | "deno-serve" | "bare";

/** A row of the field: what to start and which measurements it takes part in. */
interface Entry {
  /** For --only (the --checkout rows have none: they are always run). */
  id: string | null;
  /** The row's label. */
  name: string;
  kind: Kind;
  /** denohttpd: the source tree whose main.ts runs. */
  checkout: string;
  /** denohttpd: flags beyond the defaults. */
  extraArgs: string[];
  tls: boolean;
  /** (c): sent Accept-Encoding. */
  compressed: boolean;
  /** (d) */
  download: boolean;
  /** (g), (h) */
  memory: boolean;
}

interface Options {
  rounds: number;
  durationSeconds: number;
  jsonPath: string | undefined;
  only: string[] | undefined;
  checkouts: string[];
}

interface Tools {
  wrk: string;
  curl: string;
  nginx?: string;
  h2o?: string;
  lighttpd?: string;
}

interface Server extends Entry {
  port: number;
  /** The port it also serves HTTPS on, or null. */
  tlsPort: number | null;
  /** The server process and its descendants, whose VmRSS and CPU time are summed. */
  pids: number[];
  /** Its stdout/stderr and error logs, searched for problems at the end. */
  logPaths: string[];
  /** The file its access lines go to (for denohttpd its stdout/stderr log), or null. */
  accessLog: string | null;
  /** Responses wrk counted for it (to compare with its access log's lines). */
  wrkResponses: number;
}

const MEASURES = [
  "c50Rps",
  "c50P99",
  "c50Cpu",
  "c500Rps",
  "c500P99",
  "c500Cpu",
  "gzRps",
  "gzP99",
  "gzCpu",
  "gzWireBytes",
  "downloadBps",
  "tlsRps",
  "tlsP99",
  "tlsCpu",
  "tlsDownloadBps",
  "idleBaseline",
  "idleGrowth",
  "peakRss",
  "peakGrowth",
  "parallelSeconds",
] as const;
type Measure = typeof MEASURES[number];

/** One server's numbers in one round; a measurement it does not take part in is absent. */
type Sample = { round: number; server: string } & Partial<Record<Measure, number>>;

/** What the one compressed curl request of a server got. */
interface Probe {
  encoding: string;
  bodyBytes: number;
}

/** The certificate every TLS server of the run uses, and the CA a client trusts. */
interface BenchTls {
  cert: string;
  key: string;
  ca: string;
  caPath: string;
}

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
  options: { allowFailure?: boolean; withStderr?: boolean; cwd?: string } = {},
): Promise<string> {
  const output = await spawn(command, args, true, options.cwd).output();
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
// Options, the field, tools, machine

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      rounds: { type: "string" },
      duration: { type: "string" },
      quick: { type: "boolean", default: false },
      json: { type: "string" },
      only: { type: "string" },
      checkout: { type: "string", multiple: true },
    },
    strict: true,
    allowPositionals: false,
  });
  const only = values.only?.split(",").map((id) => id.trim()).filter((id) => id !== "");
  return {
    rounds: positiveInteger("rounds", values.rounds) ?? (values.quick ? 2 : 5),
    durationSeconds: positiveInteger("duration", values.duration) ?? (values.quick ? 2 : 4),
    jsonPath: values.json,
    only,
    checkouts: values.checkout ?? [],
  };
}

function positiveInteger(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(text)) throw new Error(`--${name} must be a positive integer`);
  return Number(text);
}

/** `main.ts --help` of a denohttpd source tree: which flags it has. */
async function denohttpdHelp(checkout: string): Promise<string> {
  return await run(Deno.execPath(), ["run", "--unstable-net", `${checkout}/main.ts`, "--help"], {
    cwd: checkout,
    withStderr: true,
    allowFailure: true,
  });
}

function peer(id: string, name: string, kind: Kind, more: Partial<Entry> = {}): Entry {
  return {
    id,
    name,
    kind,
    checkout: PROJECT,
    extraArgs: [],
    tls: false,
    compressed: true,
    download: true,
    memory: true,
    ...more,
  };
}

/** The row label of each built-in server (the id for --only is its kind, or denohttpd-threads). */
const LABELS: Readonly<Record<Kind, string>> = {
  denohttpd: "denohttpd",
  nginx: "nginx 1 worker",
  "nginx-tuned": "nginx tuned",
  h2o: "h2o",
  lighttpd: "lighttpd",
  "deno-serve": "Deno.serve static",
  bare: "bare Deno responder",
};

const FIELD_IDS = [
  "denohttpd",
  "denohttpd-threads",
  "nginx",
  "nginx-tuned",
  "h2o",
  "lighttpd",
  "deno-serve",
  "bare",
];

async function chooseField(options: Options): Promise<Entry[]> {
  const hasThreads = (await denohttpdHelp(PROJECT)).includes("--threads");
  const field: Entry[] = [
    peer("denohttpd", LABELS.denohttpd, "denohttpd", { tls: true }),
    ...(hasThreads
      ? [peer("denohttpd-threads", "denohttpd --threads 2", "denohttpd", {
        extraArgs: ["--threads", "2"],
      })]
      : []),
    peer("nginx", LABELS.nginx, "nginx", { tls: true }),
    peer("nginx-tuned", LABELS["nginx-tuned"], "nginx-tuned"),
    peer("h2o", LABELS.h2o, "h2o"),
    peer("lighttpd", LABELS.lighttpd, "lighttpd"),
    peer("deno-serve", LABELS["deno-serve"], "deno-serve"),
    peer("bare", LABELS.bare, "bare", {
      compressed: false,
      download: false,
      memory: false,
    }),
  ];
  let chosen = field;
  if (options.only !== undefined) {
    for (const id of options.only) {
      if (!FIELD_IDS.includes(id)) {
        throw new Error(`--only: unknown server "${id}" (known: ${FIELD_IDS.join(", ")})`);
      }
      if (id === "denohttpd-threads" && !hasThreads) {
        throw new Error(`--only denohttpd-threads: main.ts --help does not mention --threads`);
      }
    }
    chosen = field.filter((entry) => options.only!.includes(entry.id!));
  }
  for (const dir of options.checkouts) {
    const checkout = Deno.realPathSync(dir);
    if (!Deno.statSync(`${checkout}/main.ts`).isFile) throw new Error(`${dir}: no main.ts`);
    const tls = (await denohttpdHelp(checkout)).includes("--https-port");
    chosen.push({ ...peer("", `denohttpd (${dir})`, "denohttpd", { tls, checkout }), id: null });
  }
  if (chosen.length === 0) throw new Error("no server to run");
  return chosen;
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

function findTools(field: readonly Entry[]): Tools {
  const kinds = new Set(field.map((entry) => entry.kind));
  const tools: Tools = { wrk: findTool("wrk"), curl: findTool("curl") };
  if (kinds.has("nginx") || kinds.has("nginx-tuned")) tools.nginx = findTool("nginx");
  if (kinds.has("h2o")) tools.h2o = findTool("h2o");
  if (kinds.has("lighttpd")) tools.lighttpd = findTool("lighttpd");
  if (field.some((entry) => entry.tls)) findTool("openssl");
  return tools;
}

function tool(tools: Tools, name: "nginx" | "h2o" | "lighttpd"): string {
  const path = tools[name];
  if (path === undefined) throw new Error(`${name} not looked up`);
  return path;
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
  const version = (text: string) => text.match(/\d+\.\d+\.\d+/)?.[0] ?? "?";
  const versionOf = async (name: string, path: string | undefined, flag: string) =>
    path === undefined
      ? []
      : [`${name} ${version(await run(path, [flag], { allowFailure: true, withStderr: true }))}`];
  return [
    `${navigator.hardwareConcurrency} CPUs`,
    `Linux ${firstLine(Deno.readTextFileSync("/proc/sys/kernel/osrelease"))}`,
    `deno ${Deno.version.deno}`,
    ...await versionOf("nginx", tools.nginx, "-v"),
    ...await versionOf("h2o", tools.h2o, "--version"),
    ...await versionOf("lighttpd", tools.lighttpd, "-v"),
    ...await versionOf("wrk", tools.wrk, "-v"),
  ].join(", ");
}

// ---------------------------------------------------------------------------------------------
// Bench root and servers

async function prepareRoot(dir: string): Promise<string> {
  const root = `${dir}/root`;
  await Deno.mkdir(`${root}/uploads`, { recursive: true });
  for await (const entry of Deno.readDir(`${PROJECT}/resources`)) {
    if (entry.isFile) {
      await Deno.copyFile(`${PROJECT}/resources/${entry.name}`, `${root}/${entry.name}`);
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
  // nginx's workers run as `nobody` when the bench runs as root: they must be able to read.
  for (const path of [dir, root]) await Deno.chmod(path, 0o755);
  return root;
}

/**
 * A root of the server's own: the same files, hard-linked (one copy on disk and in the page
 * cache). Separate folders keep the servers from observing each other: denohttpd watches its root
 * for changes, and the kernel reports every open of a file to watchers of its folder, so a shared
 * root would have it spend CPU on nginx's opens while nginx is measured.
 */
async function rootFor(index: number, entry: Entry, dir: string, shared: string) {
  const root = `${dir}/root-${index}-${entry.kind}`;
  await Deno.mkdir(`${root}/uploads`, { recursive: true });
  for await (const file of Deno.readDir(shared)) {
    if (file.isFile) await Deno.link(`${shared}/${file.name}`, `${root}/${file.name}`);
  }
  await Deno.chmod(root, 0o755);
  return root;
}

interface TlsListen {
  port: number;
  cert: string;
  key: string;
}

/** The same extensions for nginx and lighttpd (h2o has its own table, with these in it). */
const TYPES: ReadonlyArray<[string, string]> = [
  ["html", "text/html"],
  ["css", "text/css"],
  ["js", "text/javascript"],
  ["json", "application/json"],
  ["svg", "image/svg+xml"],
  ["txt", "text/plain"],
  ["png", "image/png"],
  ["jpg", "image/jpeg"],
  ["jpeg", "image/jpeg"],
  ["ico", "image/x-icon"],
];

function nginxConfig(
  prefix: string,
  root: string,
  port: number,
  tuned: boolean,
  tls: TlsListen | null,
): string {
  const temp = (name: string) => `${name}_temp_path ${prefix}/${name}`;
  const types = TYPES.map(([extension, type]) => `${type} ${extension};`).join(" ");
  const gzipTypes = COMPRESSED_TYPES.filter((type) => type !== "text/html").join(" ");
  return `# Generated by bench/load.ts (${tuned ? "nginx tuned" : "nginx 1 worker"})
worker_processes ${tuned ? "auto" : "1"};
master_process on;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  types { ${types} }
  default_type application/octet-stream;
  charset utf-8;
  access_log ${prefix}/access.log${tuned ? " combined buffer=64k flush=50ms" : ""};
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100;
  keepalive_timeout 30s;
${tuned ? "  open_file_cache max=1000 inactive=20s;\n  open_file_cache_valid 1s;\n" : ""}\
  gzip on;
  gzip_types ${gzipTypes};
  ${["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(temp).join(";\n  ")};
${tls === null ? "" : "  ssl_protocols TLSv1.3;\n  ssl_session_cache shared:SSL:1m;\n"}\
  server {
    listen ${HOST}:${port};
${
    tls === null ? "" : `    listen ${HOST}:${tls.port} ssl;
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};
`
  }\
    root ${root};
    index index.html;
  }
}
`;
}

/** h2o's YAML (JSON strings are YAML strings). Threads: its default, one per CPU. */
function h2oConfig(prefix: string, root: string, port: number): string {
  const q = JSON.stringify;
  // As root, h2o switches to `nobody` before it writes its pid file, and cannot.
  const user = Deno.uid() === 0 ? "user: root\n" : "";
  return `# Generated by bench/load.ts
${user}pid-file: ${q(`${prefix}/h2o.pid`)}
error-log: ${q(`${prefix}/error.log`)}
max-connections: 4096
listen:
  host: ${HOST}
  port: ${port}
hosts:
  default:
    paths:
      /:
        file.dir: ${q(root)}
        compress: ON
    access-log: ${q(`${prefix}/access.log`)}
`;
}

function lighttpdConfig(prefix: string, root: string, port: number, brotli: boolean): string {
  const q = JSON.stringify;
  const list = (items: string[]) => `(${items.map((item) => q(item)).join(", ")})`;
  const types = TYPES.map(([extension, type]) => {
    const charset = type.startsWith("text/") ? "; charset=utf-8" : "";
    return `${q(`.${extension}`)} => ${q(type + charset)}`;
  });
  return `# Generated by bench/load.ts
server.modules = ("mod_deflate", "mod_accesslog")
server.document-root = ${q(root)}
server.bind = ${q(HOST)}
server.port = ${port}
server.pid-file = ${q(`${prefix}/lighttpd.pid`)}
server.errorlog = ${q(`${prefix}/error.log`)}
server.max-keep-alive-requests = 100
server.max-fds = 8192
server.max-connections = 4096
index-file.names = ("index.html")
mimetype.assign = (${types.join(", ")})
accesslog.filename = ${q(`${prefix}/access.log`)}
deflate.cache-dir = ${q(`${prefix}/deflate-cache`)}
deflate.mimetypes = ${list(COMPRESSED_TYPES)}
deflate.allowed-encodings = ${list([...(brotli ? ["br"] : []), "gzip", "deflate"])}
`;
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
  return { cert: `${tlsDir}/cert.pem`, key: `${tlsDir}/key.pem`, ca, caPath: `${tlsDir}/ca.crt` };
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

interface LaunchSpec {
  /** What /proc/PID/exe must be. */
  binary: string;
  args: string[];
  cwd: string;
  /** Logs beside its stdout/stderr, searched for problems at the end. */
  errorLogs: string[];
  accessLog: string | null;
}

/** How each server is launched, its configuration written into its own folder `prefix`. */
async function launchSpec(
  entry: Entry,
  prefix: string,
  root: string,
  port: number,
  tls: TlsListen | null,
  tools: Tools,
): Promise<LaunchSpec> {
  const logOf = (name: string) => `${prefix}/${name}`;
  switch (entry.kind) {
    case "denohttpd":
      return {
        binary: Deno.execPath(),
        args: [
          "run",
          // deno task start:tls's flags: --unstable-net for certificate reloads (and threads).
          "--unstable-net",
          "--allow-net",
          // With --threads, deno task start:threads's read of src/: Deno checks a worker's
          // modules against --allow-read.
          `--allow-read=${
            [
              root,
              ...(tls ? [tls.cert, tls.key] : []),
              ...(entry.extraArgs.includes("--threads") ? [`${entry.checkout}/src`] : []),
            ].join(",")
          }`,
          `--allow-write=${root}/uploads`,
          "--allow-sys=statfs",
          `${entry.checkout}/main.ts`,
          "--root",
          root,
          "--port",
          String(port),
          ...(tls
            ? ["--https-port", String(tls.port), "--tls-cert", tls.cert, "--tls-key", tls.key]
            : []),
          ...entry.extraArgs,
        ],
        cwd: entry.checkout,
        errorLogs: [],
        accessLog: logOf("server.log"),
      };
    case "nginx":
    case "nginx-tuned": {
      const config = nginxConfig(prefix, root, port, entry.kind === "nginx-tuned", tls);
      await Deno.writeTextFile(`${prefix}/nginx.conf`, config);
      return {
        binary: tool(tools, "nginx"),
        args: ["-p", prefix, "-e", logOf("error.log"), "-c", `${prefix}/nginx.conf`],
        cwd: prefix,
        errorLogs: [logOf("error.log")],
        accessLog: logOf("access.log"),
      };
    }
    case "h2o":
      await Deno.writeTextFile(`${prefix}/h2o.yaml`, h2oConfig(prefix, root, port));
      return {
        binary: tool(tools, "h2o"),
        args: ["-c", `${prefix}/h2o.yaml`],
        cwd: prefix,
        errorLogs: [logOf("error.log")],
        accessLog: logOf("access.log"),
      };
    case "lighttpd": {
      const lighttpd = tool(tools, "lighttpd");
      const features = await run(lighttpd, ["-V"], { allowFailure: true, withStderr: true });
      const brotli = /\+ brotli support/.test(features);
      await Deno.mkdir(`${prefix}/deflate-cache`);
      const config = lighttpdConfig(prefix, root, port, brotli);
      await Deno.writeTextFile(`${prefix}/lighttpd.conf`, config);
      return {
        binary: lighttpd,
        args: ["-D", "-f", `${prefix}/lighttpd.conf`],
        cwd: prefix,
        errorLogs: [logOf("error.log")],
        accessLog: logOf("access.log"),
      };
    }
    case "deno-serve":
      return {
        binary: Deno.execPath(),
        args: [
          "run",
          "--allow-net",
          `--allow-read=${root}`,
          `${PROJECT}/bench/deno_serve_static.ts`,
          root,
          String(port),
        ],
        cwd: PROJECT,
        errorLogs: [],
        accessLog: null,
      };
    case "bare":
      return {
        binary: Deno.execPath(),
        args: [
          "run",
          "--allow-net",
          `--allow-read=${root}/${SMALL_NAME}`,
          `${PROJECT}/bench/bare_responder.ts`,
          String(port),
          `${root}/${SMALL_NAME}`,
        ],
        cwd: PROJECT,
        errorLogs: [],
        accessLog: null,
      };
  }
}

/** Each server's RSS right after start-up, before any load (for the memory table). */
const startupRss = new Map<string, number>();

async function startServer(
  index: number,
  entry: Entry,
  dir: string,
  shared: string,
  tools: Tools,
  tls: BenchTls | null,
): Promise<Server> {
  const root = await rootFor(index, entry, dir, shared);
  const prefix = `${dir}/server-${index}-${entry.kind}`;
  await Deno.mkdir(prefix);
  const port = freePort();
  const tlsPort = entry.tls && tls !== null ? freePort() : null;
  const listenTls = tlsPort === null || tls === null
    ? null
    : { port: tlsPort, cert: tls.cert, key: tls.key };
  const spec = await launchSpec(entry, prefix, root, port, listenTls, tools);
  const logPath = `${prefix}/server.log`;
  const child = spawnLogged(logPath, spec.binary, spec.args, spec.cwd);
  await waitReady(entry.name, port, child, [logPath, ...spec.errorLogs]);
  if (tlsPort !== null) {
    await waitReady(entry.name, tlsPort, child, [logPath, ...spec.errorLogs], tls!.ca);
  }
  if (Deno.realPathSync(`/proc/${child.pid}/exe`) !== Deno.realPathSync(spec.binary)) {
    throw new Error(`${entry.name}: PID ${child.pid} is not ${spec.binary}`);
  }
  const server: Server = {
    ...entry,
    port,
    tlsPort,
    pids: processTree(child.pid),
    logPaths: [logPath, ...spec.errorLogs],
    accessLog: spec.accessLog,
    wrkResponses: 0,
  };
  const rss = rssBytes(server.pids);
  startupRss.set(entry.name, rss);
  progress(
    `${entry.name} ready on port ${port}${tlsPort === null ? "" : ` and ${tlsPort} (TLS)`} ` +
      `(PIDs ${server.pids.join(", ")}), RSS ${mib(rss)} MiB`,
  );
  return server;
}

async function waitReady(
  name: string,
  port: number,
  child: Deno.ChildProcess,
  logPaths: string[],
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
  const logs = await Promise.all(logPaths.map((path) => Deno.readTextFile(path).catch(() => "")));
  throw new Error(
    `${name} did not start (${exited ? "exited" : "timeout"}):\n${logs.join("\n").slice(-2000)}`,
  );
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
// Checks before any load

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A response body decoded by its Content-Encoding (deflate: zlib-wrapped, else raw). */
function decodeBody(encoding: string, body: Uint8Array): Uint8Array {
  switch (encoding) {
    case "identity":
      return body;
    case "gzip":
    case "x-gzip":
      return zlib.gunzipSync(body);
    case "deflate":
      try {
        return zlib.inflateSync(body);
      } catch {
        return zlib.inflateRawSync(body);
      }
    case "br":
      return zlib.brotliDecompressSync(body);
    case "zstd":
      return zlib.zstdDecompressSync(body);
    default:
      throw new Error(`unknown Content-Encoding ${encoding}`);
  }
}

/**
 * GET /index.html with curl, identity and (when the server takes part in (c)) with the bench's
 * Accept-Encoding: each must be a 200 whose body is, decoded, exactly the file. Returns what the
 * compressed request got, or null.
 */
async function checkSmall(tools: Tools, server: Server, dir: string, expected: Uint8Array) {
  const fetchOnce = async (acceptEncoding: string | null) => {
    const body = `${dir}/check-body`;
    const headers = `${dir}/check-headers`;
    const status = await run(tools.curl, [
      "-sS",
      "--max-time",
      "10",
      ...(acceptEncoding === null ? [] : ["-H", `Accept-Encoding: ${acceptEncoding}`]),
      "-D",
      headers,
      "-o",
      body,
      "-w",
      "%{http_code}",
      urlOf(server, SMALL_PATH, {}),
    ]);
    const head = await Deno.readTextFile(headers);
    const encoding = head.match(/^content-encoding:\s*(\S+)\s*$/im)?.[1]?.toLowerCase() ??
      "identity";
    const bytes = await Deno.readFile(body);
    const what = `${server.name}: GET ${SMALL_PATH}` +
      (acceptEncoding === null ? "" : ` with Accept-Encoding: ${acceptEncoding}`);
    if (status.trim() !== "200") throw new Error(`${what}: status ${status}`);
    let decoded;
    try {
      decoded = decodeBody(encoding, bytes);
    } catch (error) {
      throw new Error(`${what}: the ${encoding} body does not decode: ${error}`);
    }
    if (!sameBytes(decoded, expected)) {
      throw new Error(
        `${what}: ${decoded.length} bytes (${encoding}: ${bytes.length}), not the file's ` +
          `${expected.length}`,
      );
    }
    return { encoding, bodyBytes: bytes.length };
  };
  const identity = await fetchOnce(null);
  if (identity.encoding !== "identity") {
    throw new Error(`${server.name}: ${identity.encoding} without Accept-Encoding`);
  }
  if (!server.compressed) return null;
  const probe: Probe = await fetchOnce(ACCEPT_ENCODING);
  progress(
    `${server.name}: ${SMALL_PATH} whole (${expected.length} B); with Accept-Encoding: ` +
      `${probe.encoding}, ${probe.bodyBytes} B`,
  );
  return probe;
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

async function wrk(tools: Tools, server: Server, args: string[], url: string, seconds: number) {
  const result = parseWrk(await run(tools.wrk, [...args, `-d${seconds}s`, url]));
  if (Number.isFinite(result.requests)) server.wrkResponses += result.requests;
  return result;
}

/** A small-file run: (a), (b), (c) or (e). */
interface SmallRun {
  key: "c50" | "c500" | "gz" | "tls";
  label: string;
  connections: number;
  compressed: boolean;
  tls: boolean;
  takesPart: (server: Server) => boolean;
}

const SMALL_RUNS: readonly SmallRun[] = [
  {
    key: "c50",
    label: "(a)",
    connections: 50,
    compressed: false,
    tls: false,
    takesPart: () => true,
  },
  {
    key: "c500",
    label: "(b)",
    connections: 500,
    compressed: false,
    tls: false,
    takesPart: () => true,
  },
  {
    key: "gz",
    label: "(c)",
    connections: 50,
    compressed: true,
    tls: false,
    takesPart: (s) => s.compressed,
  },
  {
    key: "tls",
    label: "(e)",
    connections: 50,
    compressed: false,
    tls: true,
    takesPart: (s) => s.tlsPort !== null,
  },
];

/**
 * A small-file run, and the server's CPU time per request during it (µs): on a shared machine the
 * rate depends on what else runs, the CPU a request costs far less.
 */
async function wrkSmall(tools: Tools, server: Server, seconds: number, small: SmallRun) {
  const before = cpuMicros(server.pids);
  const result = await wrk(
    tools,
    server,
    [
      "-t1",
      `-c${small.connections}`,
      "--latency",
      ...(small.compressed ? ["-H", `Accept-Encoding: ${ACCEPT_ENCODING}`] : []),
    ],
    urlOf(server, SMALL_PATH, small),
    seconds,
  );
  return { ...result, cpuMicrosPerRequest: (cpuMicros(server.pids) - before) / result.requests };
}

async function wrkDownload(tools: Tools, server: Server, seconds: number, over: Over = {}) {
  return await wrk(
    tools,
    server,
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

async function warmUp(tools: Tools, server: Server, tls: BenchTls | null): Promise<void> {
  for (const small of SMALL_RUNS) {
    if (small.connections !== 50 || !small.takesPart(server)) continue;
    const result = await wrkSmall(tools, server, WARMUP_SECONDS, small);
    checkWrk(`warm-up ${small.label} ${server.name}`, result);
  }
  if (server.download) {
    const speed = await curlDownload(tools, server);
    progress(`${server.name} warm-up: ${BIG_NAME} arrived whole, curl ${gbps(speed)} GB/s`);
    if (server.tlsPort !== null && tls !== null) {
      const tlsSpeed = await curlDownload(tools, server, { tls: true, caPath: tls.caPath });
      progress(`${server.name} warm-up over TLS: arrived whole, curl ${gbps(tlsSpeed)} GB/s`);
    }
  }
}

/** The server order of a round: rotated by one each round. */
function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

async function runRounds(tools: Tools, servers: Server[], options: Options): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    const started = performance.now();
    const order = rotate(servers, round - 1);
    const partial = new Map<string, Sample>(
      order.map((s) => [s.name, { round, server: s.name }]),
    );
    const record = (server: Server, values: Partial<Record<Measure, number>>) =>
      Object.assign(partial.get(server.name)!, values);
    const tag = (server: Server, what: string) =>
      `[round ${round}/${options.rounds}] ${what} ${server.name}`;
    for (const small of SMALL_RUNS) {
      for (const server of order) {
        if (!small.takesPart(server)) continue;
        const result = await wrkSmall(tools, server, options.durationSeconds, small);
        checkWrk(tag(server, small.label), result);
        if (result.p99Ms === undefined) throw new Error(`${server.name}: wrk printed no p99`);
        record(server, {
          [`${small.key}Rps`]: result.requestsPerSec,
          [`${small.key}P99`]: result.p99Ms,
          [`${small.key}Cpu`]: result.cpuMicrosPerRequest,
        });
        if (small.key === "gz") {
          record(server, { gzWireBytes: result.transferBytesPerSec / result.requestsPerSec });
        }
        progress(
          `${tag(server, small.label)}: ${fmtInt(result.requestsPerSec)} req/s, ` +
            `p99 ${result.p99Ms.toFixed(2)} ms, ${result.cpuMicrosPerRequest.toFixed(1)} µs CPU`,
        );
      }
      // The download (d) between (c) and (e), as the tables list them.
      if (small.key !== "gz") continue;
      for (const server of order) {
        if (!server.download) continue;
        const result = await wrkDownload(tools, server, options.durationSeconds);
        checkWrk(tag(server, "(d)"), result);
        record(server, { downloadBps: result.transferBytesPerSec });
        progress(`${tag(server, "(d)")}: ${gbps(result.transferBytesPerSec)} GB/s`);
      }
    }
    for (const server of order) {
      if (server.tlsPort === null || !server.download) continue;
      const result = await wrkDownload(tools, server, options.durationSeconds, { tls: true });
      checkWrk(tag(server, "(f)"), result);
      record(server, { tlsDownloadBps: result.transferBytesPerSec });
      progress(`${tag(server, "(f)")}: ${gbps(result.transferBytesPerSec)} GB/s over TLS`);
    }
    for (const server of order) {
      if (!server.memory) continue;
      const { baseline, growth } = await idleGrowth(server);
      record(server, { idleBaseline: baseline, idleGrowth: growth });
      progress(
        `${tag(server, "(g)")}: RSS ${mib(baseline)} MiB + ${mib(growth)} MiB ` +
          `with ${IDLE_CONNECTIONS} idle connections`,
      );
    }
    for (const server of order) {
      if (!server.memory) continue;
      const { peak, growth, seconds } = await parallelDownloadPeak(tools, server);
      record(server, { peakRss: peak, peakGrowth: growth, parallelSeconds: seconds });
      progress(
        `${tag(server, "(h)")}: RSS peak ${mib(peak)} MiB (+${mib(growth)}) over ` +
          `${PARALLEL_DOWNLOADS} downloads in ${seconds.toFixed(1)} s`,
      );
    }
    for (const server of servers) samples.push(partial.get(server.name)!);
    progress(`round ${round} took ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
  return samples;
}

/**
 * Warnings and errors in a server's logs (denohttpd [WRN]/[ERR], nginx's error.log, anything
 * saying error or panic), grouped by message with numbers masked, the most frequent first.
 */
async function logProblems(server: Server): Promise<void> {
  const pattern = "\\[(WRN|ERR|FTL)\\]|\\[(warn|error|crit|alert|emerg)\\]|warning|error|panic";
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

/** Lines in the server's access log against the responses wrk counted (wrk's are a floor). */
async function accessLogLines(server: Server): Promise<string> {
  if (server.accessLog === null) return `${server.name}: none`;
  const out = await run("wc", ["-l", server.accessLog]);
  const lines = Number(out.trim().split(/\s+/)[0]);
  if (!(lines >= server.wrkResponses)) {
    warnings.push(
      `${server.name}: ${fmtInt(lines)} access log lines, fewer than the ` +
        `${fmtInt(server.wrkResponses)} responses wrk counted`,
    );
  }
  return `${server.name} ${fmtInt(lines)} (wrk counted ${fmtInt(server.wrkResponses)})`;
}

// ---------------------------------------------------------------------------------------------
// Report

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
const gbps = (bytesPerSec: number) => (bytesPerSec / 1e9).toFixed(2);
const mib = (bytes: number) => (bytes / MIB).toFixed(1);
const fixed = (digits: number) => (n: number) => n.toFixed(digits);
const times = (ratio: number) => `${ratio.toFixed(2)}×`;
/** A value a server does not have (it did not take part) shows as a dash. */
const orDash = (format: (value: number) => string) => (value: number) =>
  Number.isFinite(value) ? format(value) : "—";

/** The numbers of one run: per-server medians and per-round ratios. */
class Results {
  constructor(readonly samples: readonly Sample[], readonly servers: readonly Server[]) {}

  values(server: string, measure: Measure): number[] {
    return this.samples.filter((s) => s.server === server).map((s) => s[measure] ?? NaN)
      .filter(Number.isFinite);
  }

  median(server: string, measure: Measure): number {
    return median(this.values(server, measure));
  }

  max(server: string, measure: Measure): number {
    const values = this.values(server, measure);
    return values.length > 0 ? Math.max(...values) : NaN;
  }

  /** The median over rounds of a's measure ÷ b's measure in the same round; NaN if none. */
  ratio(a: string, measureA: Measure, b: string, measureB: Measure = measureA): number {
    const ratios: number[] = [];
    for (const sample of this.samples.filter((s) => s.server === a)) {
      const other = this.samples.find((s) => s.server === b && s.round === sample.round);
      const x = sample[measureA] ?? NaN;
      const y = other?.[measureB] ?? NaN;
      if (x > 0 && y > 0) ratios.push(x / y);
    }
    return median(ratios);
  }

  /** The row's name of the first server of that kind in the run, if any. */
  named(kind: Kind): string | undefined {
    return this.servers.find((s) => s.kind === kind && s.id === kind)?.name;
  }
}

function table(header: string[], align: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `| ${align.join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ];
}

function report(
  results: Results,
  probes: ReadonlyMap<string, Probe>,
  options: Options,
  machine: string,
): string[] {
  const base = results.named("denohttpd");
  const med = (server: string, measure: Measure, format: (n: number) => string) =>
    orDash(format)(results.median(server, measure));
  const vsBase = (server: string, measure: Measure) =>
    base === undefined ? "—" : orDash(times)(results.ratio(server, measure, base));
  const servers = results.servers;
  const lines: string[] = [];

  lines.push("Small file (index.html), identity, keep-alive:", "");
  lines.push(...table(
    [
      "server",
      "(a) c50 req/s",
      "÷ denohttpd",
      "p99 ms",
      "CPU µs/req",
      "(b) c500 req/s",
      "÷ denohttpd",
      "p99 ms",
      "CPU µs/req",
      "(b) ÷ own (a)",
    ],
    ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"],
    servers.map((s) => [
      s.name,
      med(s.name, "c50Rps", fmtInt),
      vsBase(s.name, "c50Rps"),
      med(s.name, "c50P99", fixed(2)),
      med(s.name, "c50Cpu", fixed(1)),
      med(s.name, "c500Rps", fmtInt),
      vsBase(s.name, "c500Rps"),
      med(s.name, "c500P99", fixed(2)),
      med(s.name, "c500Cpu", fixed(1)),
      orDash(times)(results.ratio(s.name, "c500Rps", s.name, "c50Rps")),
    ]),
  ));

  lines.push("", `Compressed (Accept-Encoding: ${ACCEPT_ENCODING}), and the 200 MiB download:`, "");
  const compressing = servers.filter((s) => s.compressed || s.download);
  lines.push(...table(
    [
      "server",
      "(c) c50 req/s",
      "÷ denohttpd",
      "p99 ms",
      "CPU µs/req",
      "(c) ÷ own (a)",
      "answered with (curl)",
      "B/response on the wire",
      "(d) download GB/s",
      "÷ denohttpd",
    ],
    ["---", "---:", "---:", "---:", "---:", "---:", "---", "---:", "---:", "---:"],
    compressing.map((s) => {
      const probe = probes.get(s.name);
      return [
        s.name,
        med(s.name, "gzRps", fmtInt),
        vsBase(s.name, "gzRps"),
        med(s.name, "gzP99", fixed(2)),
        med(s.name, "gzCpu", fixed(1)),
        orDash(times)(results.ratio(s.name, "gzRps", s.name, "c50Rps")),
        probe === undefined ? "—" : `${probe.encoding}, ${fmtInt(probe.bodyBytes)} B`,
        med(s.name, "gzWireBytes", fmtInt),
        med(s.name, "downloadBps", gbps),
        vsBase(s.name, "downloadBps"),
      ];
    }),
  ));

  const denohttpds = servers.filter((s) => s.kind === "denohttpd");
  const peers = servers.filter((s) => s.kind !== "denohttpd");
  if (denohttpds.length > 0 && peers.length > 0) {
    lines.push("", "denohttpd ÷ each peer (median of the per-round ratios):", "");
    const measures: Array<[string, Measure]> = [
      ["(a) c50 req/s", "c50Rps"],
      ["(a) p99 (lower is better)", "c50P99"],
      ["(b) c500 req/s", "c500Rps"],
      ["(c) compressed c50 req/s", "gzRps"],
      ["(d) download", "downloadBps"],
    ];
    const rows: string[][] = [];
    for (const d of denohttpds) {
      for (const [label, measure] of measures) {
        rows.push([
          denohttpds.length > 1 ? `${d.name}: ${label}` : label,
          ...peers.map((p) => orDash(times)(results.ratio(d.name, measure, p.name))),
        ]);
      }
    }
    lines.push(...table(
      ["denohttpd ÷", ...peers.map((p) => p.name)],
      ["---", ...peers.map(() => "---:")],
      rows,
    ));
  }

  const memory = servers.filter((s) => s.memory);
  if (memory.length > 0) {
    lines.push("", "Memory (RSS of the process tree):", "");
    lines.push(...table(
      [
        "server",
        "at start MiB",
        `(g) ${IDLE_CONNECTIONS} idle conns, fresh: + MiB`,
        "(g) after the loads: + MiB",
        `(h) peak, ${PARALLEL_DOWNLOADS} downloads: MiB (max)`,
        "(h) growth: MiB (max)",
      ],
      ["---", "---:", "---:", "---:", "---:", "---:"],
      memory.map((s) => [
        s.name,
        mib(startupRss.get(s.name) ?? NaN),
        mib(freshIdle.get(s.name) ?? NaN),
        med(s.name, "idleGrowth", mib),
        orDash(mib)(results.max(s.name, "peakRss")),
        orDash(mib)(results.max(s.name, "peakGrowth")),
      ]),
    ));
  }

  const overTls = servers.filter((s) => s.tlsPort !== null);
  if (overTls.length > 0) {
    const nginx = results.named("nginx");
    lines.push("", "Over TLS (one certificate, the same suite):", "");
    lines.push(...table(
      [
        "server",
        "(e) c50 req/s",
        "÷ nginx 1 worker",
        "p99 ms",
        "CPU µs/req",
        "TLS cost (e) ÷ (a)",
        "(f) download GB/s",
        "÷ nginx 1 worker",
        "TLS cost (f) ÷ (d)",
      ],
      ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"],
      overTls.map((s) => [
        s.name,
        med(s.name, "tlsRps", fmtInt),
        nginx === undefined ? "—" : orDash(times)(results.ratio(s.name, "tlsRps", nginx)),
        med(s.name, "tlsP99", fixed(2)),
        med(s.name, "tlsCpu", fixed(1)),
        orDash(times)(results.ratio(s.name, "tlsRps", s.name, "c50Rps")),
        med(s.name, "tlsDownloadBps", gbps),
        nginx === undefined ? "—" : orDash(times)(results.ratio(s.name, "tlsDownloadBps", nginx)),
        orDash(times)(results.ratio(s.name, "tlsDownloadBps", s.name, "downloadBps")),
      ]),
    ));
  }

  const bare = results.named("bare");
  if (bare !== undefined && base !== undefined) {
    lines.push(
      "",
      `The ceiling (the bare Deno responder): ${med(bare, "c50Rps", fmtInt)} req/s at c50, ` +
        `${med(bare, "c500Rps", fmtInt)} at c500; denohttpd reaches ` +
        `${orDash(times)(results.ratio(base, "c50Rps", bare))} and ` +
        `${orDash(times)(results.ratio(base, "c500Rps", bare))} of it.`,
    );
  }

  lines.push(
    "",
    `Medians of ${options.rounds} interleaved rounds (server order rotated each round; a ratio ` +
      `is the median of the per-round ratios), wrk -t1 for ${options.durationSeconds} s per ` +
      `run, after a ${WARMUP_SECONDS} s warm-up per server. CPU is user + system time of the ` +
      `server's process tree per response wrk counted. MiB = 2^20 B, GB = 10^9 B. ` +
      `Machine: ${machine}. Date: ${new Date().toISOString()}.`,
  );
  return lines;
}

/** The targets, checked for each denohttpd row. */
function targetLines(results: Results): string[] {
  const lines: string[] = [];
  const verdict = (value: number, met: (v: number) => boolean) =>
    Number.isFinite(value) ? (met(value) ? "met" : "**not met**") : "not measured";
  const peerRatio = (
    d: string,
    measure: Measure,
    kind: Kind,
    label: string,
    target: number,
    atMost = false,
  ) => {
    const peer = results.named(kind);
    const ratio = peer === undefined ? NaN : results.ratio(d, measure, peer);
    const sign = atMost ? "≤" : "≥";
    return `${label} ${sign} ${target.toFixed(2)}× ${LABELS[kind]}: ${orDash(times)(ratio)}, ` +
      verdict(ratio, (r) => atMost ? r <= target : r >= target);
  };
  for (const d of results.servers.filter((s) => s.kind === "denohttpd")) {
    const name = d.name;
    const own = (a: Measure, b: Measure, label: string, target: number) => {
      const ratio = results.ratio(name, a, name, b);
      return `${label} ≥ ${target.toFixed(2)}× its own (a): ${orDash(times)(ratio)}, ` +
        verdict(ratio, (r) => r >= target);
    };
    const lighttpd = results.named("lighttpd");
    const downloadVsLighttpd = lighttpd === undefined
      ? NaN
      : results.ratio(name, "downloadBps", lighttpd);
    const idle = freshIdle.get(name) ?? NaN;
    const peak = results.max(name, "peakRss");
    const items = [
      peerRatio(name, "c50Rps", "lighttpd", "(a) c50 req/s", TARGETS.smallVsLighttpd),
      peerRatio(name, "c500Rps", "h2o", "(b) c500 req/s", TARGETS.manyVsH2o),
      own("c500Rps", "c50Rps", "(b) c500 req/s", TARGETS.manyVsOwnSmall),
      peerRatio(name, "c50P99", "nginx", "(a) p99", TARGETS.p99VsNginx, true),
      peerRatio(name, "downloadBps", "nginx-tuned", "(d) download", TARGETS.downloadVsNginxTuned) +
      ` (÷ lighttpd: ${orDash(times)(downloadVsLighttpd)})`,
      own("gzRps", "c50Rps", "(c) compressed c50 req/s", TARGETS.compressedVsIdentity),
      ...(d.tlsPort === null ? [] : [
        peerRatio(name, "tlsRps", "nginx", "(e) TLS c50 req/s", TARGETS.tlsSmallVsNginx),
        peerRatio(name, "tlsDownloadBps", "nginx", "(f) TLS download", TARGETS.tlsDownloadVsNginx),
      ]),
      `(g) RSS growth, ${IDLE_CONNECTIONS} idle connections, fresh < ${TARGETS.idleGrowthMiB} ` +
      `MiB: ${orDash(mib)(idle)} MiB, ${verdict(idle, (v) => v < TARGETS.idleGrowthMiB * MIB)}`,
      `(h) peak RSS < ${TARGETS.peakRssMiB} MiB: ${orDash(mib)(peak)} MiB, ` +
      verdict(peak, (v) => v < TARGETS.peakRssMiB * MIB),
    ];
    lines.push("", `Targets, ${name}:`, ...items.map((item) => `- ${item}`));
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Main

function progress(message: string): void {
  console.error(`bench: ${message}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** (g) on each freshly started server, before any load. */
const freshIdle = new Map<string, number>();

async function main(dir: string): Promise<void> {
  const options = parseOptions(Deno.args);
  checkOpenFileLimit();
  const field = await chooseField(options);
  const tools = findTools(field);
  const machine = await describeMachine(tools);
  progress(
    `${options.rounds} rounds × ${options.durationSeconds} s; ` +
      `${field.map((e) => e.name).join(", ")}; machine: ${machine}`,
  );
  progress(`writing the bench root with a ${BIG_BYTES / MIB} MiB ${BIG_NAME} in ${dir}`);
  const root = await prepareRoot(dir);
  const expected = await Deno.readFile(`${root}/${SMALL_NAME}`);
  const tls = field.some((entry) => entry.tls) ? await makeCertificate(dir) : null;
  const servers: Server[] = [];
  for (const [index, entry] of field.entries()) {
    servers.push(await startServer(index, entry, dir, root, tools, tls));
  }
  const negotiations = new Map<string, string>();
  for (const server of servers) {
    if (server.tlsPort !== null) negotiations.set(server.name, await negotiated(server.tlsPort));
  }
  const suites = [...negotiations].map(([name, params]) => `${name} ${params}`);
  if (new Set(negotiations.values()).size > 1) {
    warnings.push(`the servers negotiate different TLS parameters: ${suites.join("; ")}`);
  }
  const probes = new Map<string, Probe>();
  for (const server of servers) {
    const probe = await checkSmall(tools, server, dir, expected);
    if (probe !== null) probes.set(server.name, probe);
  }
  for (const server of servers) {
    if (!server.memory) continue;
    const { baseline, growth } = await idleGrowth(server);
    freshIdle.set(server.name, growth);
    progress(
      `(g) fresh ${server.name}: RSS ${mib(baseline)} MiB + ${mib(growth)} MiB with ` +
        `${IDLE_CONNECTIONS} idle connections`,
    );
  }
  for (const server of servers) await warmUp(tools, server, tls);
  const samples = await runRounds(tools, servers, options);
  for (const server of servers) await logProblems(server);
  const accessLines: string[] = [];
  for (const server of servers) accessLines.push(await accessLogLines(server));
  const results = new Results(samples, servers);
  console.log([...report(results, probes, options, machine), ...targetLines(results)].join("\n"));
  const notes = [
    ...(suites.length > 0
      ? [`TLS as openssl s_client (like wrk) negotiates it: ${suites.join("; ")}`]
      : []),
    "Keep-alive: denohttpd (its default), nginx (keepalive_requests) and lighttpd " +
    "(server.max-keep-alive-requests) close a connection after 100 requests, so wrk " +
    "reconnects; h2o, Deno.serve and the bare responder have no such cap",
    "No access log: Deno.serve static and the bare responder (they have none); every other " +
    "server writes one line per request to a file",
    `Access log lines: ${accessLines.join("; ")}`,
    ...(servers.some((s) => s.kind === "h2o")
      ? ["h2o's RSS and CPU include its crash-handler helper (a perl process it starts)"]
      : []),
    ...warnings,
  ];
  console.log(`\nNotes:\n${notes.map((note) => `- ${note}`).join("\n")}`);
  if (options.jsonPath !== undefined) {
    const json = {
      date: new Date().toISOString(),
      machine,
      options,
      servers: servers.map(({ name, kind, checkout, extraArgs }) => ({
        name,
        kind,
        checkout,
        extraArgs,
      })),
      startupRss: Object.fromEntries(startupRss),
      freshIdleGrowth: Object.fromEntries(freshIdle),
      probes: Object.fromEntries(probes),
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
