/**
 * The user in the access line formats (src/server/access_log.ts): `user alice` in text,
 * `$remote_user` in combined (where nginx writes it, escaped as nginx escapes), `"user"` in
 * JSON; nothing at all for a request that did not authenticate.
 */

import assert from "node:assert/strict";
import {
  type AccessRecord,
  formatCombined,
  formatJson,
  formatText,
} from "../../../src/server/access_log.ts";
import { type RequestHead, RequestParser } from "../../../src/http/parser.ts";

function head(text: string): RequestHead {
  const parser = new RequestParser({ maxHeadBytes: 8192, maxHeaderCount: 100, maxBodyBytes: 8192 });
  parser.feed(new TextEncoder().encode(text));
  const event = parser.next();
  assert.equal(event.kind, "head");
  return (event as { kind: "head"; head: RequestHead }).head;
}

function record(user: string | undefined): AccessRecord {
  return {
    timeMs: Date.UTC(2026, 11, 1, 20, 30, 5, 123),
    conn: 3,
    client: "192.0.2.10",
    request: head("POST /upload HTTP/1.1\r\nHost: h:8080\r\nUser-Agent: curl/8.5.0\r\n\r\n"),
    hostNote: "host h:8080 accepted",
    status: 201,
    bytes: 113,
    durationMs: 1.5,
    worker: 1,
    queuedMs: 0,
    fate: "keep-alive",
    note: "saved 7 bytes as /uploads/x.json",
    user,
  };
}

const COMBINED = /^(\S+) - (.+) \[([^\]]+)\] "([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$/;

Deno.test("formatText() names the user beside the Host check", () => {
  assert.match(
    formatText(record("alice")),
    /^conn#3 POST \/upload HTTP\/1\.1 \(host h:8080 accepted, user alice\) -> 201 Created/,
  );
  assert.match(formatText(record(undefined)), /\(host h:8080 accepted\) -> 201/);
});

Deno.test("formatCombined() writes the user as nginx's $remote_user, - when none", () => {
  const line = formatCombined(record("alice"));
  const match = COMBINED.exec(line);
  assert.ok(match !== null, line);
  assert.equal(match[2], "alice");
  assert.ok(line.startsWith("192.0.2.10 - alice ["), line);
  assert.ok(formatCombined(record(undefined)).startsWith("192.0.2.10 - - ["));
  assert.ok(formatCombined(record("")).startsWith("192.0.2.10 - - ["));
});

Deno.test("formatCombined() escapes the user name as nginx does: its UTF-8 bytes, quotes", () => {
  assert.ok(formatCombined(record("jürgen")).startsWith("192.0.2.10 - j\\xC3\\xBCrgen ["));
  assert.ok(formatCombined(record('a"b\\c')).startsWith("192.0.2.10 - a\\x22b\\x5Cc ["));
  assert.ok(formatCombined(record("日")).startsWith("192.0.2.10 - \\xE6\\x97\\xA5 ["));
});

Deno.test('formatJson() has "user" after "client": the name, or null', () => {
  const entry = JSON.parse(formatJson(record("jürgen")));
  assert.equal(entry.user, "jürgen");
  assert.deepEqual(Object.keys(entry).slice(0, 3), ["time", "client", "user"]);
  assert.ok(formatJson(record("jürgen")).includes('"user":"j\\u00fcrgen"'), "ASCII only");
  assert.equal(JSON.parse(formatJson(record(undefined))).user, null);
});
