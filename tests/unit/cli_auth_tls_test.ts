/**
 * parseCli() (src/cli.ts): credentials over the network need TLS on every listener that takes
 * requests: with --https-port, plain HTTP stays on the port unless --redirect-http turns it
 * into redirects, so credentials there would cross in clear.
 */

import assert from "node:assert/strict";
import { CliError, parseCli } from "../../src/cli.ts";

const TLS = ["--tls-cert", "certs/a.pem", "--tls-key", "certs/a-key.pem"];
const WIDE = ["--host", "0.0.0.0", "--auth", "alice:secret"];

const CASES: [string, string[], boolean][] = [
  ["TLS on the port", [...WIDE, ...TLS], true],
  ["TLS beside plain HTTP", [...WIDE, ...TLS, "--https-port", "8443"], false],
  ["TLS beside redirects", [...WIDE, ...TLS, "--https-port", "8443", "--redirect-http"], true],
  ["TLS beside plain HTTP, --auth-insecure", [
    ...WIDE,
    ...TLS,
    "--https-port",
    "8443",
    "--auth-insecure",
  ], true],
];

for (const [name, argv, accepted] of CASES) {
  Deno.test(`parseCli() ${accepted ? "accepts" : "refuses"} credentials with ${name}`, () => {
    if (accepted) {
      assert.equal(parseCli(argv).kind, "run");
    } else {
      assert.throws(() => parseCli(argv), (error: unknown) => {
        assert.ok(error instanceof CliError);
        assert.match(error.message, /credentials over plain HTTP/);
        return true;
      });
    }
  });
}
