/**
 * `deno task bench:engine`: what the engine's own work costs per request, without sockets.
 *
 *   deno task bench:engine [--requests N] [--connections C] [--browser] [--path P] [-- server flags]
 *
 * The whole server runs as `deno task start` does (the same ServerConfig from the same command
 * line, the access log written to a file), but its listener hands out scripted connections:
 * each sends a request as soon as the previous response is written, as wrk does, until the
 * server closes it after its keep-alive limit, and C of them are open at once. Reads and writes
 * complete at once, so the CPU time measured (the process's, user + system) is the JavaScript of parsing, routing, the cache, the
 * pool, deadlines, the access line and metrics: the part a socket benchmark cannot separate
 * from the kernel's. `deno run --cpu-prof` on this script gives a profile of that part alone.
 *
 * The request is wrk's (`GET P HTTP/1.1` and Host), or with --browser the head Chromium sends
 * for a page (about 600 bytes, with Accept-Encoding and a cookie).
 */

import { setImmediate } from "node:timers";
import process from "node:process";
import { parseArgs } from "node:util";
import { median } from "./support.ts";
import { parseCli } from "../src/cli.ts";
import { flushLogging, setupLogging } from "../src/log.ts";
import { startServer } from "../src/server/listener.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    requests: { type: "string", default: "400000" },
    connections: { type: "string", default: "50" },
    browser: { type: "boolean", default: false },
    path: { type: "string", default: "/index.html" },
    rounds: { type: "string", default: "5" },
  },
  allowPositionals: true,
});
const total = Number(args.values.requests);
const concurrency = Number(args.values.connections);
const rounds = Number(args.values.rounds);

const tmp = Deno.makeTempDirSync({ prefix: "denohttpd-engine-" });
const cli = parseCli([
  "--root",
  new URL("../resources", import.meta.url).pathname,
  "--port",
  "0",
  "--access-log",
  `${tmp}/access.log`,
  "--error-log",
  `${tmp}/error.log`,
  ...args.positionals,
]);
if (cli.kind !== "run") throw new Error("bad server flags");
await setupLogging({
  level: cli.config.logLevel,
  errorLog: cli.config.errorLog,
  accessLog: cli.config.accessLog,
  accessFormat: cli.config.logFormat,
});

const encoder = new TextEncoder();
let port = 0;
function requestBytes(): Uint8Array {
  const host = `Host: 127.0.0.1:${port}\r\n`;
  if (!args.values.browser) {
    return encoder.encode(`GET ${args.values.path} HTTP/1.1\r\n${host}\r\n`);
  }
  return encoder.encode(
    `GET ${args.values.path} HTTP/1.1\r\n${host}Connection: keep-alive\r\n` +
      `sec-ch-ua: "Chromium";v="156", "Not)A;Brand";v="24"\r\nsec-ch-ua-mobile: ?0\r\n` +
      `sec-ch-ua-platform: "Linux"\r\nUpgrade-Insecure-Requests: 1\r\n` +
      `User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) ` +
      `Chrome/156.0.0.0 Safari/537.36\r\n` +
      `Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,` +
      `image/apng,*/*;q=0.8\r\nSec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\n` +
      `Sec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\n` +
      `Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n` +
      `Cookie: theme=dark; session=0123456789abcdef\r\n\r\n`,
  );
}

let answered = 0;
let bodyBytes = 0;

const pendingReads: (() => void)[] = [];
function deliverReads(): void {
  for (const deliver of pendingReads.splice(0)) deliver();
}

/** A connection that sends the next request once the previous response was written. */
class ScriptedConn {
  readonly localAddr: Deno.NetAddr;
  readonly remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 40000 };
  #request: Uint8Array;
  #closed = false;
  #onClose: () => void;
  constructor(local: Deno.NetAddr, request: Uint8Array, onClose: () => void) {
    this.localAddr = local;
    this.#request = request;
    this.#onClose = onClose;
  }
  read(into: Uint8Array): Promise<number | null> {
    if (this.#closed) return Promise.resolve(null);
    into.set(this.#request);
    // Delivered with the other reads of this turn of the event loop, as a socket's would be.
    return new Promise((resolve) => {
      pendingReads.push(() => resolve(this.#request.length));
      if (pendingReads.length === 1) setImmediate(deliverReads);
    });
  }
  write(bytes: Uint8Array): Promise<number> {
    answered++;
    bodyBytes += bytes.length;
    // Completed with the reads of the next turn, as a socket write's promise is.
    return new Promise((resolve) => {
      pendingReads.push(() => resolve(bytes.length));
      if (pendingReads.length === 1) setImmediate(deliverReads);
    });
  }
  closeWrite(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
  close(): void {
    this.#closed = true;
    this.#onClose();
  }
}

/** Hands out `concurrency` scripted connections, and a new one whenever one closes. */
class ScriptedListener {
  readonly #inner: Deno.Listener;
  #waiting: ((conn: ScriptedConn) => void) | null = null;
  #ready = concurrency;
  #open = true;
  #reject: ((error: Error) => void) | null = null;
  constructor(inner: Deno.Listener) {
    this.#inner = inner;
  }
  get addr(): Deno.Addr {
    return this.#inner.addr;
  }
  accept(): Promise<ScriptedConn> {
    if (!this.#open) return Promise.reject(new Deno.errors.BadResource("closed"));
    const make = () =>
      new ScriptedConn(this.#inner.addr as Deno.NetAddr, requestBytes(), () => {
        if (this.#waiting !== null) {
          const resolve = this.#waiting;
          this.#waiting = null;
          resolve(make());
        } else this.#ready++;
      });
    if (this.#ready > 0) {
      this.#ready--;
      return Promise.resolve(make());
    }
    return new Promise((resolve, reject) => {
      this.#waiting = resolve;
      this.#reject = reject;
    });
  }
  close(): void {
    this.#open = false;
    this.#reject?.(new Deno.errors.BadResource("closed"));
    this.#inner.close();
  }
}

let resolveDone: () => void = () => {};
let target = 0;
const server = await startServer(cli.config, {
  wrapListener: (inner) => {
    port = (inner.addr as Deno.NetAddr).port;
    return new ScriptedListener(inner) as unknown as Deno.Listener;
  },
});

// The scripted connections run as fast as the engine answers; sample until `target` answers.
const results: number[] = [];
for (let round = 0; round <= rounds; round++) {
  const start = answered;
  target = start + total;
  const t0 = process.cpuUsage();
  await new Promise<void>((resolve) => {
    resolveDone = resolve;
    const poll = () => answered >= target ? resolveDone() : setTimeout(poll, 5);
    poll();
  });
  const used = process.cpuUsage(t0);
  const us = (used.user + used.system) / (answered - start);
  if (round > 0) results.push(us); // round 0 warms up
  console.log(`${round === 0 ? "warm-up" : `round ${round}`}: ${us.toFixed(3)} µs/request`);
}
const middle = median(results);
console.log(
  `median ${middle.toFixed(3)} CPU µs/request (${
    Math.round(1e6 / middle)
  } requests/s of engine work on one core; ` +
    `${Math.round(bodyBytes / answered)} bytes written per write)`,
);
await server.stop();
await flushLogging();
Deno.removeSync(tmp, { recursive: true });
