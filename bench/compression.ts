/**
 * What compression costs and saves: `deno run --allow-all bench/compression.ts [options]`.
 *
 * - Bytes on the wire: every file of resources/ fetched as it is, in br and in gzip, from this
 *   checkout's server; body bytes and whole responses (head included).
 * - Requests per second: `wrk -t1 -c50` of /index.html for `--seconds` per round, interleaved
 *   over `--rounds` rounds: this checkout without Accept-Encoding (identity) and with a
 *   browser's, and, with `--base DIR` (a `git worktree` of an older commit), that checkout
 *   without it. Medians and per-round ratios, since a shared machine's rate drifts.
 * - With `--fill`, how long compressing each cached file takes when it is filled.
 *
 * Each server runs as `deno task start` runs it (same permissions, its own checkout's
 * resources/), stderr (the access log) to /dev/null.
 */

import zlib from "node:zlib";
import { parseArgs } from "node:util";
import { listening, median } from "./support.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    base: { type: "string" },
    rounds: { type: "string", default: "5" },
    seconds: { type: "string", default: "5" },
    path: { type: "string", default: "/index.html" },
    fill: { type: "boolean", default: false },
  },
});
const HERE = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const BROWSER = "gzip, deflate, br, zstd";

interface Server {
  port: number;
  process: Deno.ChildProcess;
}

async function start(dir: string, port: number): Promise<Server> {
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read=resources",
      "--allow-write=resources/uploads",
      "--allow-sys=statfs",
      "main.ts",
      "--port",
      String(port),
    ],
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  if (await listening(port)) return { port, process };
  process.kill("SIGKILL");
  throw new Error(`server in ${dir} did not start on ${port}`);
}

async function stop(server: Server): Promise<void> {
  server.process.kill("SIGTERM");
  await server.process.status;
}

/** One response over a fresh connection: its head's size and its body. */
async function fetchRaw(
  port: number,
  path: string,
  acceptEncoding: string | null,
): Promise<{ head: number; body: Uint8Array; coding: string | null }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const ae = acceptEncoding === null ? "" : `Accept-Encoding: ${acceptEncoding}\r\n`;
  await conn.write(
    new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${ae}Connection: close\r\n\r\n`,
    ),
  );
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(1 << 16);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  conn.close();
  const all = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  const text = new TextDecoder("latin1").decode(all);
  const end = text.indexOf("\r\n\r\n") + 4;
  const coding = /\r\ncontent-encoding: *([^\r]*)/i.exec(text.slice(0, end))?.[1] ?? null;
  return { head: end, body: all.subarray(end), coding };
}

async function bytesOnTheWire(port: number): Promise<void> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(`${HERE}/resources`)) {
    if (entry.isFile) names.push(entry.name);
  }
  names.sort();
  console.log("\n| file | identity | br | gzip | br saves |");
  console.log("| --- | ---: | ---: | ---: | ---: |");
  const totals = { identity: 0, br: 0, gzip: 0 };
  for (const name of names) {
    const identity = await fetchRaw(port, `/${name}`, null);
    const br = await fetchRaw(port, `/${name}`, "br");
    const gzip = await fetchRaw(port, `/${name}`, "gzip");
    const file = await Deno.readFile(`${HERE}/resources/${name}`);
    if (br.coding === "br") {
      const decoded = zlib.brotliDecompressSync(br.body);
      if (decoded.length !== file.length) throw new Error(`${name}: br does not decode`);
    }
    const cell = (r: { body: Uint8Array; coding: string | null }, coding: string) =>
      r.coding === coding ? r.body.length.toLocaleString("en") : "—";
    const saves = br.coding === "br"
      ? `${Math.round((1 - br.body.length / identity.body.length) * 100)}%`
      : "—";
    console.log(
      `| ${name} | ${identity.body.length.toLocaleString("en")} | ${cell(br, "br")} | ${
        cell(gzip, "gzip")
      } | ${saves} |`,
    );
    if (name.endsWith(".html")) {
      totals.identity += identity.body.length + identity.head;
      totals.br += br.body.length + br.head;
      totals.gzip += gzip.body.length + gzip.head;
    }
  }
  console.log(
    `\nthe pages' whole responses (heads included): identity ${totals.identity}, br ${totals.br}, gzip ${totals.gzip}`,
  );
}

/** The process's user + system CPU time so far, in clock ticks (100 a second on Linux). */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** One wrk run: requests per second, and the server's CPU per request in µs. */
async function wrk(
  server: Server,
  path: string,
  acceptEncoding: string | null,
): Promise<{ rate: number; cpuUs: number }> {
  const header = acceptEncoding === null ? [] : ["-H", `Accept-Encoding: ${acceptEncoding}`];
  const before = await cpuTicks(server.process.pid);
  const { stdout } = await new Deno.Command("wrk", {
    args: [
      "-t1",
      "-c50",
      `-d${args.values.seconds}s`,
      ...header,
      `http://127.0.0.1:${server.port}${path}`,
    ],
  }).output();
  const ticks = await cpuTicks(server.process.pid) - before;
  const text = new TextDecoder().decode(stdout);
  const rate = /Requests\/sec:\s+([0-9.]+)/.exec(text);
  const total = /([0-9]+) requests in/.exec(text);
  if (rate === null || total === null) throw new Error(`wrk said:\n${text}`);
  return { rate: Number(rate[1]), cpuUs: ticks * 10_000 / Number(total[1]) };
}

