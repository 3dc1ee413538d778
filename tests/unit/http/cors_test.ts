/**
 * canonicalOrigin(), allowedOrigin(), corsFields() and preflight() (src/http/cors.ts): origin
 * matching by serialisation, the fields of actual responses and the answer to preflights.
 */

import assert from "node:assert/strict";
import {
  allowedOrigin,
  canonicalOrigin,
  CORS_ALLOWED_HEADERS,
  corsCommonFields,
  corsFields,
  corsPolicy,
  isPreflight,
  preflight,
} from "../../../src/http/cors.ts";
import { FieldList } from "../../../src/http/fields.ts";

/** A request's method and fields, names lower-cased as the parser stores them. */
function request(
  method: string,
  fields: [string, string][],
): { method: string; fields: FieldList } {
  const list = new FieldList();
  for (const [name, value] of fields) list.add(name.toLowerCase(), value);
  return { method, fields: list };
}

const CANONICAL: ReadonlyArray<{ text: string; want: string | null }> = [
  { text: "https://app.example", want: "https://app.example" },
  { text: "http://localhost:3000", want: "http://localhost:3000" },
  { text: "HTTPS://App.Example", want: "https://app.example" },
  { text: "https://app.example:443", want: "https://app.example" },
  { text: "http://app.example:80", want: "http://app.example" },
  { text: "http://app.example:443", want: "http://app.example:443" },
  { text: "https://app.example:80", want: "https://app.example:80" },
  { text: "http://localhost:03000", want: "http://localhost:3000" },
  { text: "http://192.168.1.5:8080", want: "http://192.168.1.5:8080" },
  { text: "http://[::1]:8080", want: "http://[::1]:8080" },
  { text: "http://[FE80::1]", want: "http://[fe80::1]" },
  { text: "chrome-extension://abcdefghij", want: "chrome-extension://abcdefghij" },
  { text: "null", want: "null" },
  // Not origins.
  { text: "NULL", want: null },
  { text: "https://app.example/", want: null },
  { text: "https://app.example/path", want: null },
  { text: "https://app.example?x", want: null },
  { text: "https://user@app.example", want: null },
  { text: "app.example", want: null },
  { text: "//app.example", want: null },
  { text: "https://", want: null },
  { text: "https://app.example:", want: null },
  { text: "https://app.example:65536", want: null },
  { text: "https://app.example:123456", want: null },
  { text: " https://app.example", want: null },
  { text: "https://app.example, https://b.example", want: null },
  { text: "https://app example", want: null },
  { text: "https://app.example\r\nX: y", want: null },
  { text: "1http://app.example", want: null },
  { text: "*", want: null },
  { text: "", want: null },
];

for (const { text, want } of CANONICAL) {
  Deno.test(`canonicalOrigin(${JSON.stringify(text)}) is ${JSON.stringify(want)}`, () => {
    assert.equal(canonicalOrigin(text), want);
  });
}

Deno.test("corsPolicy() of no origins is null (no CORS at all)", () => {
  assert.equal(corsPolicy([], 600), null);
});

Deno.test("corsPolicy() refuses a value that is not an origin", () => {
  assert.throws(() => corsPolicy(["https://a.example/"], 600), RangeError);
});

const MATCHES: ReadonlyArray<{ origins: string[]; origin: string; want: string | null }> = [
  { origins: ["https://app.example"], origin: "https://app.example", want: "https://app.example" },
  // Scheme and host compare case-insensitively; the origin is echoed as the browser sent it.
  // Answered in the canonical form, whatever the spelling asked.
  { origins: ["https://app.example"], origin: "HTTPS://APP.example", want: "https://app.example" },
  { origins: ["HTTPS://App.Example"], origin: "https://app.example", want: "https://app.example" },
  {
    origins: ["https://app.example:443"],
    origin: "https://app.example",
    want: "https://app.example",
  },
  { origins: ["https://app.example"], origin: "http://app.example", want: null },
  { origins: ["https://app.example"], origin: "https://app.example:8443", want: null },
  { origins: ["https://app.example"], origin: "https://sub.app.example", want: null },
  { origins: ["https://app.example"], origin: "https://app.example.evil", want: null },
  { origins: ["https://app.example"], origin: "https://evilapp.example", want: null },
  { origins: ["https://app.example"], origin: "https://app.example/", want: null },
  { origins: ["https://app.example"], origin: "null", want: null },
  { origins: ["https://app.example"], origin: "", want: null },
  {
    origins: ["http://localhost:3000"],
    origin: "http://localhost:3000",
    want: "http://localhost:3000",
  },
  { origins: ["http://localhost:3000"], origin: "http://localhost:3001", want: null },
  { origins: ["http://localhost:3000"], origin: "http://127.0.0.1:3000", want: null },
  { origins: ["*"], origin: "https://anything.example", want: "*" },
  { origins: ["*"], origin: "http://localhost:5173", want: "*" },
  // `null` (sandboxed frames, file: pages) is never matched by `*`.
  { origins: ["*"], origin: "null", want: null },
  { origins: ["*"], origin: "not an origin", want: null },
  { origins: ["null"], origin: "null", want: "null" },
  { origins: ["null"], origin: "https://app.example", want: null },
  { origins: ["*", "null"], origin: "null", want: "null" },
  // A listed origin beside `*` is answered with itself, everything else with `*`.
  {
    origins: ["*", "https://app.example"],
    origin: "https://app.example",
    want: "https://app.example",
  },
  { origins: ["*", "https://app.example"], origin: "https://b.example", want: "*" },
  {
    origins: ["https://a.example", "https://b.example"],
    origin: "https://b.example",
    want: "https://b.example",
  },
];

