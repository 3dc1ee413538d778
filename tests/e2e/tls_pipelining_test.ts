/**
 * Pipelined responses over TLS are not held back by Nagle's algorithm: Deno's TLS connections
 * cannot set TCP_NODELAY, so without coalescing (src/server/coalescing_conn.ts) the second of
 * ten pipelined responses waited for the client's delayed acknowledgement, about 40 ms a batch
 * on Linux. The first batch of a connection is left out: its response follows the session
 * tickets the handshake ends with, which no server-side write order can help (README "HTTPS").
 */

import assert from "node:assert/strict";
import { RawClient, requestHead } from "../helpers/raw_client.ts";
import { tempRoot, withServer } from "../helpers/server.ts";
import { IGNORE_WITHOUT_TLS_TOOLS, tlsClient, tlsServer } from "../helpers/tls_certs.ts";

Deno.test({
  name: "HTTPS: batches of ten pipelined requests are answered without a delayed-ACK stall",
  ignore: IGNORE_WITHOUT_TLS_TOOLS,
  async fn() {
    await using root = await tempRoot({ files: ["notes.txt"] });
    await withServer({ root: root.path, ...await tlsServer() }, async (server) => {
      using client = await RawClient.connect(server.port, await tlsClient());
      const batch = Array.from({ length: 10 }, () => requestHead(server.port, "/notes.txt"))
        .join("");
      const times: number[] = [];
      for (let round = 0; round < 9; round++) {
        const started = performance.now();
        await client.send(batch);
        for (let i = 0; i < 10; i++) assert.equal((await client.response()).status, 200);
        times.push(performance.now() - started);
      }
      const later = times.slice(1).sort((a, b) => a - b);
      const median = later[later.length >> 1]!;
      assert.ok(
        median < 20,
        `median batch ${median.toFixed(1)} ms: ${times.map((t) => t.toFixed(1))}`,
      );
    });
  },
});
