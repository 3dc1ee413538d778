/**
 * parseHtpasswd() (src/server/htpasswd.ts): htpasswd files as Apache reads them, bcrypt only;
 * every refusal names its line. The hashes are what Debian's htpasswd wrote (-B, -m, -s, -d,
 * -p, -2, -5).
 */

import assert from "node:assert/strict";
import { bcryptCost, HtpasswdError, parseHtpasswd } from "../../../src/server/htpasswd.ts";

const ALICE = "$2y$05$J1GCMqDeQ3p8FWPMbsC0Fu4MuRc89BwtgbrsV1FyXznyuEOsF5lze"; // s3cret
const BOB = "$2y$04$2UuPLh8.L5zk3GJwHDxpmO6sEqNhAQg7n6Wh4jgxxIKzfVeZNULCm"; // hunter2
const B_2B = "$2b$10" + ALICE.slice(6);
const B_2A = "$2a$12" + ALICE.slice(6);

const encode = (text: string) => new TextEncoder().encode(text);

const ACCEPTED: ReadonlyArray<{ name: string; file: string; want: [string, string][] }> = [
  { name: "one line", file: `alice:${ALICE}\n`, want: [["alice", ALICE]] },
  { name: "no final newline", file: `alice:${ALICE}`, want: [["alice", ALICE]] },
  {
    name: "two users, file order",
    file: `bob:${BOB}\nalice:${ALICE}\n`,
    want: [["bob", BOB], ["alice", ALICE]],
  },
  {
    name: "CRLF line ends",
    file: `alice:${ALICE}\r\nbob:${BOB}\r\n`,
    want: [["alice", ALICE], [
      "bob",
      BOB,
    ]],
  },
  {
    name: "comments and blank lines",
    file:
      `# users of the upload page\n\nalice:${ALICE}\n   \n\t# indented comment\n\nbob:${BOB}\n\n`,
    want: [["alice", ALICE], ["bob", BOB]],
  },
  { name: "surrounding white space", file: `  alice:${ALICE}  \n`, want: [["alice", ALICE]] },
  { name: "$2b$ and $2a$", file: `b:${B_2B}\na:${B_2A}\n`, want: [["b", B_2B], ["a", B_2A]] },
  {
    name: "a comment field after the hash",
    file: `alice:${ALICE}:Alice A.\n`,
    want: [[
      "alice",
      ALICE,
    ]],
  },
  { name: "UTF-8 user name", file: `jürgen:${ALICE}\n`, want: [["jürgen", ALICE]] },
  { name: "user name with a space", file: `mary ann:${ALICE}\n`, want: [["mary ann", ALICE]] },
];

for (const c of ACCEPTED) {
  Deno.test(`parseHtpasswd() accepts ${c.name}`, () => {
    assert.deepEqual([...parseHtpasswd(encode(c.file))], c.want);
  });
}

const REFUSED: ReadonlyArray<
  { name: string; file: string | Uint8Array; line: number; says: RegExp }
