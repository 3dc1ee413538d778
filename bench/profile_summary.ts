/**
 * `deno run --allow-read bench/profile_summary.ts FILE.cpuprofile`: a V8 CPU profile (from
 * `deno run --cpu-prof`) as the share of busy time per part of the server, for the per-request
 * breakdown in README. Self time is attributed by source file: each of the server's modules
 * under its own name, the runtime's JavaScript and ops by what they do, the collector and
 * V8's own work as they are. Idle time is left out.
 *
 * Used with bench/engine.ts (the engine without sockets) or with the server itself under wrk.
 */

const file = Deno.args[0];
if (file === undefined) {
  console.error("usage: profile_summary.ts FILE.cpuprofile");
  Deno.exit(2);
}

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
}
const profile = JSON.parse(await Deno.readTextFile(file)) as { nodes: Node[]; samples: number[] };
const byId = new Map(profile.nodes.map((node) => [node.id, node]));

/** The part of the server (or runtime) a frame belongs to. */
function partOf(node: Node): string {
  const { functionName, url } = node.callFrame;
  if (functionName === "(idle)") return "(idle)";
  if (functionName === "(garbage collector)") return "garbage collector";
  if (functionName === "(program)" || functionName === "(root)") return "V8 and the runtime";
  if (functionName === "op_write") return "socket and log writes (kernel)";
  if (functionName === "op_read") return "socket reads (kernel)";
  if (functionName === "op_now") return "clock";
  if (functionName.startsWith("op_")) return `runtime op ${functionName}`;
  const path = url.replace(/^file:\/\//, "");
  const inProject = path.match(/\/(src\/.*|main\.ts|bench\/.*)$/);
  if (inProject !== null) return inProject[1] as string;
  if (path.includes("text_encoding")) return "text encoding (access log)";
  if (path.includes("@logtape")) return "LogTape";
  return "runtime JavaScript (promises, timers, streams)";
}

const counts = new Map<string, number>();
let busy = 0;
for (const id of profile.samples) {
  const part = partOf(byId.get(id) as Node);
  if (part === "(idle)") continue;
  busy++;
  counts.set(part, (counts.get(part) ?? 0) + 1);
}
console.log(`| part | share of busy time |\n| --- | ---: |`);
for (const [part, n] of [...counts].sort((a, b) => b[1] - a[1])) {
  if (n / busy < 0.005) continue;
  console.log(`| ${part} | ${((100 * n) / busy).toFixed(1)} % |`);
}
console.log(`\n${busy} busy samples of ${profile.samples.length}`);
