/**
 * For tests of the stop and the drain: a root with a file too large to fit in the socket
 * buffers, downloads that hold a worker by not reading, and whether the port refuses.
 */

import { RawClient, requestHead } from "./raw_client.ts";
import { type TempDir, tempDir } from "./server.ts";

/** Larger than the socket buffers on both sides, so a client that does not read holds a worker. */
export const BIG_BYTES = 32 * 1024 * 1024;

/** A scratch root with index.html, a sparse 32 MiB big.png and an empty uploads/. */
export async function bigRoot(): Promise<TempDir> {
  const dir = await tempDir();
  await Deno.mkdir(`${dir.path}/uploads`);
  await Deno.copyFile("resources/index.html", `${dir.path}/index.html`);
  const file = await Deno.open(`${dir.path}/big.png`, { write: true, create: true });
  await file.truncate(BIG_BYTES);
  file.close();
  return dir;
}

/** A connection that asks for big.png and does not read: it holds a worker. */
export async function stalledDownload(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port);
  await client.send(requestHead(port, "/big.png"));
  return client;
}

/** True when a new connection to `port` is refused (the listener is closed). */
export async function refused(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.ConnectionRefused;
  }
}
