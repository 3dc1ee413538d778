/**
 * A bounded fuzz run against the live server: thousands of random and mutated requests, each
 * on its own connection. Every byte the server sends back must be a sequence of well-formed
 * HTTP/1.1 responses (or nothing: a close), and afterwards the server still serves normally.
 *
 * Deterministic: fixed seeds; a failure names the case, its seed and the exact input.
 */

import assert from "node:assert/strict";
import { bytes, exchange } from "../helpers/raw_client.ts";
import { tempRoot, withServer } from "../helpers/server.ts";

const CASES = 5000;
const CONCURRENCY = 16;
const PER_CASE_TIMEOUT_MS = 5000;
/** Head and body deadlines of the server under test. */
const DEADLINES = { headTimeoutMs: 2000, bodyTimeoutMs: 2000 };
/** The site's small files, so fuzzed uploads land in a scratch root. */
const ROOT_FILES = [
  "index.html",
  "about.html",
  "contact.html",
  "sample.txt",
  "notes.txt",
  "logo.png",
];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seeds(port: number): string[] {
  const host = `Host: localhost:${port}\r\n`;
  const json = '{"fuzz":[1,2,3],"ok":true}';
  return [
    `GET / HTTP/1.1\r\n${host}\r\n`,
    `HEAD /sample.txt HTTP/1.1\r\n${host}Connection: close\r\n\r\n`,
    `GET /about.html?x=1 HTTP/1.0\r\n\r\n`,
    `POST /upload HTTP/1.1\r\n${host}Content-Type: application/json\r\nContent-Length: ${json.length}\r\n\r\n${json}`,
    `POST /upload HTTP/1.1\r\n${host}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${
      json.length.toString(16)
    }\r\n${json}\r\n0\r\n\r\n`,
    `GET /logo.png HTTP/1.1\r\n${host}\r\nGET /notes.txt HTTP/1.1\r\n${host}\r\n`,
    `GET http://localhost:${port}/contact.html HTTP/1.1\r\n${host}\r\n`,
  ];
}

const ALPHABET = bytes(" \t\r\n:;,/.%0aAzZ?#\\\x00\x7f\xff-=chunked");

function mutate(input: Uint8Array, random: () => number): Uint8Array {
  const out = [...input];
  const edits = 1 + Math.floor(random() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (out.length + 1));
    const pick = ALPHABET[Math.floor(random() * ALPHABET.length)] as number;
    switch (Math.floor(random() * 4)) {
      case 0:
        out[at] = Math.floor(random() * 256);
        break;
      case 1:
        out.splice(at, 0, pick);
        break;
      case 2:
        out.splice(at, 1 + Math.floor(random() * 3));
        break;
      default:
        out.splice(at, 0, ...out.slice(at, at + Math.floor(random() * 16)));
    }
  }
  return new Uint8Array(out);
}

function randomBytes(random: () => number): Uint8Array {
  const n = Math.floor(random() * 300);
  return Uint8Array.from(
    { length: n },
    () =>
      random() < 0.5
        ? (ALPHABET[Math.floor(random() * ALPHABET.length)] as number)
        : Math.floor(random() * 256),
  );
}

/**
 * Checks `data` is zero or more complete, well-formed responses; returns their statuses.
 * `headFirst`: the first request was a HEAD, so the first final response has no body.
 */
function parseResponses(data: Uint8Array, headFirst: boolean): number[] {
  const text = new TextDecoder("latin1").decode(data);
  const statuses: number[] = [];
  let pos = 0;
  while (pos < text.length) {
    const end = text.indexOf("\r\n\r\n", pos);
    assert.ok(end >= 0, `incomplete response head at ${pos}: ${JSON.stringify(text.slice(pos))}`);
    const lines = text.slice(pos, end).split("\r\n");
    const match = /^HTTP\/1\.1 ([1-5]\d\d) [A-Za-z -]+$/.exec(lines[0] ?? "");
    assert.ok(match, `bad status line ${JSON.stringify(lines[0])}`);
    const status = Number(match[1]);
    statuses.push(status);
    const fields = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const m = /^([A-Za-z-]+): (.*)$/.exec(line);
      assert.ok(m, `bad field line ${JSON.stringify(line)}`);
      fields.set(m[1]!.toLowerCase(), m[2]!);
    }
    pos = end + 4;
    if (status === 100) continue;
    assert.ok(fields.has("date") && fields.has("server"), "Date and Server on every response");
    const length = fields.get("content-length");
    assert.ok(length !== undefined && /^\d+$/.test(length), "Content-Length on every response");
    // A HEAD that parsed gets no body; an unparseable one is answered with a body. Bodies here
    // never start with a status line, so what follows the head tells which one happened.
    const firstFinal = statuses.filter((s) => s !== 100).length === 1;
    const bodyless = headFirst && firstFinal && Number(length) > 0 &&
      (pos === text.length || text.startsWith("HTTP/1.1 ", pos));
    if (!bodyless) pos += Number(length);
    assert.ok(pos <= text.length, "body shorter than Content-Length");
  }
  return statuses;
}

async function runCase(port: number, input: Uint8Array): Promise<number[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(input).catch(() => 0);
    await conn.closeWrite().catch(() => {});
    const chunks: Uint8Array[] = [];
    const deadline = Date.now() + PER_CASE_TIMEOUT_MS;
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      assert.ok(Date.now() < deadline, "server neither answered nor closed in time");
      let n: number | null;
      try {
        n = await conn.read(buffer);
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionReset) break;
        throw error;
      }
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
    const all = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
    let offset = 0;
    for (const c of chunks) {
      all.set(c, offset);
      offset += c.length;
    }
    const headFirst = /^(\r\n)*HEAD /.test(new TextDecoder("latin1").decode(input));
    return parseResponses(all, headFirst);
  } finally {
    conn.close();
  }
}

Deno.test({
  name: "server survives a bounded fuzz run of random and mutated requests",
  // Each case closes its connection before the next; the server's own async reads on closed
  // sockets may still be settling when the test ends, which is not a leak of the test's.
  sanitizeOps: false,
  async fn() {
    await using root = await tempRoot({ files: ROOT_FILES });
    await withServer({ root: root.path, ...DEADLINES }, async (server) => {
      const seed = 20261125;
      const random = mulberry32(seed);
      const corpus = seeds(server.port).map(bytes);
      const inputs = Array.from(
        { length: CASES },
        (_, i) =>
          i % 5 === 0
            ? randomBytes(random)
            : mutate(corpus[Math.floor(random() * corpus.length)]!, random),
      );
      const seen = new Map<number, number>();
      for (let i = 0; i < inputs.length; i += CONCURRENCY) {
        const batch = inputs.slice(i, i + CONCURRENCY);
        const results = await Promise.all(batch.map(async (input, j) => {
          try {
            return await runCase(server.port, input);
          } catch (error) {
            throw new Error(
              `case ${i + j} (seed ${seed}) input ${
                JSON.stringify(new TextDecoder("latin1").decode(input))
              }: ${(error as Error).message}`,
            );
          }
        }));
        for (const statuses of results) {
          for (const s of statuses) seen.set(s, (seen.get(s) ?? 0) + 1);
        }
      }
      // The run must have exercised both acceptance and refusal.
      assert.ok((seen.get(200) ?? 0) > 0, `no 200 among ${[...seen.keys()]}`);
      assert.ok((seen.get(400) ?? 0) > 0, `no 400 among ${[...seen.keys()]}`);
      const after = await exchange(
        server.port,
        `GET / HTTP/1.1\r\nHost: localhost:${server.port}\r\n\r\n`,
      );
      assert.equal(after.status, 200);
    });
  },
});
