/**
 * The ceiling a Deno process can reach on bench/load.ts's small-file rows: a TCP responder that
 * parses nothing and answers every request with one fixed, precomputed HTTP/1.1 200 response.
 *
 *   deno run --allow-net --allow-read=<file> bench/bare_responder.ts <port> <file>
 *
 * The body is the bytes of <file> read once at start (bench/load.ts gives it index.html, so the
 * response is as long as the real page's), with Content-Type text/html and Content-Length. Per
 * connection: read, count the request ends ("\r\n\r\n", also across reads) in what arrived, write
 * that many copies of the response in one write, repeat until the peer closes. That is correct for
 * pipelined GETs without bodies, which is all the bench sends. No Date, no log, no routing, no
 * limits: what remains is the cost of the runtime's accept, read and write on this machine.
 */

const HOST = "127.0.0.1";
const READ_BUFFER_BYTES = 16384;
/** Batches of up to this many responses are precomputed; more are written in several writes. */
const MAX_BATCH = 64;

const [portText, file] = Deno.args;
if (portText === undefined || file === undefined) {
  console.error("usage: bare_responder.ts <port> <file>");
  Deno.exit(2);
}
const body = await Deno.readFile(file);
const head = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" +
    `Content-Length: ${body.length}\r\n\r\n`,
);
const response = new Uint8Array(head.length + body.length);
response.set(head);
response.set(body, head.length);

/** `count` copies of the response back to back, made on first use and kept. */
const batches: Uint8Array[] = [];
function batch(count: number): Uint8Array {
  let bytes = batches[count];
  if (bytes === undefined) {
    bytes = new Uint8Array(response.length * count);
    for (let i = 0; i < count; i++) bytes.set(response, i * response.length);
    batches[count] = bytes;
  }
  return bytes;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let offset = 0; offset < bytes.length;) offset += await conn.write(bytes.subarray(offset));
}

const CR = 13;
const LF = 10;

async function serve(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const buffer = new Uint8Array(READ_BUFFER_BYTES);
  // How much of "\r\n\r\n" the bytes read so far end with (0 to 3).
  let matched = 0;
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) return;
      let ends = 0;
      for (let i = 0; i < n; i++) {
        const byte = buffer[i];
        if (byte === (matched % 2 === 0 ? CR : LF)) {
          if (++matched === 4) {
            ends++;
            matched = 0;
          }
        } else {
          matched = byte === CR ? 1 : 0;
        }
      }
      while (ends > 0) {
        const count = Math.min(ends, MAX_BATCH);
        await writeAll(conn, batch(count));
        ends -= count;
      }
    }
  } catch {
    // A reset by the peer ends the connection like a close.
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

const listener = Deno.listen({ hostname: HOST, port: Number(portText) });
for await (const conn of listener) serve(conn);
