/**
 * The access line formats (src/server/access_log.ts): text, nginx's combined, and JSON. Every
 * line is one line whatever the client sent: CR, LF, quotes, backslashes and bytes that are not
 * UTF-8 in the target, Referer or User-Agent are escaped, never written raw.
 */

import assert from "node:assert/strict";
import {
  type AccessRecord,
  escapeCombined,
  formatCombined,
  formatJson,
  formatText,
  timeLocal,
} from "../../../src/server/access_log.ts";
import { type RequestHead, RequestParser } from "../../../src/http/parser.ts";

const LIMITS = { maxHeadBytes: 8192, maxHeaderCount: 100, maxBodyBytes: 8192 };

/** The head the real parser makes of `text` (header values arrive as ISO-8859-1). */
function head(text: string | Uint8Array): RequestHead {
  const parser = new RequestParser(LIMITS);
  parser.feed(typeof text === "string" ? new TextEncoder().encode(text) : text);
  const event = parser.next();
  assert.equal(event.kind, "head");
  return (event as { kind: "head"; head: RequestHead }).head;
}

function record(overrides: Partial<AccessRecord> = {}): AccessRecord {
  return {
    timeMs: Date.UTC(2026, 11, 1, 20, 30, 5, 123),
    conn: 7,
    client: "192.0.2.10",
    request: head(
      "GET /index.html?q=1 HTTP/1.1\r\nHost: example.test:8080\r\nReferer: http://a.test/\r\n" +
        "User-Agent: curl/8.5.0\r\n\r\n",
    ),
    hostNote: "host example.test:8080 accepted",
    status: 200,
    bytes: 2064,
    durationMs: 0.4567,
    worker: 3,
    queuedMs: 0,
    fate: "keep-alive",
    note: undefined,
    ...overrides,
  };
}

// The tests run in UTC (TZ is not set), like a server whose clock is UTC.
const UTC = new Date().getTimezoneOffset() === 0;

Deno.test({
  name: "formatCombined() writes nginx's combined line exactly",
  ignore: !UTC,
  fn() {
    assert.equal(
      formatCombined(record()),
      '192.0.2.10 - - [01/Dec/2026:20:30:05 +0000] "GET /index.html?q=1 HTTP/1.1" 200 2064 ' +
        '"http://a.test/" "curl/8.5.0"',
    );
  },
});

Deno.test("formatCombined() writes - for an absent Referer or User-Agent, and for no request", () => {
  const bare = record({ request: head("GET / HTTP/1.0\r\n\r\n") });
  assert.match(formatCombined(bare), /"GET \/ HTTP\/1\.0" 200 2064 "-" "-"$/);
  const none = record({ request: null, status: 400, bytes: 16 });
  assert.match(formatCombined(none), /\] "-" 400 16 "-" "-"$/);
});

Deno.test("formatCombined() and formatJson() log a request with no response as 499", () => {
  const cut = record({ status: 0, bytes: 0, fate: "aborted: closed by peer mid-body" });
  assert.match(formatCombined(cut), /" 499 0 "/);
  assert.equal(JSON.parse(formatJson(cut)).status, 499);
});

const HOSTILE: [string, string, string][] = [
  ["a double quote", 'ev"il', "ev\\x22il"],
  ["a backslash", "back\\slash", "back\\x5Cslash"],
  ["a tab", "a\tb", "a\\x09b"],
  ["obs-text (not UTF-8)", "caf\xe9 \xff", "caf\\xE9 \\xFF"],
  ["a forged line end (as a string)", "x\r\n1.2.3.4 - - fake", "x\\x0D\\x0A1.2.3.4 - - fake"],
  ["DEL", "a\x7fb", "a\\x7Fb"],
];

for (const [what, raw, escaped] of HOSTILE) {
  Deno.test(`escapeCombined() escapes ${what}`, () => {
    assert.equal(escapeCombined(raw), escaped);
  });
}

Deno.test("formatCombined() keeps a hostile User-Agent and Referer inside their quotes", () => {
  // Bytes as they come off the wire: quotes, backslashes, obs-text 0xE9 and 0xFF.
  const wire = new Uint8Array([
    ...new TextEncoder().encode(
      'GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: x" 200 0 "-" "y\\z ',
    ),
    0xe9,
    0xff,
    ...new TextEncoder().encode('\r\nReferer: "\\\r\n\r\n'),
  ]);
  const line = formatCombined(record({ request: head(wire) }));
  assert.ok(!line.includes("\n") && !line.includes("\r"));
  const match = /^(\S+) - - \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$/.exec(line);
  assert.ok(match !== null, line);
  assert.equal(match[6], "\\x22\\x5C");
  assert.equal(match[7], "x\\x22 200 0 \\x22-\\x22 \\x22y\\x5Cz \\xE9\\xFF");
});

Deno.test("formatJson() writes the stable field names, one ASCII line", () => {
  const line = formatJson(record({ queuedMs: 12 }));
  assert.deepEqual(JSON.parse(line), {
    time: "2026-12-01T20:30:05.123Z",
    client: "192.0.2.10",
    user: null,
    method: "GET",
    target: "/index.html?q=1",
    version: "HTTP/1.1",
    status: 200,
    bytes: 2064,
    duration_ms: 0.457,
    referer: "http://a.test/",
    user_agent: "curl/8.5.0",
    host: "example.test:8080",
    conn: 7,
    worker: 3,
    queued_ms: 12,
    fate: "keep-alive",
  });
});

Deno.test("formatJson() escapes control characters and non-ASCII; the value survives a parse", () => {
  const wire = new Uint8Array([
    ...new TextEncoder().encode('GET /a HTTP/1.1\r\nHost: h\r\nUser-Agent: q"\\\t'),
    0xe9,
    0xff,
    ...new TextEncoder().encode("\r\n\r\n"),
  ]);
  const line = formatJson(record({ request: head(wire) }));
  assert.match(line, /^[\x20-\x7e]+$/, "a JSON line is printable ASCII");
  assert.equal(JSON.parse(line).user_agent, 'q"\\\t\u00e9\u00ff');
  const none = JSON.parse(formatJson(record({ request: null })));
  assert.equal(none.method, null);
  assert.equal(none.target, null);
});

Deno.test("formatText() keeps the existing line and adds the duration", () => {
  assert.equal(
    formatText(record({ queuedMs: 3, note: "saved 5 bytes as /uploads/x.json" })),
    "conn#7 GET /index.html?q=1 HTTP/1.1 (host example.test:8080 accepted) -> 200 OK, " +
      "2064 body bytes, keep-alive, 0.46 ms; queued 3 ms for worker #3 " +
      "(saved 5 bytes as /uploads/x.json)",
  );
  assert.equal(
    formatText(record({ request: null, status: 400, bytes: 16, fate: "close", durationMs: 0 })),
    "conn#7 no complete request head (host not checked) -> 400 Bad Request, 16 body bytes, " +
      "close, 0.00 ms",
  );
});

Deno.test({
  name: "timeLocal() is nginx's $time_local",
  ignore: !UTC,
  fn() {
    assert.equal(timeLocal(Date.UTC(2026, 0, 2, 3, 4, 5)), "02/Jan/2026:03:04:05 +0000");
    assert.equal(timeLocal(Date.UTC(2026, 11, 31, 23, 59, 59, 999)), "31/Dec/2026:23:59:59 +0000");
  },
});
