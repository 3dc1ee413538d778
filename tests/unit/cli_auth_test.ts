/**
 * parseCli() (src/cli.ts) for authentication: --auth-file, --auth USER:PASSWORD (hashed at
 * once, never kept or echoed in clear), --auth-scope, --auth-insecure, and the refusal of
 * credentials over plain HTTP beyond loopback; isLoopbackAddress() (src/http/host.ts).
 */

import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { checkAuthTransport, CliError, parseCli, USAGE } from "../../src/cli.ts";
import { DEFAULT_CONFIG, type ServerConfig } from "../../src/config.ts";
import { isLoopbackAddress } from "../../src/http/host.ts";

function configOf(argv: string[]): ServerConfig {
  const result = parseCli(argv);
  assert.equal(result.kind, "run");
  return (result as { kind: "run"; config: ServerConfig }).config;
}

function refusal(argv: string[]): string {
  try {
    parseCli(argv);
  } catch (error) {
    assert.ok(error instanceof CliError, String(error));
    assert.ok(!error.message.includes("\n"), "one line");
    return error.message;
  }
  throw new Error(`accepted: ${argv.join(" ")}`);
}

Deno.test("parseCli() authentication defaults: no users, scope upload, not insecure", () => {
  const config = configOf([]);
  assert.equal(config.authFile, null);
  assert.deepEqual(config.authUsers, []);
  assert.equal(config.authScope, "upload");
  assert.equal(config.authInsecure, false);
  assert.equal(config.tlsCert, null);
});

Deno.test("parseCli() --auth USER:PASSWORD keeps a bcrypt hash, never the password", () => {
  const config = configOf(["--auth", "alice:s3:cr et", "--auth=bob:"]);
  assert.equal(config.authUsers.length, 2);
  const [alice, bob] = config.authUsers;
  assert.equal(alice?.user, "alice");
  assert.match(alice?.hash ?? "", /^\$2[aby]\$10\$/);
  assert.ok(
    bcrypt.compareSync("s3:cr et", alice?.hash ?? ""),
    "the password is all after the first colon",
  );
  assert.equal(bob?.user, "bob");
  assert.ok(bcrypt.compareSync("", bob?.hash ?? ""), "an empty password is a password");
  assert.ok(!JSON.stringify(config).includes("s3:cr et"));
});

Deno.test("parseCli() --auth-file, --auth-scope all and --auth-insecure", () => {
  const config = configOf(["--auth-file", "/etc/denohttpd/users", "--auth-scope", "all"]);
  assert.equal(config.authFile, "/etc/denohttpd/users");
  assert.equal(config.authScope, "all");
  const open = configOf(["--host", "0.0.0.0", "--auth-file", "f", "--auth-insecure"]);
  assert.equal(open.authInsecure, true);
  assert.equal(configOf(["--auth-scope", "upload", "--auth-file", "f"]).authScope, "upload");
});

const REFUSED: ReadonlyArray<[string[], RegExp]> = [
  [["--auth", "alice"], /invalid --auth: expected USER:PASSWORD/],
  [["--auth", ":pw"], /invalid --auth/],
  [["--auth", "al\x01ice:pw"], /control characters/],
  [["--auth", "alice:p\nw"], /control characters/],
  [["--auth-file", ""], /--auth-file must not be empty/],
  [
    ["--auth-file", "f", "--auth-scope", "everything"],
    /invalid --auth-scope "everything": use upload or all/,
  ],
  [["--auth-scope", "all"], /--auth-scope needs users/],
  [["--auth"], /--auth/],
];

for (const [argv, message] of REFUSED) {
  Deno.test(`parseCli() refuses ${JSON.stringify(argv.join(" "))}`, () => {
    assert.match(refusal(argv), message);
  });
}

Deno.test("parseCli() never repeats an --auth value in its message", () => {
  for (const secret of ["hunter2-no-colon", "x\x07:hunter2"]) {
    const message = refusal(["--auth", secret]);
    assert.ok(!message.includes("hunter2"), message);
  }
});

const PLAIN_HTTP: ReadonlyArray<[string[], boolean]> = [
  // arguments (beside a user), accepted
  [[], true], // 127.0.0.1, the default
  [["--host", "127.0.0.1"], true],
  [["--host", "127.8.9.10"], true],
  [["8080", "localhost"], true],
  [["--host", "::1"], true],
  [["--host", "0.0.0.0"], false],
  [["8080", "0.0.0.0"], false],
  [["--host", "::"], false],
  [["--host", "192.168.1.5"], false],
  [["--host", "myhost.lan"], false],
  [["--host", "128.0.0.1"], false],
  [["--host", "0.0.0.0", "--auth-insecure"], true],
  [["--host", "192.168.1.5", "--auth-insecure"], true],
];

for (const [args, accepted] of PLAIN_HTTP) {
  for (const users of [["--auth-file", "users"], ["--auth", "alice:pw"]]) {
    Deno.test(`parseCli() ${users[0]} with ${args.join(" ") || "defaults"}: ${accepted ? "accepted" : "refused"}`, () => {
      const argv = [...args, ...users];
      if (accepted) {
        configOf(argv);
      } else {
        const message = refusal(argv);
        assert.match(message, /credentials over plain HTTP on \S+/);
        assert.match(message, /TLS.*loopback.*--auth-insecure/);
        assert.ok(!message.includes("pw"), message);
      }
    });
  }
}

Deno.test("checkAuthTransport() accepts credentials on 0.0.0.0 once TLS is on (tlsCert)", () => {
  // The TLS options set tlsCert; the check reads only that field.
  const plain: ServerConfig = { ...DEFAULT_CONFIG, host: "0.0.0.0" };
  const given = { users: true, scopeGiven: false };
  assert.throws(() => checkAuthTransport(plain, given), CliError);
  checkAuthTransport({ ...plain, tlsCert: "/etc/denohttpd/cert.pem" }, given);
  checkAuthTransport({ ...plain, authInsecure: true }, given);
  checkAuthTransport(plain, { users: false, scopeGiven: false });
});

const LOOPBACK: ReadonlyArray<[string, boolean]> = [
  ["127.0.0.1", true],
  ["127.0.0.2", true],
  ["127.255.255.254", true],
  ["localhost", true],
  ["LOCALHOST", true],
  ["::1", true],
  ["[::1]", true],
  ["0:0:0:0:0:0:0:1", true],
  ["::ffff:127.0.0.1", true],
  ["0.0.0.0", false],
  ["::", false],
  ["127.0.0", false],
  ["127.0.0.256", false],
  ["127.0.0.1.nip.io", false],
  ["localhost.example", false],
  ["10.0.0.1", false],
  ["::2", false],
];

for (const [host, want] of LOOPBACK) {
  Deno.test(`isLoopbackAddress(${JSON.stringify(host)}) is ${want}`, () => {
    assert.equal(isLoopbackAddress(host), want);
  });
}

Deno.test("USAGE names every authentication flag", () => {
  for (
    const flag of ["--auth-file FILE", "--auth USER:PASSWORD", "--auth-scope", "--auth-insecure"]
  ) {
    assert.ok(USAGE.includes(flag), flag);
  }
});
