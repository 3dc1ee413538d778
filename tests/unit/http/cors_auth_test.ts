/**
 * CORS with authentication on (src/http/cors.ts, `CorsPolicy.authorization`): a page of a
 * listed origin may send `Authorization` itself; `*` never gets it, and no response ever
 * carries `Access-Control-Allow-Credentials` (a browser never sends the credentials it stored
 * for this server along with a cross-origin request).
 */

import assert from "node:assert/strict";
import { corsFields, corsPolicy, preflight } from "../../../src/http/cors.ts";
import { FieldList } from "../../../src/http/fields.ts";

function preflightRequest(origin: string, headers: string) {
  const fields = new FieldList();
  fields.add("origin", origin);
  fields.add("access-control-request-method", "POST");
  fields.add("access-control-request-headers", headers);
  return { method: "OPTIONS", fields };
}

const allowHeaders = (fields: readonly (readonly [string, string])[]) =>
  fields.find(([name]) => name === "Access-Control-Allow-Headers")?.[1] ?? null;

const ROWS: ReadonlyArray<{
  name: string;
  origins: string[];
  authorization: boolean;
  origin: string;
  want: string | null;
}> = [
  {
    name: "listed, auth on",
    origins: ["https://app.example"],
    authorization: true,
    origin: "https://app.example",
    want: "authorization, content-type",
  },
  {
    name: "listed, auth off",
    origins: ["https://app.example"],
    authorization: false,
    origin: "https://app.example",
    want: null,
  },
  {
    name: "'*', auth on",
    origins: ["*"],
    authorization: true,
    origin: "https://app.example",
    want: null,
  },
  {
    name: "'*' and another listed, auth on, the listed one",
    origins: ["*", "https://app.example"],
    authorization: true,
    origin: "https://app.example",
    want: "authorization, content-type",
  },
  {
    name: "'*' and another listed, auth on, an unlisted one",
    origins: ["*", "https://app.example"],
    authorization: true,
    origin: "https://other.example",
    want: null,
  },
];

for (const row of ROWS) {
  Deno.test(`preflight() asking for Authorization: ${row.name} → ${row.want ?? "not allowed"}`, () => {
    const policy = corsPolicy(row.origins, 600, { authorization: row.authorization });
    const answer = preflight(
      policy,
      preflightRequest(row.origin, "authorization, content-type"),
      "POST",
    );
    assert.ok(answer !== null);
    assert.equal(allowHeaders(answer.fields), row.want);
    if (row.want === null) assert.match(answer.note, /header\(s\) not allowed: authorization/);
  });
}

Deno.test("no CORS answer ever carries Access-Control-Allow-Credentials", () => {
  for (const origins of [["https://app.example"], ["*"]]) {
    const policy = corsPolicy(origins, 600, { authorization: true });
    const ask = preflightRequest("https://app.example", "authorization");
    const all = [
      ...(preflight(policy, ask, "POST")?.fields ?? []),
      ...(corsFields(policy, ask) ?? []),
      ...(corsFields(policy, { method: "POST", fields: ask.fields }) ?? []),
    ];
    assert.ok(all.length > 0);
    assert.ok(!all.some(([name]) => name.toLowerCase() === "access-control-allow-credentials"));
  }
});
