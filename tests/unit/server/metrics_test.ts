/**
 * ServerMetrics (src/server/metrics.ts) and the exposition writer (src/http/exposition.ts): what
 * `/metrics` answers is valid Prometheus text format 0.0.4 line by line (checked by the strict
 * reader in tests/helpers/exposition.ts, itself tested here on broken input), and says what
 * happened: requests by method and code, bytes, a cumulative duration histogram.
 */

import assert from "node:assert/strict";
import { KNOWN_METHODS } from "../../../src/handlers/router.ts";
import { RequestParser } from "../../../src/http/parser.ts";
import type { RequestHead } from "../../../src/http/parser.ts";
import {
  escapeHelp,
  escapeLabelValue,
  Exposition,
  formatValue,
} from "../../../src/http/exposition.ts";
import { uploadResults } from "../../../src/handlers/upload.ts";
import type { AccessRecord } from "../../../src/server/access_log.ts";
import {
  DURATION_BOUNDS,
  methodIndex,
  METRIC_METHODS,
  type MetricsSnapshot,
  ServerMetrics,
} from "../../../src/server/metrics.ts";
import { parseExposition, sampleValue } from "../../helpers/exposition.ts";

const ENCODER = new TextEncoder();

function head(method: string): RequestHead {
  const parser = new RequestParser({ maxHeadBytes: 8192, maxHeaderCount: 100, maxBodyBytes: 0 });
  parser.feed(ENCODER.encode(`${method} / HTTP/1.1\r\nHost: a\r\n\r\n`));
  const event = parser.next();
  assert.equal(event.kind, "head");
  return (event as { head: RequestHead }).head;
}

function record(
  method: string | null,
  status: number,
  options: { bytes?: number; durationMs?: number } = {},
): AccessRecord {
  return {
    timeMs: 0,
    conn: 1,
    client: "127.0.0.1",
    request: method === null ? null : head(method),
    hostNote: "",
    status,
    bytes: options.bytes ?? 0,
    durationMs: options.durationMs ?? 0,
    worker: 0,
    queuedMs: 0,
    fate: "keep-alive",
    note: undefined,
  };
}

const SNAPSHOT: MetricsSnapshot = {
  connectionsOpen: 3,
  poolBusy: 2,
  poolSize: 10,
  queueLength: 1,
  cacheHits: 40,
  cacheMisses: 2,
  uploads: { ...uploadResults(), created: 5, refused_rate: 1 },
  residentBytes: 52_428_800,
  startTimeSeconds: 1_796_000_000.25,
};

Deno.test("ServerMetrics.render() before any exchange is valid and names every family", () => {
  const families = parseExposition(new ServerMetrics().render(SNAPSHOT));
  assert.deepEqual([...families.keys()], [
    "http_requests_total",
    "http_response_bytes_total",
    "http_request_duration_seconds",
    "denohttpd_connections_open",
    "denohttpd_pool_busy",
    "denohttpd_pool_size",
    "denohttpd_queue_length",
    "denohttpd_uploads_total",
    "denohttpd_cache_hits_total",
    "denohttpd_cache_misses_total",
    "process_resident_memory_bytes",
    "process_start_time_seconds",
  ]);
  for (const family of families.values()) {
    assert.notEqual(family.help, null, `${family.name} has no HELP`);
    assert.notEqual(family.type, "untyped", `${family.name} has no TYPE`);
  }
  assert.equal(families.get("http_requests_total")?.samples.length, 0);
  assert.equal(sampleValue(families, "http_request_duration_seconds_count"), 0);
  assert.equal(sampleValue(families, "denohttpd_connections_open"), 3);
  assert.equal(sampleValue(families, "denohttpd_pool_busy"), 2);
  assert.equal(sampleValue(families, "denohttpd_pool_size"), 10);
  assert.equal(sampleValue(families, "denohttpd_queue_length"), 1);
  assert.equal(sampleValue(families, "denohttpd_cache_hits_total"), 40);
  assert.equal(sampleValue(families, "denohttpd_cache_misses_total"), 2);
  assert.equal(sampleValue(families, "process_resident_memory_bytes"), 52_428_800);
  assert.equal(sampleValue(families, "process_start_time_seconds"), 1_796_000_000.25);
  // Every upload result is there from the start, at zero where nothing happened.
  const uploads = families.get("denohttpd_uploads_total")?.samples.map((s) => [
    s.labels.result,
    s.value,
  ]);
  assert.deepEqual(uploads, [
    ["created", 5],
    ["refused_rate", 1],
    ["refused_storage", 0],
    ["invalid", 0],
    ["aborted", 0],
    ["failed", 0],
  ]);
  assert.equal(families.get("denohttpd_uploads_total")?.type, "counter");
  assert.equal(families.get("http_request_duration_seconds")?.type, "histogram");
  assert.equal(families.get("denohttpd_pool_busy")?.type, "gauge");
});

