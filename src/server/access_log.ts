/**
 * The access log's record of one exchange, and its three line formats: denohttpd's own text,
 * the NCSA/Apache combined format nginx writes by default, and one JSON object per line.
 *
 * Invariants:
 * - A formatted line is one line: nothing a client sends (target, Referer, User-Agent, Host)
 *   can end it early, forge another, or break the format's quoting. Combined escapes `"`, `\`
 *   and every byte outside printable ASCII as `\xHH`, as nginx does; JSON escapes everything
 *   outside printable ASCII as `\uXXXX`.
 * - Formatting is pure; writing the line is the log module's business.
 */

import type { RequestHead } from "../http/parser.ts";
import { statusText } from "../http/status.ts";

export type AccessFormat = "text" | "combined" | "json";
export const ACCESS_FORMATS: readonly AccessFormat[] = ["text", "combined", "json"];

/**
 * nginx's status for a request whose client went away before any response was sent ("client
 * closed request"); log tools know it, and it is never sent on the wire.
 */
export const NO_RESPONSE_STATUS = 499;

export interface AccessRecord {
  /** Epoch milliseconds when the exchange ended (its last byte written, or it was cut short). */
  timeMs: number;
  /** The connection's number in this server's log. */
  conn: number;
  /** The client's address: the TCP peer's IP, or the one a trusted proxy forwarded. */
  client: string;
  /** The request, or null when no complete head arrived (it could not be parsed, or timed out). */
  request: RequestHead | null;
  /** What the Host check said (`host 127.0.0.1:8080 accepted`). */
  hostNote: string;
  /** The response's status, or 0 when no response was sent. */
  status: number;
  /** Body bytes written. */
  bytes: number;
  /** From the complete head to the end of the exchange. */
  durationMs: number;
  /** The worker that served it (0: none). */
  worker: number;
  /** How long it waited for that worker (0: not at all). */
  queuedMs: number;
  /** How the exchange ended: `keep-alive`, `close`, or `aborted: why`. */
  fate: string;
  /** The handler's words for the log (the saved upload's name), if any. */
  note: string | undefined;
  /** The user the request authenticated as (never a name that failed), if it had to. */
  user?: string;
}

/** denohttpd's own line, read by people (the log prefixes the time, level and category). */
export function formatText(r: AccessRecord): string {
  const what = r.request === null
    ? "no complete request head (host not checked)"
    : `${r.request.method} ${r.request.target} HTTP/1.${r.request.minor} (${r.hostNote}${
      r.user === undefined ? "" : `, user ${r.user}`
    })`;
  const outcome = r.status === 0
    ? "no response"
    : `${r.status} ${statusText(r.status)}, ${r.bytes} body bytes`;
  const queued = r.worker !== 0 && r.queuedMs > 0
    ? `; queued ${r.queuedMs} ms for worker #${r.worker}`
    : "";
  const note = r.note === undefined ? "" : ` (${r.note})`;
  return `conn#${r.conn} ${what} -> ${outcome}, ${r.fate}, ${
    r.durationMs.toFixed(2)
  } ms${queued}${note}`;
}

/**
 * `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
 * "$http_referer" "$http_user_agent"`, exactly as nginx's default `combined` log format, which
 * GoAccess and every log tool read; `-` for no user, as nginx writes an empty variable.
 */
export function formatCombined(r: AccessRecord): string {
  const request = r.request === null
    ? "-"
    : escapeCombined(`${r.request.method} ${r.request.target} HTTP/1.${r.request.minor}`);
  const status = r.status === 0 ? NO_RESPONSE_STATUS : r.status;
  const referer = r.request?.fields.get("referer") ?? null;
  const agent = r.request?.fields.get("user-agent") ?? null;
  const user = r.user === undefined || r.user === "" ? "-" : escapeCombined(utf8Octets(r.user));
  return `${r.client} - ${user} [${timeLocal(r.timeMs)}] "${request}" ${status} ${r.bytes} "${
    referer === null ? "-" : escapeCombined(referer)
  }" "${agent === null ? "-" : escapeCombined(agent)}"`;
}

/** One JSON object with stable field names; strings are ASCII (see `asciiJson`). */
export function formatJson(r: AccessRecord): string {
  const head = r.request;
  return asciiJson({
    time: new Date(r.timeMs).toISOString(),
    client: r.client,
    user: r.user ?? null,
    method: head?.method ?? null,
    target: head?.target ?? null,
    version: head === null ? null : `HTTP/1.${head.minor}`,
    status: r.status === 0 ? NO_RESPONSE_STATUS : r.status,
    bytes: r.bytes,
    duration_ms: Math.round(r.durationMs * 1000) / 1000,
    referer: head?.fields.get("referer") ?? null,
    user_agent: head?.fields.get("user-agent") ?? null,
    host: head?.host ?? null,
    conn: r.conn,
    worker: r.worker,
    queued_ms: r.queuedMs,
    fate: r.fate,
  });
}

export const ACCESS_FORMATTERS: Readonly<Record<AccessFormat, (r: AccessRecord) => string>> = {
  text: formatText,
  combined: formatCombined,
  json: formatJson,
};

/**
 * nginx's escaping of logged variables: `"`, `\` and every character outside printable ASCII
 * as `\xHH`. Field values reach here as ISO-8859-1 (one character per byte), so a byte that is
 * not UTF-8 shows as what it was.
 */
export function escapeCombined(value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  let out = "";
  for (const char of value) {
    const c = char.codePointAt(0) as number;
    if (c <= 0xff) {
      out += c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c ? hexByte(c) : char;
    } else {
      // Not from the wire (field values are one character per byte); its UTF-8 bytes, escaped.
      for (const byte of UTF8.encode(char)) out += hexByte(byte);
    }
  }
  return out;
}

const UTF8 = new TextEncoder();

/**
 * `text`'s UTF-8 bytes, one character each (as header values reach `escapeCombined`), so a
 * user name logs as the bytes the client sent: `é` as `\xC3\xA9`, as from nginx.
 */
function utf8Octets(text: string): string {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return text;
  let out = "";
  for (const byte of UTF8.encode(text)) out += String.fromCharCode(byte);
  return out;
}

function hexByte(byte: number): string {
  return `\\x${byte.toString(16).toUpperCase().padStart(2, "0")}`;
}

/** JSON.stringify with every character outside printable ASCII written as `\uXXXX`. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
let stampSecond = -1;
let stamp = "";

/** `01/Dec/2026:20:30:00 +0000`: nginx's $time_local, in the process's time zone; once a second. */
export function timeLocal(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== stampSecond) {
    const d = new Date(second * 1000);
    const offset = -d.getTimezoneOffset();
    const sign = offset < 0 ? "-" : "+";
    const abs = Math.abs(offset);
    stamp = `${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${
      pad(d.getMinutes())
    }:${pad(d.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
    stampSecond = second;
  }
  return stamp;
}

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
