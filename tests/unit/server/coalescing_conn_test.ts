/**
 * CoalescingConn (src/server/coalescing_conn.ts) over a scripted connection: small writes are
 * held (copied) and sent as one before the next read, closeWrite or close; large ones go
 * straight through after what is held; order is kept; a failed held write surfaces next time.
 */

import assert from "node:assert/strict";
import { CoalescingConn } from "../../../src/server/coalescing_conn.ts";

/** Records every call; writes succeed whole unless `failWrites`. */
class ScriptedConn {
  calls: string[] = [];
  written: Uint8Array[] = [];
  failWrites = false;
  readonly localAddr = { transport: "tcp", hostname: "127.0.0.1", port: 1 } as Deno.NetAddr;
  readonly remoteAddr = { transport: "tcp", hostname: "127.0.0.1", port: 2 } as Deno.NetAddr;

  write(p: Uint8Array): Promise<number> {
    this.calls.push(`write ${p.length}`);
    if (this.failWrites) return Promise.reject(new Deno.errors.BrokenPipe("gone"));
    this.written.push(p.slice());
    return Promise.resolve(p.length);
  }
  read(_p: Uint8Array): Promise<number | null> {
    this.calls.push("read");
    return Promise.resolve(null);
  }
  closeWrite(): Promise<void> {
    this.calls.push("closeWrite");
    return Promise.resolve();
  }
  close(): void {
    this.calls.push("close");
  }
  handshake(): Promise<Deno.TlsHandshakeInfo> {
    return Promise.resolve({ alpnProtocol: "http/1.1" });
  }
  ref(): void {}
  unref(): void {}
}

function coalescing(): { inner: ScriptedConn; conn: CoalescingConn } {
  const inner = new ScriptedConn();
  return { inner, conn: new CoalescingConn(inner as unknown as Deno.TlsConn) };
}

const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

Deno.test("CoalescingConn holds small writes and sends them as one before a read", async () => {
  const { inner, conn } = coalescing();
  for (let i = 0; i < 5; i++) assert.equal(await conn.write(bytes(1000, i)), 1000);
  assert.deepEqual(inner.calls, []);
  await conn.read(new Uint8Array(10));
  assert.deepEqual(inner.calls, ["write 5000", "read"]);
  assert.deepEqual([...inner.written[0]!.subarray(999, 1001)], [0, 1]);
});

Deno.test("CoalescingConn copies what it holds: the caller may reuse its buffer", async () => {
  const { inner, conn } = coalescing();
  const buffer = bytes(100, 7);
  await conn.write(buffer);
  buffer.fill(9);
  await conn.read(new Uint8Array(1));
  assert.deepEqual(inner.written[0], bytes(100, 7));
});

Deno.test("CoalescingConn sends what it holds, then a large write straight through", async () => {
  const { inner, conn } = coalescing();
  await conn.write(bytes(300));
  assert.equal(await conn.write(bytes(1 << 20)), 1 << 20);
  assert.deepEqual(inner.calls, ["write 300", `write ${1 << 20}`]);
});

Deno.test("CoalescingConn sends what it holds before closeWrite and before close", async () => {
  const first = coalescing();
  await first.conn.write(bytes(10));
  await first.conn.closeWrite();
  assert.deepEqual(first.inner.calls, ["write 10", "closeWrite"]);
  const second = coalescing();
  await second.conn.write(bytes(20));
  second.conn.close();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(second.inner.calls, ["write 20", "close"]);
});

Deno.test("CoalescingConn closes at once when nothing is held", () => {
  const { inner, conn } = coalescing();
  conn.close();
  assert.deepEqual(inner.calls, ["close"]);
});

Deno.test("CoalescingConn throws a held write's failure at the next read and write", async () => {
  const { inner, conn } = coalescing();
  inner.failWrites = true;
  await conn.write(bytes(10));
  await assert.rejects(conn.read(new Uint8Array(1)), Deno.errors.BrokenPipe);
  await assert.rejects(conn.write(bytes(1)), Deno.errors.BrokenPipe);
});