> = [
  {
    name: "MD5 ($apr1$, htpasswd -m)",
    file: `carol:$apr1$jucTEVK1$WT5lwpy1J1MkhIeRUtmRF/\n`,
    line: 1,
    says: /"carol" has an MD5 \(\$apr1\$\) hash.*htpasswd -B/,
  },
  {
    name: "SHA-1 ({SHA}, htpasswd -s)",
    file: `alice:${ALICE}\ndave:{SHA}EfatjsUqKYSrqv18O1FlA3hcIHI=\n`,
    line: 2,
    says: /"dave" has a SHA-1 .*htpasswd -B/,
  },
  {
    name: "crypt (htpasswd -d)",
    file: `# c\n\nerin:pizQhjvAQBZEA\n`,
    line: 3,
    says: /"erin" has a crypt \(DES\) hash.*htpasswd -B/,
  },
  {
    name: "plain text (htpasswd -p)",
    file: `frank:x\n`,
    line: 1,
    says: /"frank" has a plain-text password.*htpasswd -B/,
  },
  {
    name: "SHA-256-crypt (htpasswd -2)",
    file: `g:$5$JQmR7eoMexefqRbU$./GunpaV.Z4/RPXdzuJdnF3SpGZS4vEyouawIRDqzvA\n`,
    line: 1,
    says: /SHA-256-crypt/,
  },
  {
    name: "SHA-512-crypt (htpasswd -5)",
    file:
      `g:$6$7cd6fLWFQSwPB5Mh$re7bguUOtLaQc8rnqACVyrjjuIZpNGwqwxuYW7ijTPUxTyqkC/RJtJo25VSNd/hOdjDcOEQO9cDMvcCZdIFzh0\n`,
    line: 1,
    says: /SHA-512-crypt/,
  },
  {
    name: "MD5-crypt ($1$)",
    file: `h:$1$abcdefgh$0123456789abcdefghijkl\n`,
    line: 1,
    says: /MD5-crypt/,
  },
  { name: "bcrypt $2x$", file: `h:$2x$05${ALICE.slice(7)}\n`, line: 1, says: /unsupported bcrypt/ },
  {
    name: "bcrypt cut short",
    file: `h:${ALICE.slice(0, -1)}\n`,
    line: 1,
    says: /malformed or unsupported bcrypt/,
  },
  {
    name: "bcrypt cost 03",
    file: `h:$2y$03${ALICE.slice(6)}\n`,
    line: 1,
    says: /cost 3 is outside 4 to 31/,
  },
  { name: "bcrypt cost 32", file: `h:$2y$32${ALICE.slice(6)}\n`, line: 1, says: /cost 32/ },
  { name: "empty hash", file: `alice:\n`, line: 1, says: /plain-text password or an unknown kind/ },
  { name: "no colon", file: `alice:${ALICE}\nbob\n`, line: 2, says: /expected user:hash/ },
  { name: "empty user", file: `:${ALICE}\n`, line: 1, says: /empty user name/ },
  {
    name: "control character in the user",
    file: `al\x01ice:${ALICE}\n`,
    line: 1,
    says: /control characters/,
  },
  {
    name: "duplicate user",
    file: `alice:${ALICE}\nbob:${BOB}\n\nalice:${BOB}\n`,
    line: 4,
    says: /"alice" is already on line 1/,
  },
  {
    name: "not UTF-8",
    file: new Uint8Array([...encode(`alice:${ALICE}\n`), 0x6a, 0xfc, 0x3a, ...encode(ALICE)]),
    line: 2,
    says: /not UTF-8/,
  },
  { name: "no users", file: "# nobody yet\n\n", line: 0, says: /no users/ },
  { name: "an empty file", file: "", line: 0, says: /no users/ },
];

for (const c of REFUSED) {
  Deno.test(`parseHtpasswd() refuses ${c.name}, naming line ${c.line}`, () => {
    const bytes = typeof c.file === "string" ? encode(c.file) : c.file;
    assert.throws(() => parseHtpasswd(bytes), (error) => {
      assert.ok(error instanceof HtpasswdError);
      assert.equal(error.line, c.line);
      if (c.line > 0) assert.match(error.message, new RegExp(`^line ${c.line}: `));
      assert.match(error.message, c.says);
      assert.ok(!error.message.includes("\n"), "one line");
      return true;
    });
  });
}

Deno.test("parseHtpasswd() never puts a password or hash in its message", () => {
  for (const file of [`frank:hunter2\n`, `carol:$apr1$jucTEVK1$WT5lwpy1J1MkhIeRUtmRF/\n`]) {
    try {
      parseHtpasswd(encode(file));
      assert.fail("accepted");
    } catch (error) {
      assert.ok(error instanceof HtpasswdError);
      assert.ok(!error.message.includes("hunter2") && !error.message.includes("WT5lw"));
    }
  }
});

Deno.test("bcryptCost() reads the two-digit cost", () => {
  assert.equal(bcryptCost(ALICE), 5);
  assert.equal(bcryptCost(BOB), 4);
  assert.equal(bcryptCost(B_2A), 12);
});
