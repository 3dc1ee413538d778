/**
 * `deno task bench:uploads`: durable uploads per second, `wrk -t1 -c50` POSTing a small JSON
 * document to /upload for D seconds, in interleaved rounds; medians. Every 201 is a document
 * synced to disk with its name (the uploads folder synced, see src/handlers/upload_store.ts).
 *
 *   deno task bench:uploads [--rounds N] [--duration SECONDS] [--checkout DIR]...
 *
 * Each `--checkout` is a denohttpd source tree (default: this one) whose main.ts is run; give
 * two to compare a change with what came before (e.g. a `git worktree` of the old commit). Each
 * server serves its own temporary root (removed at the end) with the upload rate limit off
 * where the checkout has one. After each run the files in uploads/ are counted: every upload
 * wrk counted as answered must be there, exactly once.
 */

import { parseArgs } from "node:util";
import { freePort, listening, median } from "./support.ts";

const HOST = "127.0.0.1";
const CONNECTIONS = 50;
const DOCUMENT = '{"title":"bench","items":[1,2,3],"ok":true}';

const { values } = parseArgs({
  args: Deno.args,
  options: {
    rounds: { type: "string", default: "3" },
    duration: { type: "string", default: "5" },
    checkout: { type: "string", multiple: true },
  },
  strict: true,
});
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const project = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const checkouts = values.checkout ?? [project];

interface Running {
  checkout: string;
  root: string;
  port: number;
  process: Deno.ChildProcess;
}

async function start(checkout: string): Promise<Running> {
  const root = await Deno.makeTempDir({ prefix: "denohttpd-uploads-" });
  await Deno.mkdir(`${root}/uploads`);
  await Deno.writeTextFile(`${root}/index.html`, "<!doctype html>\n");
  const port = freePort();
  const cli = await Deno.readTextFile(`${checkout}/src/cli.ts`);
  const rateOff = cli.includes('"upload-rate"') ? ["--upload-rate", "0"] : [];
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      `--allow-read=${root}`,
      `--allow-write=${root}/uploads`,
      "--allow-sys=statfs",
      `${checkout}/main.ts`,
      "--root",
      root,
      "--port",
      String(port),
      "--log-level",
      "warning",
      ...rateOff,
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  if (await listening(port)) return { checkout, root, port, process };
  throw new Error(`${checkout} did not start`);
}

async function countUploads(root: string): Promise<number> {
  let n = 0;
  for await (const entry of Deno.readDir(`${root}/uploads`)) {
    if (entry.name.startsWith("upload_")) n++;
  }
  return n;
}

async function wrk(port: number, script: string): Promise<{ perSec: number; requests: number }> {
  const out = await new Deno.Command("wrk", {
    args: [
      "-t1",
      `-c${CONNECTIONS}`,
      `-d${duration}s`,
      "-s",
      script,
      `http://${HOST}:${port}/upload`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const perSec = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(text)?.[1]);
  if (!(perSec > 0)) throw new Error(`wrk failed:\n${text}`);
  if (/Non-2xx/.test(text)) throw new Error(`uploads refused:\n${text}`);
  return { perSec, requests };
}

const script = await Deno.makeTempFile({ suffix: ".lua" });
await Deno.writeTextFile(
  script,
  `wrk.method = "POST"\nwrk.body = '${DOCUMENT}'\n` +
    `wrk.headers["Content-Type"] = "application/json"\n`,
);
const servers: Running[] = [];
try {
  for (const checkout of checkouts) servers.push(await start(checkout));
  const results = new Map<string, number[]>(checkouts.map((c) => [c, []]));
  for (let round = 0; round < rounds; round++) {
    const order = servers.map((_, i) => servers[(i + round) % servers.length]!);
    for (const server of order) {
      const before = await countUploads(server.root);
      const { perSec, requests } = await wrk(server.port, script);
      const stored = (await countUploads(server.root)) - before;
      // wrk counts answered requests; those cut off when it stops may still have been stored.
      if (stored < requests || stored > requests + CONNECTIONS) {
        throw new Error(`${server.checkout}: ${requests} answered but ${stored} stored`);
      }
      results.get(server.checkout)!.push(perSec);
      console.error(`round ${round + 1}: ${server.checkout}: ${perSec.toFixed(0)} uploads/s`);
    }
  }
  const base = median(results.get(checkouts[0]!)!);
  console.log("| checkout | uploads/s (median) | vs first |\n| --- | ---: | ---: |");
  for (const checkout of checkouts) {
    const m = median(results.get(checkout)!);
    console.log(`| ${checkout} | ${m.toFixed(0)} | ${(m / base).toFixed(2)}× |`);
  }
} finally {
  for (const server of servers) {
    try {
      server.process.kill("SIGKILL");
    } catch { /* exited */ }
    await server.process.status;
    await Deno.remove(server.root, { recursive: true }).catch(() => {});
  }
  await Deno.remove(script).catch(() => {});
}
