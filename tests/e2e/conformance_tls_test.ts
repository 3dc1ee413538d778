/**
 * The conformance and request-smuggling battery (conformance_suite.ts), every row and every
 * fragment split, over TLS: the server on a test certificate, the client trusting its CA. The
 * parser and the engine are the same; this proves the TLS listener hands them the same bytes.
 */

import { tlsClient, tlsServer } from "../helpers/tls_certs.ts";
import { registerConformance } from "./conformance_suite.ts";

registerConformance({
  label: " over TLS",
  server: tlsServer,
  connect: tlsClient,
});
