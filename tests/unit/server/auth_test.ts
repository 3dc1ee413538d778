/**
 * The authentication decisions (src/server/auth.ts) and their parts: which requests need
 * credentials (scope × method × path), the brute-force limit (RateLimiter with refunds), the
 * cache of verified credentials, the password checker's thread and bound, and the order of it
 * all in Authenticator.authenticate().
 */

import assert from "node:assert/strict";
import { captureLogs } from "../../helpers/log_capture.ts";
import bcrypt from "bcryptjs";
import { basicAuthorization } from "../../../src/http/basic_auth.ts";
import { FieldList } from "../../../src/http/fields.ts";
import { HttpError } from "../../../src/http/status.ts";
import { RateLimiter } from "../../../src/handlers/rate_limit.ts";
import {
  Authenticator,
  type AuthScope,
  CredentialCache,
  needsCredentials,
  typicalCost,
} from "../../../src/server/auth.ts";
import { PasswordChecker, type PasswordVerifier } from "../../../src/server/password_check.ts";

function request(method: string, fields: [string, string][] = []) {
  const list = new FieldList();
  for (const [name, value] of fields) list.add(name, value);
  return { method, fields: list };
}

const PREFLIGHT: [string, string][] = [
  ["origin", "https://app.example"],
  ["access-control-request-method", "POST"],
];

const DECISIONS: ReadonlyArray<[AuthScope, string, string, [string, string][], boolean]> = [
  // scope, method, path, fields, needs credentials
  ["upload", "POST", "/upload", [], true],
  ["upload", "GET", "/upload", [], true],
  ["upload", "HEAD", "/upload", [], true],
  ["upload", "PUT", "/upload", [], true],
  ["upload", "OPTIONS", "/upload", [], true],
  ["upload", "OPTIONS", "/upload", PREFLIGHT, false],
  ["upload", "GET", "/", [], false],
  ["upload", "GET", "/index.html", [], false],
  ["upload", "HEAD", "/gallery.jpg", [], false],
  ["upload", "GET", "/uploads/upload_20261201_000000_abcd.json", [], false],
  ["upload", "POST", "/index.html", [], false],
  ["upload", "POST", "/upload/", [], false],
  ["upload", "POST", "/uploads", [], false],
  ["upload", "OPTIONS", "*", [], false],
  ["all", "GET", "/", [], true],
  ["all", "GET", "/index.html", [], true],
  ["all", "HEAD", "/gallery.jpg", [], true],
  ["all", "POST", "/upload", [], true],
  ["all", "POST", "/index.html", [], true],
  ["all", "DELETE", "/x", [], true],
  ["all", "OPTIONS", "*", [], true],
  ["all", "OPTIONS", "/index.html", [], true],
  ["all", "OPTIONS", "/index.html", PREFLIGHT, false],
  ["all", "OPTIONS", "/upload", PREFLIGHT, false],
  // An OPTIONS with Origin but no method to ask about is no preflight.
  ["all", "OPTIONS", "/upload", [["origin", "https://app.example"]], true],
];

for (const [scope, method, path, fields, want] of DECISIONS) {
  const what = fields.length === 2 ? " (preflight)" : fields.length === 1 ? " (Origin only)" : "";
  Deno.test(`needsCredentials() scope ${scope}: ${method} ${path}${what} → ${want}`, () => {
    assert.equal(needsCredentials(request(method, fields), path, { scope }), want);
  });
}

Deno.test("RateLimiter.refund() gives back the token take() spent, never beyond the burst", () => {
  const limiter = new RateLimiter(1 / 60, 3);
  const now = 1_000_000;
  for (let i = 0; i < 10; i++) {
    assert.equal(limiter.take("a", now), 0);
    limiter.refund("a");
  }
  assert.equal(limiter.take("a", now), 0);
  assert.equal(limiter.take("a", now), 0);
  assert.equal(limiter.take("a", now), 0);
  assert.equal(limiter.take("a", now), 60, "out of tokens: a minute until the next");
  limiter.refund("a");
  assert.equal(limiter.take("a", now), 0, "a refund is one more attempt");
  limiter.refund("nobody"); // no bucket: nothing happens
  for (let i = 0; i < 5; i++) limiter.refund("b");
  assert.equal(limiter.size, 1);
});

Deno.test("CredentialCache keys are HMACs: per process, per user, hash and password", () => {
  const cache = new CredentialCache(8, 1000);
  const key = cache.digest("alice", "$2y$05$h", "s3cret");
  assert.equal(key, cache.digest("alice", "$2y$05$h", "s3cret"));
  assert.ok(!key.includes("s3cret") && !key.includes("alice"));
  assert.notEqual(key, cache.digest("alice", "$2y$05$h", "s3cret "));
  assert.notEqual(key, cache.digest("alice", "$2y$05$other", "s3cret"));
  assert.notEqual(key, cache.digest("alicE", "$2y$05$h", "s3cret"));
  // user "a:b" + password "c" is not user "a" + password "b:c"
  assert.notEqual(cache.digest("a", "h", "b\0c"), cache.digest("a\0b", "h", "c"));
  assert.notEqual(key, new CredentialCache(8, 1000).digest("alice", "$2y$05$h", "s3cret"));
});