Deno.test("ServerMetrics.record() counts by method and code, bytes, and durations", () => {
  const metrics = new ServerMetrics();
  const exchanges = [
    record("GET", 200, { bytes: 2064, durationMs: 0.2 }),
    record("GET", 200, { bytes: 2064, durationMs: 0.5 }), // exactly 0.0005 s: le="0.0005"
    record("GET", 404, { bytes: 14, durationMs: 0.7 }),
    record("HEAD", 200, { durationMs: 3 }),
    record("POST", 201, { bytes: 99, durationMs: 30 }),
    record("PATCH", 405, { bytes: 23, durationMs: 0.1 }),
    record("BREW", 501, { bytes: 20, durationMs: 0.1 }), // unregistered: "other"
    record("get", 501, { bytes: 20, durationMs: 0.1 }), // methods are case-sensitive
    record(null, 400, { bytes: 16 }), // no request head: "other", duration 0
    record("GET", 0, { durationMs: 20_000 }), // the client left: 499, beyond every bound
  ];
  for (const r of exchanges) metrics.record(r);
  const families = parseExposition(metrics.render(SNAPSHOT));
  const requests = Object.fromEntries(
    (families.get("http_requests_total")?.samples ?? []).map((
      s,
    ) => [`${s.labels.method} ${s.labels.code}`, s.value]),
  );
  assert.deepEqual(requests, {
    "GET 200": 2,
    "GET 404": 1,
    "GET 499": 1,
    "HEAD 200": 1,
    "POST 201": 1,
    "PATCH 405": 1,
    "other 400": 1,
    "other 501": 2,
  });
  assert.equal(sampleValue(families, "http_response_bytes_total"), 2064 * 2 + 14 + 99 + 23 + 56);
  const bucket = (le: string) =>
    sampleValue(families, "http_request_duration_seconds_bucket", { le });
  assert.equal(bucket("0.0005"), 6); // 0.2, 0.5, 0.1 x3 ms and the refused head's 0
  assert.equal(bucket("0.001"), 7); // + 0.7 ms
  assert.equal(bucket("0.005"), 8); // + 3 ms
  assert.equal(bucket("0.05"), 9); // + 30 ms
  assert.equal(bucket("10"), 9);
  assert.equal(bucket("+Inf"), 10); // + 20 s
  assert.equal(sampleValue(families, "http_request_duration_seconds_count"), exchanges.length);
  const sum = sampleValue(families, "http_request_duration_seconds_sum") as number;
  assert.ok(Math.abs(sum - 20.0347) < 1e-9, `sum ${sum}`);
  // Every exchange is one request and one observation.
  const total = Object.values(requests).reduce((a, b) => a + b, 0);
  assert.equal(total, exchanges.length);
});