for (const { origins, origin, want } of MATCHES) {
  Deno.test(`allowedOrigin() for ${JSON.stringify(origin)} with --cors ${origins.join(" ")} is ${JSON.stringify(want)}`, () => {
    const policy = corsPolicy(origins, 600);
    assert.ok(policy !== null);
    assert.equal(allowedOrigin(policy, origin), want);
  });
}

const EXPOSE =
  "ETag, Location, Content-Range, Accept-Ranges, Content-Disposition, Retry-After, Allow";
/** Beside the common Vary: Origin every response carries under a policy (corsCommonFields). */
const PREFLIGHT_VARY = "Access-Control-Request-Method, Access-Control-Request-Headers";

const FIELD_CASES: ReadonlyArray<{
  name: string;
  origins: string[] | null;
  method: string;
  fields: [string, string][];
  want: [string, string][] | null;
}> = [
  {
    name: "no policy",
    origins: null,
    method: "GET",
    fields: [["Origin", "https://app.example"]],
    want: null,
  },
  { name: "no Origin", origins: ["*"], method: "GET", fields: [], want: null },
  {
    name: "an origin not listed",
    origins: ["https://app.example"],
    method: "GET",
    fields: [["Origin", "https://evil.example"]],
    want: null,
  },
  {
    name: "a listed origin",
    origins: ["https://app.example"],
    method: "GET",
    fields: [["Origin", "https://app.example"]],
    want: [
      ["Access-Control-Allow-Origin", "https://app.example"],
      ["Access-Control-Expose-Headers", EXPOSE],
    ],
  },
  {
    name: "a listed origin spelt in capitals",
    origins: ["https://app.example"],
    method: "POST",
    fields: [["Origin", "https://APP.example"]],
    want: [
      ["Access-Control-Allow-Origin", "https://app.example"],
      ["Access-Control-Expose-Headers", EXPOSE],
    ],
  },
  {
    name: "any origin",
    origins: ["*"],
    method: "GET",
    fields: [["Origin", "https://app.example"]],
    want: [["Access-Control-Allow-Origin", "*"], ["Access-Control-Expose-Headers", EXPOSE]],
  },
  {
    name: "a preflight from a listed origin",
    origins: ["https://app.example"],
    method: "OPTIONS",
    fields: [["Origin", "https://app.example"], ["Access-Control-Request-Method", "POST"]],
    want: [["Access-Control-Allow-Origin", "https://app.example"], ["Vary", PREFLIGHT_VARY]],
  },
  {
    name: "a preflight under any origin",
    origins: ["*"],
    method: "OPTIONS",
    fields: [["Origin", "https://app.example"], ["Access-Control-Request-Method", "POST"]],
    want: [["Access-Control-Allow-Origin", "*"], ["Vary", PREFLIGHT_VARY]],
  },
  {
    name: "OPTIONS without Access-Control-Request-Method is an actual request",
    origins: ["*"],
    method: "OPTIONS",
    fields: [["Origin", "https://app.example"]],
    want: [["Access-Control-Allow-Origin", "*"], ["Access-Control-Expose-Headers", EXPOSE]],
  },
];

Deno.test("corsCommonFields(): Vary: Origin on every response under a policy, nothing without", () => {
  assert.deepEqual(corsCommonFields(null), []);
  for (const origins of [["*"], ["https://app.example"], ["null"]]) {
    assert.deepEqual(corsCommonFields(corsPolicy(origins, 600)), [["Vary", "Origin"]]);
  }
});

