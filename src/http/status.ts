/**
 * Status codes the server sends, their reason phrases, and the one error type of the protocol core.
 *
 * Invariant: every refusal anywhere in the server is an `HttpError`; exactly one place
 * (server/connection.ts) turns it into a response and decides whether the connection survives.
 */

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  100: "Continue", // RFC 9110 §15.2.1
  200: "OK", // RFC 9110 §15.3.1
  201: "Created", // RFC 9110 §15.3.2
  204: "No Content", // RFC 9110 §15.3.5
  206: "Partial Content", // RFC 9110 §15.3.7
  301: "Moved Permanently", // RFC 9110 §15.4.2
  304: "Not Modified", // RFC 9110 §15.4.5
  308: "Permanent Redirect", // RFC 9110 §15.4.9
  400: "Bad Request", // RFC 9110 §15.5.1
  401: "Unauthorized", // RFC 9110 §15.5.2
  403: "Forbidden", // RFC 9110 §15.5.4
  404: "Not Found", // RFC 9110 §15.5.5
  405: "Method Not Allowed", // RFC 9110 §15.5.6
  408: "Request Timeout", // RFC 9110 §15.5.9
  411: "Length Required", // RFC 9110 §15.5.12
  412: "Precondition Failed", // RFC 9110 §15.5.13
  413: "Content Too Large", // RFC 9110 §15.5.14
  414: "URI Too Long", // RFC 9110 §15.5.15
  415: "Unsupported Media Type", // RFC 9110 §15.5.16
  416: "Range Not Satisfiable", // RFC 9110 §15.5.17
  417: "Expectation Failed", // RFC 9110 §15.5.18
  429: "Too Many Requests", // RFC 6585 §4
  431: "Request Header Fields Too Large", // RFC 6585 §5
  500: "Internal Server Error", // RFC 9110 §15.6.1
  501: "Not Implemented", // RFC 9110 §15.6.2
  503: "Service Unavailable", // RFC 9110 §15.6.4
  505: "HTTP Version Not Supported", // RFC 9110 §15.6.6
  507: "Insufficient Storage", // RFC 4918 §11.5
};

export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? "Unknown";
}

/** A refusal with the status it maps to. `message` is for the log, never echoed to the client. */
export class HttpError extends Error {
  readonly status: number;
  /** Extra response header fields, e.g. `Allow` on 405 or `Retry-After` on 503. */
  readonly headers: ReadonlyArray<readonly [string, string]>;

  constructor(
    status: number,
    message: string,
    headers: ReadonlyArray<readonly [string, string]> = [],
  ) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}
