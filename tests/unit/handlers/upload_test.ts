/**
 * isJsonMediaType() (src/handlers/upload.ts): SPEC.md "JSON uploads" accepts only
 * application/json, with parameters, case-insensitive (RFC 9110 §8.3.1).
 */

import assert from "node:assert/strict";
import { isJsonMediaType } from "../../../src/handlers/upload.ts";

const CASES: ReadonlyArray<{ value: string; want: boolean }> = [
  { value: "application/json", want: true },
  { value: "application/json; charset=utf-8", want: true },
  { value: "application/json;charset=UTF-8", want: true },
  { value: "APPLICATION/JSON", want: true },
  { value: "Application/Json; Charset=utf-8", want: true },
  { value: " application/json ", want: true },
  { value: "application/json ; charset=utf-8", want: true },
  { value: "\tapplication/json\t;charset=utf-8", want: true },
  { value: "application/json;", want: true },
  { value: "text/json", want: false },
  { value: "application/jsonx", want: false },
  { value: "application/json-patch+json", want: false },
  { value: "application/vnd.api+json", want: false },
  { value: "application/x-json", want: false },
  { value: "application", want: false },
  { value: "json", want: false },
  { value: "text/plain; x=application/json", want: false },
  { value: "application/ json", want: false },
  { value: "application /json", want: false },
  { value: "", want: false },
  { value: ";application/json", want: false },
];

for (const { value, want } of CASES) {
  Deno.test(`isJsonMediaType() ${want ? "accepts" : "rejects"} ${JSON.stringify(value)}`, () => {
    assert.equal(isJsonMediaType(value), want);
  });
}