for (const c of FIELD_CASES) {
  Deno.test(`corsFields() for ${c.name}`, () => {
    const policy = c.origins === null ? null : corsPolicy(c.origins, 600);
    const got = corsFields(policy, request(c.method, c.fields));
    assert.deepEqual(got === null ? null : got.map(([n, v]) => [n, v]), c.want);
  });
}

Deno.test("corsFields() returns the same array for repeated requests of a listed or any origin", () => {
  for (const origins of [["https://app.example"], ["*"]]) {
    const policy = corsPolicy(origins, 600);
    const req = request("GET", [["Origin", "https://app.example"]]);
    assert.equal(corsFields(policy, req), corsFields(policy, req));
  }
});

const PREFLIGHT_DETECTION: ReadonlyArray<
  { name: string; method: string; fields: [string, string][]; want: boolean }
> = [
  {
    name: "OPTIONS with Origin and a method",
    method: "OPTIONS",
    fields: [["Origin", "https://a.example"], ["Access-Control-Request-Method", "PUT"]],
    want: true,
  },
  {
    name: "OPTIONS without Origin",
    method: "OPTIONS",
    fields: [["Access-Control-Request-Method", "PUT"]],
    want: false,
  },
  {
    name: "OPTIONS without Access-Control-Request-Method",
    method: "OPTIONS",
    fields: [["Origin", "https://a.example"]],
    want: false,
  },
  {
    name: "GET with both fields",
    method: "GET",
    fields: [["Origin", "https://a.example"], ["Access-Control-Request-Method", "GET"]],
    want: false,
  },
  {
    name: "a requested method that is not a token",
    method: "OPTIONS",
    fields: [["Origin", "https://a.example"], ["Access-Control-Request-Method", "PO ST"]],
    want: false,
  },
  {
    name: "an empty requested method",
    method: "OPTIONS",
    fields: [["Origin", "https://a.example"], ["Access-Control-Request-Method", ""]],
    want: false,
  },
];

for (const c of PREFLIGHT_DETECTION) {
  Deno.test(`isPreflight() is ${c.want} for ${c.name}`, () => {
    assert.equal(isPreflight(request(c.method, c.fields)), c.want);
  });
}

