/**
 * Lingering close: when the server ends a connection that still has unread input (here, 4900
 * pipelined requests past the 100-request limit), the last response must arrive whole. A
 * close() with unread input makes the kernel send a reset, which destroys response bytes not
 * yet acknowledged; the server half-closes and drains instead (as nginx's lingering close).
 */

import assert from "node:assert/strict";
import { bytes, requestHead } from "../helpers/raw_client.ts";
import { RESOURCES, withServer } from "../helpers/server.ts";

const FILE = "gallery.jpg";
const PIPELINED = 5000;
/** The client reads at about this rate, so the server's send buffer is full when it closes. */
const READ_BYTES_PER_SECOND = 100 * 1000 * 1000;

interface Received {
  statuses: number[];
  /** The body of the last response, as far as it arrived. */
  lastBody: Uint8Array;
  lastLength: number;
  lastConnection: string | null;
  reset: boolean;
}

/** Reads responses off `conn` at a bounded rate until EOF or reset; keeps the last body. */
async function readThrottled(conn: Deno.TcpConn): Promise<Received> {
  const chunk = new Uint8Array(64 * 1024);
  const started = performance.now();
  let total = 0;
  let pending = new Uint8Array(0);
  const out: Received = {
    statuses: [],
    lastBody: new Uint8Array(0),
    lastLength: 0,
    lastConnection: null,
    reset: false,
  };
  let bodyLeft = 0;
  let body: Uint8Array | null = null;
  let bodyAt = 0;
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(chunk);
    } catch (error) {
      if (!(error instanceof Deno.errors.ConnectionReset)) throw error;
      out.reset = true;
      break;
    }
    if (n === null) break;
    total += n;
    let data = chunk.subarray(0, n);
    while (data.length > 0) {
      if (bodyLeft > 0 && body !== null) {
        const take = Math.min(bodyLeft, data.length);
        body.set(data.subarray(0, take), bodyAt);
        bodyAt += take;
        bodyLeft -= take;
        data = data.subarray(take);
        out.lastBody = body.subarray(0, bodyAt);
        continue;
      }
      const joined = new Uint8Array(pending.length + data.length);
      joined.set(pending);
      joined.set(data, pending.length);
      const text = new TextDecoder("latin1").decode(joined);
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) {
        pending = joined;
        break;
      }
      const head = text.slice(0, end);
      out.statuses.push(Number(head.slice(9, 12)));
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
      out.lastConnection = /\r\nconnection: ([^\r]*)/i.exec(head)?.[1] ?? null;
      out.lastLength = length;
      body = new Uint8Array(length);
      bodyAt = 0;
      bodyLeft = length;
      out.lastBody = body.subarray(0, 0);
      pending = new Uint8Array(0);
      data = joined.subarray(end + 4);
    }
    const due = (total / READ_BYTES_PER_SECOND) * 1000 - (performance.now() - started);
    if (due > 1) await new Promise((resolve) => setTimeout(resolve, due));
  }
  return out;
}

Deno.test("lingering close: 5000 pipelined requests, read at 100 MB/s: the 100th response arrives whole", async () => {
  const expected = await Deno.readFile(`${RESOURCES}/${FILE}`);
  await withServer({}, async (server) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    try {
      const one = requestHead(server.port, `/${FILE}`);
      const input = bytes(one.repeat(PIPELINED));
      assert.ok(input.length > 64 * 1024, "more unread input than a drain of 64 KiB takes");
      // Written alongside the reading; the server stops reading at the 100th request.
      const writing = (async () => {
        let offset = 0;
        try {
          while (offset < input.length) offset += await conn.write(input.subarray(offset));
        } catch {
          // The server has closed its side; what was not taken is simply not sent.
        }
      })();
      const got = await readThrottled(conn);
      await writing;
      assert.equal(got.statuses.length, 100, `${got.statuses.length} responses`);
      assert.ok(got.statuses.every((s) => s === 200));
      assert.equal(got.lastConnection, "close");
      assert.equal(got.reset, false, "the connection was reset");
      assert.equal(
        got.lastBody.length,
        expected.length,
        `the 100th response lost ${expected.length - got.lastBody.length} bytes`,
      );
      assert.deepEqual(got.lastBody, expected);
    } finally {
      try {
        conn.close();
      } catch {
        // closed
      }
    }
  });
});