Deno.test("CredentialCache expires entries after ttlMs and drops the least recently used", () => {
  const cache = new CredentialCache(3, 1000);
  cache.add("a", 0);
  cache.add("b", 0);
  cache.add("c", 0);
  assert.ok(cache.has("a", 10)); // a is now the most recently used
  cache.add("d", 20); // evicts b
  assert.equal(cache.size, 3);
  assert.ok(!cache.has("b", 30));
  assert.ok(cache.has("a", 30) && cache.has("c", 30) && cache.has("d", 30));
  assert.ok(cache.has("a", 999));
  assert.ok(!cache.has("a", 1000), "expired at ttlMs");
  assert.ok(!cache.has("a", 0), "and gone");
  assert.equal(cache.size, 2);
});

Deno.test("typicalCost() is the most common cost of the store, the higher on a tie", () => {
  const h = (cost: number) => `$2y$${String(cost).padStart(2, "0")}$${"x".repeat(53)}`;
  assert.equal(typicalCost(new Map([["a", h(5)]])), 5);
  assert.equal(typicalCost(new Map([["a", h(5)], ["b", h(12)], ["c", h(5)]])), 5);
  assert.equal(typicalCost(new Map([["a", h(5)], ["b", h(12)]])), 12);
});

Deno.test("PasswordChecker runs bcrypt in another thread: the event loop keeps turning", async () => {
  const hash = bcrypt.hashSync("s3cret", 10);
  const checker = new PasswordChecker(4);
  try {
    assert.equal(await checker.check("warm-up", bcrypt.hashSync("x", 4)), false);
    let gap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      gap = Math.max(gap, now - last);
      last = now;
    }, 1);
    const started = performance.now();
    const results = await Promise.all([
      checker.check("s3cret", hash),
      checker.check("wrong", hash),
    ]);
    const took = performance.now() - started;
    clearInterval(timer);
    assert.deepEqual(results, [true, false]);
    // Two cost-10 hashes are over 60 ms each of CPU; the main thread never stopped for long
    // (in-thread bcryptjs stops it for the whole hash: about 65 ms here).
    assert.ok(took > 40, `two cost-10 checks took only ${took.toFixed(1)} ms`);
    assert.ok(gap < 25, `the event loop stopped for ${gap.toFixed(1)} ms`);
  } finally {
    checker.close();
  }
});

Deno.test("PasswordChecker queues at most maxPending checks; beyond, null at once", async () => {
  const hash = bcrypt.hashSync("s3cret", 6);
  const checker = new PasswordChecker(2);
  try {
    const first = checker.check("a", hash);
    const second = checker.check("s3cret", hash);
    assert.ok(first !== null && second !== null);
    assert.equal(checker.pending, 2);
    assert.equal(checker.check("c", hash), null);
    assert.deepEqual(await Promise.all([first, second]), [false, true]);
    assert.equal(checker.pending, 0);
    const third = checker.check("s3cret", hash);
    assert.ok(third !== null);
    assert.equal(await third, true);
  } finally {
    checker.close();
  }
});

Deno.test("PasswordChecker.close() rejects what is pending and refuses more", async () => {
  const checker = new PasswordChecker(2);
  const pending = checker.check("a", bcrypt.hashSync("b", 8));
  checker.close();
  await assert.rejects(pending as Promise<boolean>, /closed/);
  assert.throws(() => checker.check("a", "b"), /closed/);
});

