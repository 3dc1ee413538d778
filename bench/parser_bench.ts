/**
 * Parser micro-benchmarks: `deno bench bench/parser_bench.ts`.
 * Each case parses one complete request (head, body, end) from a buffer already in memory.
 */

import { RequestParser } from "../src/http/parser.ts";

const LIMITS = { maxHeadBytes: 8192, maxHeaderCount: 100, maxBodyBytes: 8192 };
const encoder = new TextEncoder();

const SIMPLE_GET = encoder.encode("GET /index.html HTTP/1.1\r\nHost: localhost:8080\r\n\r\n");

const BROWSER_GET = encoder.encode(
  "GET /about.html?ref=home HTTP/1.1\r\n" +
    "Host: localhost:8080\r\n" +
    "Connection: keep-alive\r\n" +
    'sec-ch-ua: "Chromium";v="156", "Not)A;Brand";v="24"\r\n' +
    "sec-ch-ua-mobile: ?0\r\n" +
    'sec-ch-ua-platform: "Linux"\r\n' +
    "Upgrade-Insecure-Requests: 1\r\n" +
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36\r\n" +
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
    "Sec-Fetch-Site: same-origin\r\n" +
    "Sec-Fetch-Mode: navigate\r\n" +
    "Sec-Fetch-User: ?1\r\n" +
    "Sec-Fetch-Dest: document\r\n" +
    "Referer: http://localhost:8080/\r\n" +
    "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
    "Accept-Language: en-GB,en;q=0.9\r\n\r\n",
);

const json = JSON.stringify({ name: "sample", tags: ["a", "b", "c"], size: 1234 }).repeat(20);
const CHUNKED_UPLOAD = encoder.encode(
  "POST /upload HTTP/1.1\r\nHost: localhost:8080\r\nContent-Type: application/json\r\n" +
    "Transfer-Encoding: chunked\r\n\r\n" +
    [json.slice(0, 300), json.slice(300, 700), json.slice(700)]
      .map((part) => `${part.length.toString(16)}\r\n${part}\r\n`).join("") +
    "0\r\n\r\n",
);

function parseAll(parser: RequestParser, input: Uint8Array): number {
  parser.feed(input);
  let bodyBytes = 0;
  for (;;) {
    const event = parser.next();
    if (event.kind === "body") bodyBytes += event.data.length;
    if (event.kind === "end" || event.kind === "need-more") return bodyBytes;
  }
}

const parser = new RequestParser(LIMITS);
Deno.bench("parse simple GET", { group: "parser", baseline: true }, () => {
  parseAll(parser, SIMPLE_GET);
});
Deno.bench("parse browser GET (15 headers)", { group: "parser" }, () => {
  parseAll(parser, BROWSER_GET);
});
Deno.bench("parse chunked upload (3 chunks)", { group: "parser" }, () => {
  parseAll(parser, CHUNKED_UPLOAD);
});
