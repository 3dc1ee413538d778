/**
 * Shared by the conditional-request and range e2e tests: requests over raw TCP to a served
 * scratch root, byte comparisons with readable failures, and the fields HEAD and GET compare.
 */

import assert from "node:assert/strict";
import {
  exchange,
  type FieldList,
  RawClient,
  type RawResponse,
  requestHead,
} from "./raw_client.ts";

export type { FieldList };

/** The server's ETag shape: `"<size hex>-<mtime ms hex>"`. */
export const ETAG = /^"[0-9a-f]+-[0-9a-f]+"$/;

/** What the helpers need of a test site: its port, and where its files are. */
export interface ServedSite {
  port: number;
  path(name: string): string;
}

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

export function request(
  port: number,
  method: string,
  target: string,
  fields: FieldList = [],
): string {
  return requestHead(port, target, { method, fields });
}

/** One request on a fresh connection; returns the first response. */
export async function send(
  port: number,
  method: string,
  target: string,
  fields: FieldList = [],
): Promise<RawResponse> {
  return await exchange(port, request(port, method, target, fields), {
    head: method === "HEAD",
    timeoutMs: 10_000,
  });
}

/**
 * Sends the request and, in the same write, a GET of page.html; returns the first response after
 * checking that the second one parses and is exact. This proves the connection stayed open and
 * that the first response carried exactly the body bytes its framing announced.
 */
export async function sendThenProbe(
  site: ServedSite,
  method: string,
  target: string,
  fields: FieldList = [],
): Promise<RawResponse> {
  const client = await RawClient.connect(site.port);
  try {
    await client.send(
      request(site.port, method, target, fields) + request(site.port, "GET", "/page.html"),
    );
    const first = await client.response({ head: method === "HEAD", timeoutMs: 10_000 });
    assert.notEqual(
      first.header("connection")?.toLowerCase(),
      "close",
      `${method} ${target}: the connection is closed after ${first.status}`,
    );
    const probe = await client.response({ timeoutMs: 10_000 });
    assert.equal(probe.status, 200, `probe after ${first.status}: ${probe.status}`);
    assertBytes(probe.body, await Deno.readFile(site.path("page.html")), "probe body");
    assert.equal(client.pending, 0, "stray bytes after the probe response");
    return first;
  } finally {
    client.close();
  }
}

/** Index of the first differing byte, or -1 when equal (a readable failure for large files). */
export function firstMismatch(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

export function assertBytes(actual: Uint8Array, expected: Uint8Array, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  assert.equal(firstMismatch(actual, expected), -1, `${label}: bytes differ`);
}

/** A response as text for failure messages (long bodies by length only). */
export function describe(res: RawResponse): string {
  const head = res.fields.map(([n, v]) => `${n}: ${v}`).join("\n");
  const body = res.body.length <= 200 ? JSON.stringify(res.text()) : `${res.body.length} bytes`;
  return `${res.version} ${res.status} ${res.reason}\n${head}\n\n${body}`;
}

/** The Last-Modified value a file should get: its mtime in whole seconds, IMF-fixdate. */
export async function lastModifiedOf(path: string): Promise<string> {
  const info = await Deno.stat(path);
  return new Date(Math.floor(info.mtime!.getTime() / 1000) * 1000).toUTCString();
}

/** The file's current ETag, from a HEAD. */
export async function currentEtag(site: ServedSite, name: string): Promise<string> {
  const res = await send(site.port, "HEAD", `/${name}`);
  const etag = res.header("etag");
  assert.ok(etag !== null && ETAG.test(etag), `ETag of /${name} is ${etag}`);
  return etag;
}

/** Fields compared between HEAD and GET: all but Date. */
export function comparable(res: RawResponse): string[] {
  return res.fields.filter(([n]) => n !== "date").map(([n, v]) => `${n}: ${v}`).sort();
}

/** The type fields a file gets: HTML inline, the rest as a download. */
export function typeFields(name: string): { type: string; disposition: string | null } {
  return name.endsWith(".html")
    ? { type: "text/html; charset=utf-8", disposition: null }
    : { type: "application/octet-stream", disposition: `attachment; filename="${name}"` };
}

/** A 200 with the whole file: its bytes, type fields, validators and Accept-Ranges. */
export async function assertWhole(
  site: ServedSite,
  res: RawResponse,
  name: string,
  label: string,
): Promise<void> {
  const file = await Deno.readFile(site.path(name));
  assert.equal(res.status, 200, `${label}: expected 200\n${describe(res)}`);
  assert.equal(res.header("content-range"), null, `${label}: Content-Range on a 200`);
  assert.equal(res.header("content-length"), String(file.length), `${label}: Content-Length`);
  assertBytes(res.body, file, label);
  const { type, disposition } = typeFields(name);
  assert.equal(res.header("content-type"), type, `${label}: Content-Type`);
  assert.equal(res.header("content-disposition"), disposition, `${label}: Content-Disposition`);
  assert.equal(res.header("accept-ranges"), "bytes", `${label}: Accept-Ranges`);
  assert.match(res.header("etag") ?? "", ETAG, `${label}: ETag`);
  assert.equal(res.header("last-modified"), await lastModifiedOf(site.path(name)), label);
}

/**
 * GET and HEAD of `target` with `fields` both answer `status`, with the same reason and fields
 * (Date aside), and HEAD's response has no body (a pipelined probe still parses after it).
 */
export async function assertHeadLikeGet(
  site: ServedSite,
  target: string,
  label: string,
  fields: FieldList,
  status: number,
): Promise<void> {
  const get = await send(site.port, "GET", target, fields);
  assert.equal(get.status, status, `GET ${label}\n${describe(get)}`);
  const head = await sendThenProbe(site, "HEAD", target, fields);
  assert.equal(head.status, status, `HEAD ${label}\n${describe(head)}`);
  assert.equal(head.reason, get.reason);
  assert.deepEqual(comparable(head), comparable(get), "HEAD fields differ from GET's");
}
