/**
 * What a file-system error means for a response: the errno behind it, and the statuses that
 * depend on the machine rather than on the request (out of descriptors, out of space).
 *
 * Invariant: such a failure is logged as one line, and repeats within a second are folded into
 * the next line (ThrottledWarning), so a fault that hits every request cannot flood the log.
 */

import { HttpError } from "../http/status.ts";
import { log, ThrottledWarning } from "../log.ts";

/** Linux errno numbers of the errors mapped to statuses here. */
const OS_ERRORS: Readonly<Record<string, string>> = {
  "23": "ENFILE",
  "24": "EMFILE",
  "28": "ENOSPC",
  "122": "EDQUOT",
};

/** The errno name of a file-system error (`ENOSPC`), or "" when it has none. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string") return code;
  // Some errors carry only the OS message: "No space left on device (os error 28)".
  const match = /\(os error (\d+)\)/.exec(error instanceof Error ? error.message : "");
  return match === null ? "" : (OS_ERRORS[match[1] as string] ?? "");
}

/** The process (EMFILE) or the system (ENFILE) has no file descriptor left. */
export function isOutOfDescriptors(error: unknown): boolean {
  const code = errorCode(error);
  return code === "EMFILE" || code === "ENFILE";
}

/** The file system (ENOSPC) or the writer's quota (EDQUOT) is full. */
export function isOutOfSpace(error: unknown): boolean {
  const code = errorCode(error);
  return code === "ENOSPC" || code === "EDQUOT";
}

const descriptorWarning = new ThrottledWarning(log.server);

/**
 * `503` with `Retry-After: 1` for a file that could not be opened for want of descriptors: the
 * request is fine and will succeed once connections close (nginx answers 500 here; a client
 * or balancer can act on 503). Logged at most once a second.
 */
export function outOfDescriptors(what: string, error: unknown): HttpError {
  const message = `${what}: out of file descriptors (${errorCode(error)})`;
  descriptorWarning.warn(`${message}; answering 503`);
  return new HttpError(503, message, [["Retry-After", "1"]]);
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
