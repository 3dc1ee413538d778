/**
 * What counting and forwarded addresses cost per exchange: `deno bench bench/metrics_bench.ts`.
 * `ServerMetrics.record()` runs for every exchange with `--metrics`; `forwardedFor()` for every
 * request from a `--trust-proxy` peer; a scrape renders the whole exposition.
 */

import { FieldList } from "../src/http/fields.ts";
import { AddressRanges, forwardedFor } from "../src/http/forwarded.ts";
import { type RequestHead, RequestParser } from "../src/http/parser.ts";
import { uploadResults } from "../src/handlers/upload.ts";
import type { AccessRecord } from "../src/server/access_log.ts";
import { ServerMetrics } from "../src/server/metrics.ts";

function head(method: string): RequestHead {
  const parser = new RequestParser({ maxHeadBytes: 8192, maxHeaderCount: 100, maxBodyBytes: 0 });
  parser.feed(new TextEncoder().encode(`${method} /index.html HTTP/1.1\r\nHost: a\r\n\r\n`));
  const event = parser.next();
  if (event.kind !== "head") throw new Error("no head");
  return event.head;
}

const RECORDS: AccessRecord[] = [
  ["GET", 200, 0.3],
  ["GET", 200, 0.4],
  ["HEAD", 304, 0.2],
  ["POST", 201, 4],
  ["GET", 404, 0.6],
].map(([method, status, durationMs]) => ({
  timeMs: 0,
  conn: 1,
  client: "127.0.0.1",
  request: head(method as string),
  hostNote: "",
  status: status as number,
  bytes: 2064,
  durationMs: durationMs as number,
  worker: 1,
  queuedMs: 0,
  fate: "keep-alive",
  note: undefined,
}));

const metrics = new ServerMetrics();
let i = 0;

Deno.bench("ServerMetrics.record(): one exchange", { group: "record", baseline: true }, () => {
  metrics.record(RECORDS[i++ % RECORDS.length] as AccessRecord);
});

Deno.bench("ServerMetrics.render(): a whole scrape", { group: "render" }, () => {
  metrics.render({
    connectionsOpen: 50,
    poolBusy: 10,
    poolSize: 10,
    queueLength: 40,
    cacheHits: 1_000_000,
    cacheMisses: 10,
    uploads: uploadResults(),
    residentBytes: 50_000_000,
    startTimeSeconds: 1_796_000_000,
  });
});

const PROXIES = AddressRanges.parse(["10.0.0.0/8", "127.0.0.1"]);
const XFF = new FieldList();
XFF.add("host", "a");
XFF.add("x-forwarded-for", "198.51.100.7, 10.0.0.2");
const FORWARDED = new FieldList();
FORWARDED.add("host", "a");
FORWARDED.add("forwarded", 'for="[2001:db8:cafe::17]:4711";proto=https, for=10.0.0.2');

Deno.bench("forwardedFor(): X-Forwarded-For, two entries", { group: "forwarded" }, () => {
  forwardedFor(XFF, PROXIES);
});

Deno.bench("forwardedFor(): Forwarded, two elements", { group: "forwarded" }, () => {
  forwardedFor(FORWARDED, PROXIES);
});