async function fillCosts(): Promise<void> {
  const { compress } = await import("../src/handlers/compression.ts");
  const { compressionPolicy } = await import("../src/handlers/compression.ts");
  const { DEFAULT_CONFIG } = await import("../src/config.ts");
  const policy = compressionPolicy(DEFAULT_CONFIG)!;
  const cases: [string, Uint8Array][] = [];
  for await (const entry of Deno.readDir(`${HERE}/resources`)) {
    if (entry.isFile && /\.(html|txt|json|ico)$/.test(entry.name)) {
      cases.push([entry.name, await Deno.readFile(`${HERE}/resources/${entry.name}`)]);
    }
  }
  const page = await Deno.readFile(`${HERE}/resources/upload.html`);
  for (const size of [16 * 1024, 32 * 1024, 64 * 1024]) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += page.length) bytes.set(page.subarray(0, size - i), i);
    cases.push([`${size / 1024} KiB of pages`, bytes]);
  }
  console.log("\n| file | bytes | br ms (best of 5) | gzip ms |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const [name, bytes] of cases) {
    const best = (coding: "br" | "gzip") => {
      let least = Infinity;
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        compress(bytes, coding, policy);
        least = Math.min(least, performance.now() - t);
      }
      return least.toFixed(2);
    };
    console.log(`| ${name} | ${bytes.length} | ${best("br")} | ${best("gzip")} |`);
  }
}

const rounds = Number(args.values.rounds);
const path = args.values.path;
const current = await start(HERE, 18180);
const base = args.values.base === undefined ? null : await start(args.values.base, 18181);
try {
  await bytesOnTheWire(current.port);
  if (args.values.fill) await fillCosts();
  // Warm up every configuration once (cache filled, code compiled).
  await fetchRaw(current.port, path, BROWSER);
  const runs: { name: string; server: Server; ae: string | null }[] = [
    { name: "identity", server: current, ae: null },
    { name: "br", server: current, ae: BROWSER },
  ];
  if (base !== null) runs.push({ name: "base identity", server: base, ae: null });
  const rates = new Map<string, number[]>(runs.map((r) => [r.name, []]));
  const cpu = new Map<string, number[]>(runs.map((r) => [r.name, []]));
  for (let round = 0; round < rounds; round++) {
    // Rotate the order, so no configuration always runs first in a round.
    const order = runs.map((_, i) => runs[(i + round) % runs.length]!);
    const line: string[] = [];
    for (const run of order) {
      const { rate, cpuUs } = await wrk(run.server, path, run.ae);
      rates.get(run.name)!.push(rate);
      cpu.get(run.name)!.push(cpuUs);
      line.push(`${run.name} ${Math.round(rate)} (${cpuUs.toFixed(1)} µs)`);
    }
    const r = (name: string) => rates.get(name)![round]!;
    const c = (name: string) => cpu.get(name)![round]!;
    const ratios = [
      `br/identity ${(r("br") / r("identity")).toFixed(2)} (cpu ${
        (c("br") / c("identity")).toFixed(2)
      })`,
    ];
    if (base !== null) {
      ratios.push(
        `identity/base ${(r("identity") / r("base identity")).toFixed(2)} (cpu ${
          (c("identity") / c("base identity")).toFixed(2)
        })`,
      );
    }
    console.log(`round ${round + 1}: ${line.join(", ")}; ${ratios.join(", ")}`);
  }
  const ratio = (table: Map<string, number[]>, a: string, b: string) =>
    median(table.get(a)!.map((value, i) => value / table.get(b)![i]!)).toFixed(2);
  console.log(
    `\nmedians: ${
      runs.map((r) =>
        `${r.name} ${Math.round(median(rates.get(r.name)!))} req/s, ${
          median(cpu.get(r.name)!).toFixed(1)
        } µs CPU/request`
      ).join("; ")
    }`,
  );
  console.log(
    `median of per-round ratios: br/identity req/s ${ratio(rates, "br", "identity")}, ` +
      `CPU/request ${ratio(cpu, "br", "identity")}` +
      (base === null
        ? ""
        : `; identity/base identity req/s ${
          ratio(rates, "identity", "base identity")
        }, CPU/request ${ratio(cpu, "identity", "base identity")}`),
  );
} finally {
  await stop(current);
  if (base !== null) await stop(base);
}