/** A checker that answers from a table, counts its calls, and can be held. */
class ScriptedChecker implements PasswordVerifier {
  readonly maxPending: number;
  readonly calls: { password: string; hash: string }[] = [];
  #pending = 0;
  gate: Promise<void> = Promise.resolve();
  readonly #truth: Map<string, string>;
  constructor(truth: Map<string, string>, maxPending = 8) {
    this.#truth = truth;
    this.maxPending = maxPending;
  }
  check(password: string, hash: string): Promise<boolean> | null {
    if (this.#pending >= this.maxPending) return null;
    this.calls.push({ password, hash });
    this.#pending++;
    return this.gate.then(() => {
      this.#pending--;
      return this.#truth.get(hash) === password;
    });
  }
  close(): void {}
}

const ALICE_HASH = bcrypt.hashSync("s3cret", 4);
const BOB_HASH = bcrypt.hashSync("hunter2", 4);

function authenticator(
  options: { failures?: RateLimiter | null; cache?: CredentialCache | null; maxPending?: number } =
    {},
) {
  const checker = new ScriptedChecker(
    new Map([[ALICE_HASH, "s3cret"], [BOB_HASH, "hunter2"]]),
    options.maxPending,
  );
  const auth = new Authenticator(new Map([["alice", ALICE_HASH], ["bob", BOB_HASH]]), {
    scope: "upload",
    checker,
    failures: options.failures === undefined ? new RateLimiter(1, 3) : options.failures,
    cache: options.cache === undefined ? new CredentialCache(16, 60_000) : options.cache,
    retryAfterSeconds: 1,
  });
  return { auth, checker };
}

function withAuthorization(value: string | null): FieldList {
  const list = new FieldList();
  list.add("host", "127.0.0.1");
  if (value !== null) list.add("authorization", value);
  return list;
}

async function refusal(promise: Promise<unknown>): Promise<HttpError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error("accepted");
}

const CHALLENGE = ["WWW-Authenticate", 'Basic realm="denohttpd", charset="UTF-8"'];

Deno.test("Authenticator.authenticate() answers each kind of credentials", async () => {
  const { auth, checker } = authenticator({ failures: null });
  assert.equal(
    await auth.authenticate(withAuthorization(basicAuthorization("alice", "s3cret")), "a"),
    "alice",
  );
  const cases: [string | null, RegExp][] = [
    [null, /no credentials/],
    ["Basic YWxpY2U=", /malformed credentials \(no colon\)/],
    ["Basic !!!", /malformed credentials \(not base64\)/],
    [`Basic ${btoa("alice:\xe9")}`, /malformed credentials \(not UTF-8\)/],
    ["Bearer abc", /malformed credentials \(not Basic\)/],
    [basicAuthorization("alice", "wrong"), /wrong user or password/],
    [basicAuthorization("mallory", "s3cret"), /wrong user or password/],
  ];
  for (const [value, message] of cases) {
    const error = await refusal(auth.authenticate(withAuthorization(value), "a"));
    assert.equal(error.status, 401, String(value));
    assert.match(error.message, message);
    assert.deepEqual(error.headers, [CHALLENGE]);
    assert.ok(!error.message.includes("s3cret") && !error.message.includes("wrong".repeat(2)));
  }
  // Only the well-formed attempts reached bcrypt: alice twice, mallory once.
  assert.equal(checker.calls.length, 3);
});

Deno.test("Authenticator: an unknown user's password is checked against a dummy of the same cost", async () => {
  const { auth, checker } = authenticator({ failures: null });
  await refusal(auth.authenticate(withAuthorization(basicAuthorization("mallory", "x")), "a"));
  await refusal(auth.authenticate(withAuthorization(basicAuthorization("alice", "x")), "a"));
  assert.equal(checker.calls.length, 2, "one bcrypt check each, like a wrong password");
  const dummy = checker.calls[0]?.hash as string;
  assert.notEqual(dummy, ALICE_HASH);
  assert.notEqual(dummy, BOB_HASH);
  assert.match(dummy, /^\$2[aby]\$04\$[./A-Za-z0-9]{53}$/);
  assert.equal(checker.calls[1]?.hash, ALICE_HASH);
});

Deno.test("Authenticator: unknown user and wrong password take the same time (real bcrypt)", async () => {
  const hash = bcrypt.hashSync("s3cret", 8);
  const checker = new PasswordChecker(4);
  const auth = new Authenticator(new Map([["alice", hash]]), {
    scope: "upload",
    checker,
    failures: null,
    cache: null,
    retryAfterSeconds: 1,
  });
  try {
    const time = async (user: string) => {
      const started = performance.now();
      await refusal(auth.authenticate(withAuthorization(basicAuthorization(user, "x")), "a"));
      return performance.now() - started;
    };
    await time("alice");
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 7; i++) {
      known.push(await time("alice"));
      unknown.push(await time("nobody"));
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[3] as number;
    const ratio = median(unknown) / median(known);
    assert.ok(
      ratio > 0.7 && ratio < 1.4,
      `unknown ${median(unknown).toFixed(1)} ms vs wrong password ${median(known).toFixed(1)} ms`,
    );
  } finally {
    auth.close();
  }
});