const PREFLIGHTS: ReadonlyArray<{
  name: string;
  origins: string[] | null;
  fields: [string, string][];
  methods: string;
  /** The answer's fields, or null: not answered as a preflight (a plain OPTIONS: 405). */
  want: [string, string][] | null;
  /** Words the log note must contain. */
  note?: RegExp;
}> = [
  {
    name: "an upload preflight from a listed origin asking for Content-Type",
    origins: ["https://app.example"],
    fields: [
      ["Origin", "https://app.example"],
      ["Access-Control-Request-Method", "POST"],
      ["Access-Control-Request-Headers", "content-type"],
    ],
    methods: "POST",
    want: [
      ["Access-Control-Allow-Methods", "POST"],
      ["Access-Control-Allow-Headers", "content-type"],
      ["Access-Control-Max-Age", "600"],
    ],
  },
  {
    name: "a file preflight asking for Range and If-None-Match, any origin",
    origins: ["*"],
    fields: [
      ["Origin", "http://localhost:5173"],
      ["Access-Control-Request-Method", "GET"],
      ["Access-Control-Request-Headers", "if-none-match,range"],
    ],
    methods: "GET, HEAD",
    want: [
      ["Access-Control-Allow-Methods", "GET, HEAD"],
      ["Access-Control-Allow-Headers", "if-none-match, range"],
      ["Access-Control-Max-Age", "600"],
    ],
  },
  {
    name: "requested header names in capitals and with spaces are echoed lower-case",
    origins: ["*"],
    fields: [
      ["Origin", "https://a.example"],
      ["Access-Control-Request-Method", "POST"],
      ["Access-Control-Request-Headers", " Content-Type , Accept-Language "],
    ],
    methods: "POST",
    want: [
      ["Access-Control-Allow-Methods", "POST"],
      ["Access-Control-Allow-Headers", "content-type, accept-language"],
      ["Access-Control-Max-Age", "600"],
    ],
  },
  {
    name: "no requested headers: no Access-Control-Allow-Headers",
    origins: ["*"],
    fields: [["Origin", "https://a.example"], ["Access-Control-Request-Method", "GET"]],
    methods: "GET, HEAD",
    want: [["Access-Control-Allow-Methods", "GET, HEAD"], ["Access-Control-Max-Age", "600"]],
  },
  {
    name: "an empty Access-Control-Request-Headers",
    origins: ["*"],
    fields: [
      ["Origin", "https://a.example"],
      ["Access-Control-Request-Method", "GET"],
      ["Access-Control-Request-Headers", ""],
    ],
    methods: "GET, HEAD",
    want: [["Access-Control-Allow-Methods", "GET, HEAD"], ["Access-Control-Max-Age", "600"]],
  },
  {
    name: "a header not allowed: no Access-Control-Allow-Headers, the note names it",
    origins: ["*"],
    fields: [
      ["Origin", "https://a.example"],
      ["Access-Control-Request-Method", "POST"],
      ["Access-Control-Request-Headers", "content-type,x-secret"],
    ],
    methods: "POST",
    want: [["Access-Control-Allow-Methods", "POST"], ["Access-Control-Max-Age", "600"]],
    note: /x-secret/,
  },
  {
    name: "Authorization is not allowed",
    origins: ["*"],
    fields: [
      ["Origin", "https://a.example"],
      ["Access-Control-Request-Method", "GET"],
      ["Access-Control-Request-Headers", "authorization"],
    ],
    methods: "GET, HEAD",
    want: [["Access-Control-Allow-Methods", "GET, HEAD"], ["Access-Control-Max-Age", "600"]],
    note: /authorization/,
  },
  {
    name: "a requested header name that is not a token is not echoed",
    origins: ["*"],
    fields: [
      ["Origin", "https://a.example"],
      ["Access-Control-Request-Method", "POST"],
      ["Access-Control-Request-Headers", "content-type, bad name"],
    ],
    methods: "POST",
    want: [["Access-Control-Allow-Methods", "POST"], ["Access-Control-Max-Age", "600"]],
    note: /malformed/,
  },
  {
    name: "a method the resource does not allow: still 204, the note says so",
    origins: ["https://app.example"],
    fields: [["Origin", "https://app.example"], ["Access-Control-Request-Method", "DELETE"]],
    methods: "POST",
    want: [["Access-Control-Allow-Methods", "POST"], ["Access-Control-Max-Age", "600"]],
    note: /DELETE not allowed/,
  },
  {
    name: "an origin not listed",
    origins: ["https://app.example"],
    fields: [["Origin", "https://evil.example"], ["Access-Control-Request-Method", "POST"]],
    methods: "POST",
    want: null,
  },
  {
    name: "the null origin under *",
    origins: ["*"],
    fields: [["Origin", "null"], ["Access-Control-Request-Method", "POST"]],
    methods: "POST",
    want: null,
  },
  {
    name: "the null origin listed literally",
    origins: ["null"],
    fields: [["Origin", "null"], ["Access-Control-Request-Method", "POST"]],
    methods: "POST",
    want: [["Access-Control-Allow-Methods", "POST"], ["Access-Control-Max-Age", "600"]],
  },
  {
    name: "no --cors",
    origins: null,
    fields: [["Origin", "https://app.example"], ["Access-Control-Request-Method", "POST"]],
    methods: "POST",
    want: null,
  },
  {
    name: "no Access-Control-Request-Method",
    origins: ["*"],
    fields: [["Origin", "https://app.example"]],
    methods: "POST",
    want: null,
  },
];

for (const c of PREFLIGHTS) {
  Deno.test(`preflight() for ${c.name}`, () => {
    const policy = c.origins === null ? null : corsPolicy(c.origins, 600);
    const answer = preflight(policy, request("OPTIONS", c.fields), c.methods);
    assert.deepEqual(answer === null ? null : answer.fields, c.want);
    if (c.note !== undefined) assert.match(answer?.note ?? "", c.note);
  });
}

Deno.test("preflight() answers with the policy's max age", () => {
  const answer = preflight(
    corsPolicy(["*"], 86400),
    request("OPTIONS", [["Origin", "https://a.example"], ["Access-Control-Request-Method", "GET"]]),
    "GET, HEAD",
  );
  assert.deepEqual(answer?.fields.at(-1), ["Access-Control-Max-Age", "86400"]);
});

Deno.test("CORS_ALLOWED_HEADERS allows Content-Type (a page can POST JSON) and no credentials", () => {
  assert.ok(CORS_ALLOWED_HEADERS.has("content-type"));
  assert.ok(!CORS_ALLOWED_HEADERS.has("authorization"));
  assert.ok(!CORS_ALLOWED_HEADERS.has("cookie"));
  for (const name of CORS_ALLOWED_HEADERS) assert.equal(name, name.toLowerCase());
});
