/**
 * parseAuthorization() and requestCredentials() (src/http/basic_auth.ts): RFC 7617 Basic
 * credentials as a table, and the challenge every 401 carries.
 */

import assert from "node:assert/strict";
import {
  basicAuthorization,
  type Credentials,
  parseAuthorization,
  requestCredentials,
  WWW_AUTHENTICATE,
} from "../../../src/http/basic_auth.ts";
import { FieldList } from "../../../src/http/fields.ts";

/** base64 of raw bytes (a value's bytes need not be UTF-8). */
function b64(bytes: number[] | string): string {
  const list = typeof bytes === "string" ? [...new TextEncoder().encode(bytes)] : bytes;
  return btoa(String.fromCharCode(...list));
}

const basic = (user: string, password: string): Credentials => ({ kind: "basic", user, password });
const malformed = (reason: string): Credentials => ({ kind: "malformed", reason });

const CASES: ReadonlyArray<{ name: string; value: string; want: Credentials }> = [
  { name: "plain", value: `Basic ${b64("alice:s3cret")}`, want: basic("alice", "s3cret") },
  // RFC 7617 §2's own example.
  {
    name: "RFC 7617 example",
    value: "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
    want: basic("Aladdin", "open sesame"),
  },
  { name: "scheme lower-case", value: `basic ${b64("a:b")}`, want: basic("a", "b") },
  { name: "scheme upper-case", value: `BASIC ${b64("a:b")}`, want: basic("a", "b") },
  { name: "scheme mixed case", value: `bAsIc ${b64("a:b")}`, want: basic("a", "b") },
  {
    name: "several spaces after the scheme",
    value: `Basic   ${b64("a:b")}`,
    want: basic("a", "b"),
  },
  { name: "padding ==", value: "Basic YTpi", want: basic("a", "b") },
  { name: "padding = (with)", value: "Basic YWI6Y2Q=", want: basic("ab", "cd") },
  { name: "padding = (without)", value: "Basic YWI6Y2Q", want: basic("ab", "cd") },
  { name: "padding == (with)", value: "Basic YTpiYw==", want: basic("a", "bc") },
  { name: "padding == (without)", value: "Basic YTpiYw", want: basic("a", "bc") },
  { name: "colon in the password", value: `Basic ${b64("a:b:c::")}`, want: basic("a", "b:c::") },
  { name: "empty password", value: `Basic ${b64("alice:")}`, want: basic("alice", "") },
  { name: "empty user", value: `Basic ${b64(":pw")}`, want: basic("", "pw") },
  {
    name: "UTF-8 user and password",
    value: `Basic ${b64("jürgen:pässwörd✓")}`,
    want: basic("jürgen", "pässwörd✓"),
  },
  { name: "spaces in the password", value: `Basic ${b64("a: b c ")}`, want: basic("a", " b c ") },
  { name: "no colon", value: `Basic ${b64("alice")}`, want: malformed("no colon") },
  { name: "Basic alone", value: "Basic", want: malformed("Basic without credentials") },
  { name: "Basic and a space", value: "Basic ", want: malformed("Basic without credentials") },
  { name: "other scheme", value: "Bearer abc.def", want: malformed("not Basic") },
  { name: "Digest", value: 'Digest username="a", realm="r"', want: malformed("not Basic") },
  { name: "scheme prefix only", value: `Basicx ${b64("a:b")}`, want: malformed("not Basic") },
  { name: "tab after the scheme", value: `Basic\t${b64("a:b")}`, want: malformed("not Basic") },
  { name: "bad base64 character", value: "Basic YT!6Yg==", want: malformed("not base64") },
  { name: "base64url alphabet", value: "Basic YT-_Yg", want: malformed("not base64") },
  { name: "bad length", value: "Basic YTpiY", want: malformed("not base64") },
  { name: "misplaced padding", value: "Basic YT=pYg==", want: malformed("not base64") },
  { name: "one = after two", value: "Basic YTpiYw=", want: malformed("not base64") },
  { name: "space inside", value: "Basic YTpi Yw==", want: malformed("not base64") },
  { name: "auth-params instead of token68", value: "Basic realm=x", want: malformed("not base64") },
  {
    name: "not UTF-8 (latin-1 é)",
    value: `Basic ${b64([0x61, 0x3a, 0xe9])}`,
    want: malformed("not UTF-8"),
  },
  {
    name: "not UTF-8 (lone continuation)",
    value: `Basic ${b64([0x80, 0x3a, 0x61])}`,
    want: malformed("not UTF-8"),
  },
  {
    name: "not UTF-8 (overlong /)",
    value: `Basic ${b64([0x61, 0x3a, 0xc0, 0xaf])}`,
    want: malformed("not UTF-8"),
  },
  {
    name: "NUL in the password",
    value: `Basic ${b64("a:b\0c")}`,
    want: malformed("control characters"),
  },
  {
    name: "LF in the user",
    value: `Basic ${b64("a\nb:c")}`,
    want: malformed("control characters"),
  },
  {
    name: "DEL in the password",
    value: `Basic ${b64("a:\x7f")}`,
    want: malformed("control characters"),
  },
];

for (const c of CASES) {
  Deno.test(`parseAuthorization() ${c.name}: ${c.want.kind}`, () => {
    assert.deepEqual(parseAuthorization(c.value), c.want);
  });
}

function fields(pairs: [string, string][]): FieldList {
  const list = new FieldList();
  for (const [name, value] of pairs) list.add(name, value);
  return list;
}

Deno.test("requestCredentials() without Authorization is none", () => {
  assert.deepEqual(requestCredentials(fields([["host", "h"]])), { kind: "none" });
});

Deno.test("requestCredentials() with two Authorization fields is malformed", () => {
  const value = `Basic ${b64("a:b")}`;
  assert.deepEqual(
    requestCredentials(fields([["authorization", value], ["authorization", value]])),
    malformed("more than one Authorization field"),
  );
});

Deno.test("requestCredentials() reads the one Authorization field", () => {
  assert.deepEqual(
    requestCredentials(fields([["host", "h"], ["authorization", `Basic ${b64("a:b")}`]])),
    basic("a", "b"),
  );
});

Deno.test("basicAuthorization() round-trips through parseAuthorization(), UTF-8 included", () => {
  for (const [user, password] of [["alice", "s3cret"], ["jürgen", "p:ä:ss"], ["b", ""]]) {
    assert.deepEqual(
      parseAuthorization(basicAuthorization(user as string, password as string)),
      basic(user as string, password as string),
    );
  }
});

Deno.test("WWW_AUTHENTICATE is RFC 7617's Basic challenge with realm and charset", () => {
  assert.deepEqual(WWW_AUTHENTICATE, [
    "WWW-Authenticate",
    'Basic realm="denohttpd", charset="UTF-8"',
  ]);
});