Deno.test("Authenticator: verified credentials are cached; a wrong password never is", async () => {
  const cache = new CredentialCache(16, 60_000);
  const { auth, checker } = authenticator({ failures: null, cache });
  const right = withAuthorization(basicAuthorization("alice", "s3cret"));
  for (let i = 0; i < 5; i++) assert.equal(await auth.authenticate(right, "a"), "alice");
  assert.equal(checker.calls.length, 1, "bcrypt once, then the cache");
  assert.equal(cache.size, 1);
  for (let i = 0; i < 3; i++) {
    await refusal(auth.authenticate(withAuthorization(basicAuthorization("alice", "x")), "a"));
  }
  assert.equal(checker.calls.length, 4, "every wrong password pays bcrypt");
  assert.equal(cache.size, 1);
  // Without a cache every request pays.
  const uncached = authenticator({ failures: null, cache: null });
  for (let i = 0; i < 3; i++) await uncached.auth.authenticate(right, "a");
  assert.equal(uncached.checker.calls.length, 3);
});

Deno.test("Authenticator: failures from one address run out, 429 with Retry-After, then recover", async () => {
  const failures = new RateLimiter(1000, 3); // a token back every millisecond
  const { auth, checker } = authenticator({ failures });
  const wrong = withAuthorization(basicAuthorization("alice", "x"));
  const right = withAuthorization(basicAuthorization("alice", "s3cret"));
  // Successes cost nothing: many in a row stay under the limit.
  for (let i = 0; i < 10; i++) assert.equal(await auth.authenticate(right, "10.0.0.1"), "alice");
  const slow = new RateLimiter(1 / 60, 3);
  const limited = authenticator({ failures: slow });
  for (let i = 0; i < 3; i++) {
    assert.equal((await refusal(limited.auth.authenticate(wrong, "10.0.0.1"))).status, 401);
  }
  const calls = limited.checker.calls.length;
  const error = await refusal(limited.auth.authenticate(right, "10.0.0.1"));
  assert.equal(error.status, 429);
  assert.deepEqual(error.headers, [["Retry-After", "60"]]);
  assert.equal(limited.checker.calls.length, calls, "no bcrypt, no cache lookup once limited");
  // Another address is not affected.
  assert.equal(await limited.auth.authenticate(right, "10.0.0.2"), "alice");
  // Recovery: with the fast limiter, a moment later the right password passes again.
  for (let i = 0; i < 3; i++) await refusal(auth.authenticate(wrong, "10.0.0.3"));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(await auth.authenticate(right, "10.0.0.3"), "alice");
  assert.ok(checker.calls.length > 0);
});

Deno.test("Authenticator: an address has at most its burst of checks in flight", async () => {
  const { auth, checker } = authenticator({ failures: new RateLimiter(1 / 60, 3) });
  let open!: () => void;
  checker.gate = new Promise((resolve) => open = resolve);
  const wrong = withAuthorization(basicAuthorization("alice", "x"));
  const attempts = Array.from({ length: 6 }, () => refusal(auth.authenticate(wrong, "10.0.0.9")));
  open();
  const statuses = (await Promise.all(attempts)).map((e) => e.status).sort();
  assert.deepEqual(statuses, [401, 401, 401, 429, 429, 429]);
  assert.equal(checker.calls.length, 3);
});

Deno.test("Authenticator: a full password checker is 503 with Retry-After, not counted as a failure", async () => {
  const failures = new RateLimiter(1 / 60, 2);
  const { auth, checker } = authenticator({ failures, maxPending: 1 });
  let open!: () => void;
  checker.gate = new Promise((resolve) => open = resolve);
  const held = auth.authenticate(withAuthorization(basicAuthorization("bob", "hunter2")), "b");
  const busy = await refusal(
    auth.authenticate(withAuthorization(basicAuthorization("alice", "s3cret")), "a"),
  );
  assert.equal(busy.status, 503);
  assert.deepEqual(busy.headers, [["Retry-After", "1"]]);
  open();
  assert.equal(await held, "bob");
  // "a" lost no attempt to the 503: both of its tokens are still there.
  await refusal(auth.authenticate(withAuthorization(basicAuthorization("alice", "x")), "a"));
  await refusal(auth.authenticate(withAuthorization(basicAuthorization("alice", "x")), "a"));
  assert.equal(
    (await refusal(auth.authenticate(withAuthorization(basicAuthorization("alice", "x")), "a")))
      .status,
    429,
  );
});

Deno.test("Authenticator.authenticate(): a failed login never logs an unknown user name", async () => {
  await using logs = await captureLogs();
  const { auth } = authenticator({ failures: null });
  // A password typed into the user field must not end up in the log.
  await refusal(
    auth.authenticate(withAuthorization(basicAuthorization("Tr0ub4dor&3", "x")), "192.0.2.1"),
  );
  // Failure lines are folded for a second (ThrottledWarning); its summary repeats the last one.
  await new Promise((resolve) => setTimeout(resolve, 2200));
  const failures = logs.lines.filter((line) => line.includes("failed login"));
  assert.ok(failures.some((l) => l.includes("(no such user)")), failures.join("\n"));
  assert.ok(!logs.lines.some((line) => line.includes("Tr0ub4dor")), "an unknown name was logged");
});
