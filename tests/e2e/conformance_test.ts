/**
 * The conformance and request-smuggling battery (conformance_suite.ts) over plain TCP.
 */

import { registerConformance } from "./conformance_suite.ts";

registerConformance({
  label: "",
  server: () => Promise.resolve({}),
  connect: () => Promise.resolve({}),
});