Deno.test("ServerMetrics: every method label value and every status renders valid text", () => {
  const metrics = new ServerMetrics();
  for (const method of [...METRIC_METHODS.slice(0, -1), "X-CUSTOM"]) {
    for (let status = 100; status <= 599; status += 1) metrics.record(record(method, status));
  }
  metrics.record(record("GET", 42)); // out of range: counted as 599, never lost
  const families = parseExposition(metrics.render(SNAPSHOT));
  assert.equal(families.get("http_requests_total")?.samples.length, 10 * 500);
  assert.equal(sampleValue(families, "http_requests_total", { method: "GET", code: "599" }), 2);
  assert.equal(sampleValue(families, "http_requests_total", { method: "other", code: "418" }), 1);
});

const METHOD_CASES: ReadonlyArray<[string, string]> = [
  ["GET", "GET"],
  ["HEAD", "HEAD"],
  ["POST", "POST"],
  ["PUT", "PUT"],
  ["DELETE", "DELETE"],
  ["CONNECT", "CONNECT"],
  ["OPTIONS", "OPTIONS"],
  ["TRACE", "TRACE"],
  ["PATCH", "PATCH"],
  ["get", "other"],
  ["BREW", "other"],
  ["PROPFIND", "other"],
  ["", "other"],
];

for (const [method, label] of METHOD_CASES) {
  Deno.test(`methodIndex(${JSON.stringify(method)}) is the label ${label}`, () => {
    assert.equal(METRIC_METHODS[methodIndex(method)], label);
  });
}

Deno.test("DURATION_BOUNDS ascend from 0.5 ms to 10 s", () => {
  assert.equal(DURATION_BOUNDS[0], 0.0005);
  assert.equal(DURATION_BOUNDS.at(-1), 10);
  for (let i = 1; i < DURATION_BOUNDS.length; i++) {
    assert.ok((DURATION_BOUNDS[i] as number) > (DURATION_BOUNDS[i - 1] as number));
  }
});

const VALUE_CASES: ReadonlyArray<[number, string]> = [
  [0, "0"],
  [42, "42"],
  [0.0005, "0.0005"],
  [2.5, "2.5"],
  [1e21, "1e+21"],
  [1e-7, "1e-7"],
  [-3, "-3"],
  [Infinity, "+Inf"],
  [-Infinity, "-Inf"],
  [NaN, "NaN"],
];

for (const [value, want] of VALUE_CASES) {
  Deno.test(`formatValue(${value}) is ${want}`, () => {
    assert.equal(formatValue(value), want);
    if (Number.isFinite(value)) assert.equal(Number(want), value);
  });
}

const LABEL_CASES: ReadonlyArray<[string, string]> = [
  ["plain", "plain"],
  ['say "hi"', 'say \\"hi\\"'],
  ["C:\\dir", "C:\\\\dir"],
  ["two\nlines", "two\\nlines"],
  ['\\"\n', '\\\\\\"\\n'],
  ["ünïcode ✓", "ünïcode ✓"],
];

for (const [value, want] of LABEL_CASES) {
  Deno.test(`escapeLabelValue(${JSON.stringify(value)}) round-trips through the reader`, () => {
    assert.equal(escapeLabelValue(value), want);
    const text = new Exposition().family("x", "gauge", "h").sample("x", [["l", value]], 1).text;
    assert.equal(text, `# HELP x h\n# TYPE x gauge\nx{l="${want}"} 1\n`);
    assert.equal(parseExposition(text).get("x")?.samples[0]?.labels.l, value);
  });
}

Deno.test("escapeHelp() escapes backslashes and line feeds only", () => {
  assert.equal(escapeHelp('a \\ b\nc "d"'), 'a \\\\ b\\nc "d"');
  const text = new Exposition().family("x", "counter", "a \\ b\nc").sample("x", [], 0).text;
  assert.equal(parseExposition(text).get("x")?.help, "a \\\\ b\\nc");
});

