/**
 * The answer to a CORS preflight (Fetch standard §4.8): a `204` saying which methods and
 * request headers the resource allows and for how long the browser may remember it.
 *
 * Invariants: a preflight never carries credentials, so it is answered before any check that
 * would ask for them; it reads no body, touches no file, and holds its worker for no I/O. The
 * `Access-Control-Allow-Origin` and `Vary` of the answer are added by the connection, as for
 * every response (see http/cors.ts `corsFields`).
 */

import { type CorsPolicy, preflight } from "../http/cors.ts";
import type { Exchange, Reply } from "./reply.ts";

/** The 204 for a preflight from an allowed origin, or null: `ex` is then served as usual. */
export function preflightReply(
  ex: Exchange,
  policy: CorsPolicy | null,
  methods: string,
): Reply | null {
  const answer = preflight(policy, ex.head, methods);
  if (answer === null) return null;
  return { status: 204, fields: answer.fields, length: 0, body: null, note: answer.note };
}
