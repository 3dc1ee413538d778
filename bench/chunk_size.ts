/**
 * Download throughput by file chunk size: how `fileChunkBytes` was chosen.
 *
 * Serves a 200 MB file from a scratch root with several chunk sizes and downloads it with curl,
 * interleaving sizes over rounds; prints the median of each relative to the best.
 * Run: deno run --allow-all bench/chunk_size.ts  (needs curl; writes /tmp/denohttpd-chunk-bench)
 */

import { DEFAULT_CONFIG } from "../src/config.ts";
import { startServer } from "../src/server/listener.ts";

const SIZES = [64 * 1024, 256 * 1024, 1 << 20, 4 << 20];
const ROUNDS = 5;
const FILE_BYTES = 200 * 1024 * 1024;
const root = "/tmp/denohttpd-chunk-bench";

await Deno.mkdir(`${root}/uploads`, { recursive: true });
const big = `${root}/big.txt`;
if ((await Deno.stat(big).catch(() => null))?.size !== FILE_BYTES) {
  const file = await Deno.open(big, { write: true, create: true, truncate: true });
  const block = crypto.getRandomValues(new Uint8Array(65536));
  for (let i = 0; i < FILE_BYTES / block.length; i++) await file.write(block);
  file.close();
}

const results = new Map<number, number[]>(SIZES.map((s) => [s, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const size of SIZES) {
    const server = await startServer({
      ...DEFAULT_CONFIG,
      root,
      port: 0,
      fileChunkBytes: size,
      snapshotIntervalMs: 0,
    });
    // curl runs as its own process so the server has the event loop to itself.
    const out = await new Deno.Command("curl", {
      args: [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{speed_download}",
        `http://127.0.0.1:${server.port}/big.txt`,
      ],
    }).output();
    results.get(size)!.push(Number(new TextDecoder().decode(out.stdout)));
    await server.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const medians = SIZES.map((s) => median(results.get(s)!));
const best = Math.max(...medians);
const rows = SIZES.map((s, i) =>
  `| ${s / 1024} KiB | ${(medians[i]! / 1e9).toFixed(2)} GB/s | ${
    (medians[i]! / best).toFixed(2)
  } |`
);
const report = ["| chunk | median throughput | vs best |", "| --- | --- | --- |", ...rows];
await Deno.stdout.write(new TextEncoder().encode(report.join("\n") + "\n"));