Deno.test("Exposition refuses names and label names outside the grammar", () => {
  assert.throws(() => new Exposition().family("0bad", "gauge", "h"), /invalid metric name/);
  assert.throws(() => new Exposition().family("a-b", "gauge", "h"), /invalid metric name/);
  assert.throws(() => new Exposition().sample("x", [["le-x", "1"]], 1), /invalid label name/);
});

Deno.test("Exposition.histogram() writes cumulative buckets ending in +Inf = _count", () => {
  const text = new Exposition().family("d", "histogram", "h").histogram("d", [0.1, 1], [
    2,
    0,
    3,
  ], 7.5).text;
  assert.equal(
    text,
    [
      "# HELP d h",
      "# TYPE d histogram",
      'd_bucket{le="0.1"} 2',
      'd_bucket{le="1"} 2',
      'd_bucket{le="+Inf"} 5',
      "d_sum 7.5",
      "d_count 5",
      "",
    ].join("\n"),
  );
  parseExposition(text);
});

/** The reader must refuse what a Prometheus server would, or the tests above prove nothing. */
const BROKEN: ReadonlyArray<[string, string, RegExp]> = [
  ["no final line feed", "# TYPE x gauge\nx 1", /no line feed/],
  ["a sample before its TYPE", "x 1\n# TYPE x gauge\n", /undeclared/],
  ["a bad metric name", "# TYPE x gauge\nx-y 1\n", /not a sample line/],
  ["a value that is no float", "# TYPE x gauge\nx one\n", /not a float/],
  ["an unescaped quote", '# TYPE x gauge\nx{l="a"b"} 1\n', /expected ","/],
  ["an unknown escape", '# TYPE x gauge\nx{l="a\\tb"} 1\n', /malformed labels/],
  ["a label twice", '# TYPE x gauge\nx{l="a",l="b"} 1\n', /label l twice/],
  ["a series twice", "# TYPE x gauge\nx 1\nx 2\n", /series repeated/],
  ["a negative counter", "# TYPE x counter\nx -1\n", /not negative/],
  ["TYPE twice", "# TYPE x gauge\n# TYPE x gauge\n", /TYPE again/],
  ["HELP twice", "# HELP x a\n# HELP x b\n", /second HELP/],
  ["a split family", '# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx{a="b"} 1\n', /split/],
  ["an unknown type", "# TYPE x meter\nx 1\n", /malformed TYPE/],
  ["a HELP without text", "# HELP x\n", /malformed HELP/],
  [
    "buckets not cumulative",
    '# TYPE d histogram\nd_bucket{le="1"} 3\nd_bucket{le="+Inf"} 2\nd_sum 1\nd_count 2\n',
    /not cumulative/,
  ],
  [
    "no +Inf bucket",
    '# TYPE d histogram\nd_bucket{le="1"} 3\nd_sum 1\nd_count 3\n',
    /\+Inf/,
  ],
  [
    "+Inf not equal to _count",
    '# TYPE d histogram\nd_bucket{le="+Inf"} 3\nd_sum 1\nd_count 4\n',
    /_count 4/,
  ],
  [
    "buckets out of order",
    '# TYPE d histogram\nd_bucket{le="2"} 1\nd_bucket{le="1"} 1\nd_bucket{le="+Inf"} 1\nd_sum 1\nd_count 1\n',
    /does not ascend/,
  ],
  ["a histogram without _sum", '# TYPE d histogram\nd_bucket{le="+Inf"} 0\nd_count 0\n', /_sum/],
];

for (const [name, text, error] of BROKEN) {
  Deno.test(`parseExposition() refuses ${name}`, () => {
    assert.throws(() => parseExposition(text), error);
  });
}

Deno.test("METRIC_METHODS are the router's known methods, then other; methodIndex() agrees", () => {
  assert.deepEqual(METRIC_METHODS, [...KNOWN_METHODS, "other"]);
  for (const [i, method] of METRIC_METHODS.entries()) {
    assert.equal(methodIndex(method === "other" ? "BREW" : method), i, method);
  }
});
