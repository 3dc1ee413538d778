/**
 * Incremental HTTP/1.1 request parser (RFC 9112), sans-I/O.
 *
 * The caller puts bytes in (`spare` + `commit`, or `feed`) and pulls events out with `next()`:
 * a request head, slices of its body, the end of the message, or "need more". Anything that is
 * not a valid request throws `HttpError` with the status to answer; the parser is then unusable
 * and the connection must close. Partial input is never an error and never guessed at.
 *
 * Invariants:
 * - Nothing here touches a socket, a timer or `Deno.*`.
 * - Bytes buffered for a head never exceed `maxHeadBytes` + one read before a 414/431 is thrown.
 * - A body slice returned by `next()` is a view into the parser's buffer, valid until the next
 *   `spare`/`feed`; keep it by copying.
 */

import { FIELD_VALUE_BYTE, FieldList, latin1, TCHAR } from "./fields.ts";
import { HttpError } from "./status.ts";

export interface ParserLimits {
  maxHeadBytes: number;
  maxHeaderCount: number;
  maxBodyBytes: number;
}

export interface RequestHead {
  method: string;
  target: string;
  /** Minor version of HTTP/1.x: 0 or 1. */
  minor: 0 | 1;
  fields: FieldList;
  /** The single Host value, or null when absent (allowed for HTTP/1.0 only). */
  host: string | null;
  /** Body length in bytes when framed by Content-Length (0 when there is no body); -1 for chunked. */
  contentLength: number;
  chunked: boolean;
  /** Persistence as the request asks it (RFC 9112 §9.3): version default and `Connection`. */
  keepAlive: boolean;
  /** The Expect field, trimmed and lower-cased; null when absent or in HTTP/1.0 (RFC 9110 §10.1.1). */
  expect: string | null;
  /** Bytes the head took on the wire, leading empty lines included. */
  headBytes: number;
}

export type ParseEvent =
  | { readonly kind: "head"; readonly head: RequestHead }
  | { readonly kind: "body"; readonly data: Uint8Array }
  | { readonly kind: "end" }
  | { readonly kind: "need-more" };

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

const NEED_MORE: ParseEvent = { kind: "need-more" };
const END: ParseEvent = { kind: "end" };

/** Longest chunk-size line (size + extensions) accepted; llhttp and nginx bound it similarly. */
const MAX_CHUNK_LINE_BYTES = 4096;
/** Hex digits in a chunk size; 16 would already overflow any body limit. */
const MAX_CHUNK_SIZE_DIGITS = 15;

/** Transfer codings registered by RFC 9112 §7 / RFC 9110 §8.4.1; only `chunked` is decoded. */
const KNOWN_CODINGS = new Set(["chunked", "gzip", "x-gzip", "deflate", "compress", "x-compress"]);

const HEX: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let c = 0; c < 10; c++) table[0x30 + c] = c;
  for (let c = 0; c < 6; c++) {
    table[0x41 + c] = 10 + c;
    table[0x61 + c] = 10 + c;
  }
  return table;
})();

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  Failed,
}

export class RequestParser {
  readonly limits: ParserLimits;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #state: State = State.Head;
  /** Head: bytes after #start already searched for the end of the head. */
  #scanned = 0;
  /** Head: empty lines (CRLF) skipped before the request line (RFC 9112 §2.2). */
  #skipped = 0;
  /** Head: whether the request line's CRLF has been seen (decides 414 vs 431). */
  #lineSeen = false;
  /** Head: field lines seen so far, to stop at maxHeaderCount before the head ends. */
  #lines = 0;
  /** Body: bytes left in the current Content-Length body or chunk. */
  #remaining = 0;
  /** Chunked: decoded body bytes so far, against maxBodyBytes. */
  #bodyTotal = 0;
  /** Trailers: bytes and lines of the trailer section so far. */
  #trailerBytes = 0;
  #trailerLines = 0;
  /** A complete head refused for its framing or length (see `refusedHead`). */
  #refused: { method: string; fields: FieldList } | null = null;

  constructor(limits: ParserLimits, initialBytes = 16 * 1024) {
    this.limits = limits;
    this.#buf = new Uint8Array(initialBytes);
  }

  /** Bytes received and not yet consumed. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** True when some bytes of the next request head have arrived (the head timeout applies). */
  get headStarted(): boolean {
    return this.#state === State.Head && (this.#skipped > 0 || this.#end > this.#start);
  }

  /**
   * Method and fields of a head that was read completely and then refused for its framing or
   * its length (400, 413, 501 from the rules of RFC 9112 §6), else null: the refusal can still
   * honour them (a cross-origin page can read a 413 only with its CORS fields).
   */
  get refusedHead(): { readonly method: string; readonly fields: FieldList } | null {
    return this.#refused;
  }

  /** True between a head and the end of its body. */
  get inBody(): boolean {
    return this.#state !== State.Head && this.#state !== State.Failed;
  }

  /** A writable view of at least `minBytes` after the buffered bytes; pass what was read to commit. */
  spare(minBytes: number): Uint8Array {
    if (this.#start === this.#end) {
      this.#start = 0;
      this.#end = 0;
    }
    if (this.#buf.length - this.#end < minBytes) {
      const used = this.#end - this.#start;
      if (this.#buf.length - used >= minBytes) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.max(this.#buf.length * 2, used + minBytes));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      }
      this.#start = 0;
      this.#end = used;
    }
    return this.#buf.subarray(this.#end);
  }

  commit(n: number): void {
    this.#end += n;
  }

  /** Copies `bytes` into the buffer (tests and small writes; the connection uses spare/commit). */
  feed(bytes: Uint8Array): void {
    this.spare(bytes.length).set(bytes);
    this.commit(bytes.length);
  }

  /** The next event the buffered bytes allow; throws HttpError on invalid input. */
  next(): ParseEvent {
    try {
      switch (this.#state) {
        case State.Head:
          return this.#parseHead();
        case State.Length:
          return this.#lengthBody();
        case State.ChunkSize:
        case State.ChunkData:
        case State.ChunkDataEnd:
        case State.Trailers:
          return this.#chunkedBody();
        case State.Failed:
          throw new HttpError(400, "parser used after an error");
      }
    } catch (error) {
      this.#state = State.Failed;
      throw error;
    }
  }

  // ---- head ---------------------------------------------------------------------------------

  #parseHead(): ParseEvent {
    const buf = this.#buf;
    const limit = this.limits.maxHeadBytes;
    // RFC 9112 §2.2: ignore at least one empty line (CRLF) received before the request line.
    if (this.#scanned === 0) {
      while (this.#end - this.#start >= 1 && buf[this.#start] === CR) {
        if (this.#end - this.#start < 2) return this.#needMoreHead();
        if (buf[this.#start + 1] !== LF) throw new HttpError(400, "bare CR before request line");
        this.#start += 2;
        this.#skipped += 2;
        if (this.#skipped > limit) throw new HttpError(400, "too many empty lines before request");
      }
      if (this.#start < this.#end && buf[this.#start] === LF) {
        throw new HttpError(400, "bare LF before request line");
      }
    }

    let pos = this.#start + this.#scanned;
    let lineStart = pos;
    // Walk line ends. Only complete lines are examined, so a partial head costs O(new bytes).
    for (;;) {
      const lf = findLF(buf, pos, this.#end);
      if (lf < 0) {
        this.#scanned = lineStart - this.#start;
        return this.#needMoreHead();
      }
      // Limits first, so the status does not depend on how the bytes were split into reads.
      if (lf - this.#start + 1 + this.#skipped > limit) {
        throw this.#lineSeen || lineStart > this.#start
          ? new HttpError(431, "request head too large")
          : new HttpError(414, "request line too long");
      }
      // RFC 9112 §2.2: a bare LF as line terminator is not accepted here (strict CRLF).
      if (lf === this.#start || buf[lf - 1] !== CR) throw new HttpError(400, "bare LF in head");
      if (lf - 1 === lineStart) {
        // Empty line: the head ends here.
        return this.#completeHead(lf + 1);
      }
      if (lineStart === this.#start) {
        this.#lineSeen = true;
      } else if (++this.#lines > this.limits.maxHeaderCount) {
        throw new HttpError(431, "too many header fields");
      }
      pos = lf + 1;
      lineStart = pos;
    }
  }

  #needMoreHead(): ParseEvent {
    const pending = this.#end - this.#start + this.#skipped;
    if (pending > this.limits.maxHeadBytes) {
      // Only empty lines (and a lone CR) so far: the excess is the empty lines, not a target.
      if (this.#end - this.#start < 2 && this.#skipped > 0) {
        throw new HttpError(400, "too many empty lines before request");
      }
      throw this.#lineSeen
        ? new HttpError(431, "request head too large")
        : new HttpError(414, "request line too long");
    }
    return NEED_MORE;
  }

  #completeHead(headEnd: number): ParseEvent {
    const buf = this.#buf;
    const headStart = this.#start;
    const headBytes = headEnd - headStart + this.#skipped;
    // One decode for the whole head; names and values are then cheap slices of it.
    const text: HeadText = { text: latin1(buf, headStart, headEnd), base: headStart };
    let lf = findLF(buf, headStart, headEnd);
    const { method, target, minor } = parseRequestLine(buf, headStart, lf - 1, text);

    const fields = new FieldList();
    let lineStart = lf + 1;
    while (lineStart < headEnd - 2) {
      lf = findLF(buf, lineStart, headEnd);
      parseFieldLine(buf, lineStart, lf - 1, fields, text);
      lineStart = lf + 1;
    }

    let head: RequestHead;
    try {
      head = interpretFields(method, target, minor, fields, this.limits);
    } catch (error) {
      this.#refused = { method, fields };
      throw error;
    }
    head.headBytes = headBytes;

    this.#start = headEnd;
    this.#scanned = 0;
    this.#skipped = 0;
    this.#lineSeen = false;
    this.#lines = 0;
    if (head.chunked) {
      this.#state = State.ChunkSize;
      this.#bodyTotal = 0;
      this.#trailerBytes = 0;
      this.#trailerLines = 0;
    } else {
      this.#state = State.Length;
      this.#remaining = head.contentLength;
    }
    return { kind: "head", head };
  }

  // ---- bodies -------------------------------------------------------------------------------

  #lengthBody(): ParseEvent {
    if (this.#remaining === 0) {
      this.#state = State.Head;
      return END;
    }
    const available = this.#end - this.#start;
    if (available === 0) return NEED_MORE;
    const n = Math.min(available, this.#remaining);
    const data = this.#buf.subarray(this.#start, this.#start + n);
    this.#start += n;
    this.#remaining -= n;
    return { kind: "body", data };
  }

  /** RFC 9112 §7.1: chunked-body = *chunk last-chunk trailer-section CRLF. */
  #chunkedBody(): ParseEvent {
    const buf = this.#buf;
    for (;;) {
      switch (this.#state) {
        case State.ChunkSize: {
          const lf = this.#findLine(MAX_CHUNK_LINE_BYTES, "chunk size line too long");
          if (lf < 0) return NEED_MORE;
          const size = parseChunkSizeLine(buf, this.#start, lf - 1);
          this.#start = lf + 1;
          if (size === 0) {
            this.#state = State.Trailers;
            continue;
          }
          this.#bodyTotal += size;
          if (this.#bodyTotal > this.limits.maxBodyBytes) {
            throw new HttpError(413, "chunked body exceeds the body limit");
          }
          this.#remaining = size;
          this.#state = State.ChunkData;
          continue;
        }
        case State.ChunkData: {
          const available = this.#end - this.#start;
          if (available === 0) return NEED_MORE;
          const n = Math.min(available, this.#remaining);
          const data = buf.subarray(this.#start, this.#start + n);
          this.#start += n;
          this.#remaining -= n;
          if (this.#remaining === 0) this.#state = State.ChunkDataEnd;
          return { kind: "body", data };
        }
        case State.ChunkDataEnd: {
          if (this.#end - this.#start < 2) {
            if (this.#end > this.#start && buf[this.#start] !== CR) {
              throw new HttpError(400, "chunk data not followed by CRLF");
            }
            return NEED_MORE;
          }
          if (buf[this.#start] !== CR || buf[this.#start + 1] !== LF) {
            throw new HttpError(400, "chunk data not followed by CRLF");
          }
          this.#start += 2;
          this.#state = State.ChunkSize;
          continue;
        }
        case State.Trailers: {
          // RFC 9112 §7.1.2: trailer fields are read, validated like header fields, and dropped.
          const room = this.limits.maxHeadBytes - this.#trailerBytes;
          const lf = this.#findLine(room, "trailer section too large", 431);
          if (lf < 0) return NEED_MORE;
          const lineStart = this.#start;
          this.#trailerBytes += lf + 1 - lineStart;
          this.#start = lf + 1;
          if (lf - 1 === lineStart) {
            this.#state = State.Head;
            return END;
          }
          if (++this.#trailerLines > this.limits.maxHeaderCount) {
            throw new HttpError(431, "too many trailer fields");
          }
          parseFieldLine(buf, lineStart, lf - 1, null, null);
          continue;
        }
        default:
          throw new HttpError(400, "unexpected parser state");
      }
    }
  }

  /** Index of the LF ending the line at #start (CR required before it), or -1 for need-more. */
  #findLine(maxBytes: number, tooLong: string, tooLongStatus = 400): number {
    const lf = findLF(this.#buf, this.#start, this.#end);
    if (lf < 0) {
      if (this.#end - this.#start > maxBytes) throw new HttpError(tooLongStatus, tooLong);
      return -1;
    }
    if (lf + 1 - this.#start > maxBytes) throw new HttpError(tooLongStatus, tooLong);
    if (lf === this.#start || this.#buf[lf - 1] !== CR) throw new HttpError(400, "bare LF");
    return lf;
  }
}

/**
 * Index of the first LF in buf[from, to), or -1. A plain loop: TypedArray indexOf would search
 * past `to` into stale buffer space, and its runtime call costs more than a short line.
 */
function findLF(buf: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) if (buf[i] === LF) return i;
  return -1;
}

/** The head decoded as ISO-8859-1, and the buffer offset its first character came from. */
interface HeadText {
  text: string;
  base: number;
}

function slice(head: HeadText, start: number, end: number): string {
  return head.text.slice(start - head.base, end - head.base);
}

/** RFC 9112 §3: request-line = method SP request-target SP HTTP-version. `end` is the CR. */
function parseRequestLine(
  buf: Uint8Array,
  start: number,
  end: number,
  head: HeadText,
): { method: string; target: string; minor: 0 | 1 } {
  let i = start;
  while (i < end && TCHAR[buf[i] as number] === 1) i++;
  if (i === start || i >= end || buf[i] !== SP) {
    throw new HttpError(400, "malformed method in request line");
  }
  const method = slice(head, start, i);
  const targetStart = ++i;
  // request-target is visible US-ASCII (RFC 3986 characters); whitespace ends it.
  while (i < end && buf[i] as number > 0x20 && buf[i] as number < 0x7f) i++;
  if (i === targetStart || i >= end || buf[i] !== SP) {
    throw new HttpError(400, "malformed request target in request line");
  }
  const target = slice(head, targetStart, i);
  const v = i + 1;
  // HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3); case-sensitive.
  const wellFormed = end - v === 8 && buf[v] === 0x48 && buf[v + 1] === 0x54 &&
    buf[v + 2] === 0x54 && buf[v + 3] === 0x50 && buf[v + 4] === 0x2f &&
    isDigit(buf[v + 5]) && buf[v + 6] === 0x2e && isDigit(buf[v + 7]);
  if (!wellFormed) throw new HttpError(400, "malformed HTTP version");
  if (buf[v + 5] !== 0x31 || (buf[v + 7] !== 0x30 && buf[v + 7] !== 0x31)) {
    throw new HttpError(505, "unsupported HTTP version");
  }
  return { method, target, minor: buf[v + 7] === 0x31 ? 1 : 0 };
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/**
 * RFC 9112 §5: field-line = field-name ":" OWS field-value OWS. `end` is the CR.
 * Adds the field to `fields` (or only validates it when `fields` is null, for trailers).
 */
function parseFieldLine(
  buf: Uint8Array,
  start: number,
  end: number,
  fields: FieldList | null,
  head: HeadText | null,
): void {
  // RFC 9112 §5.2: obs-fold is rejected; so is whitespace before the first field (§2.2).
  if (buf[start] === SP || buf[start] === HTAB) throw new HttpError(400, "obs-fold or leading WS");
  let i = start;
  while (i < end && TCHAR[buf[i] as number] === 1) i++;
  // RFC 9112 §5.1: no whitespace between field name and colon; names are tokens.
  if (i === start || buf[i] !== COLON) throw new HttpError(400, "malformed field name");
  const nameEnd = i++;
  while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  let valueEnd = end;
  while (valueEnd > i && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
  for (let j = i; j < valueEnd; j++) {
    // RFC 9110 §5.5: CR, LF, NUL and other CTLs are invalid in field values.
    if (FIELD_VALUE_BYTE[buf[j] as number] !== 1) {
      throw new HttpError(400, "invalid character in field value");
    }
  }
  if (fields !== null && head !== null) {
    fields.add(slice(head, start, nameEnd).toLowerCase(), slice(head, i, valueEnd));
  }
}

/** RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF. Returns the size; `end` is the CR. */
function parseChunkSizeLine(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  let size = 0;
  let digits = 0;
  while (i < end && HEX[buf[i] as number] !== -1) {
    // Leading zeros are allowed by the grammar; only significant digits can overflow.
    if (size > 0 || buf[i] !== 0x30) digits++;
    if (digits > MAX_CHUNK_SIZE_DIGITS) throw new HttpError(413, "chunk size too large");
    size = size * 16 + (HEX[buf[i] as number] as number);
    i++;
  }
  if (i === start) throw new HttpError(400, "missing chunk size");
  if (i < end) checkChunkExtensions(buf, i, end);
  return size;
}

/**
 * RFC 9112 §7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
 * where a name is a token and a value a token or quoted-string (RFC 9110 §5.6.2, §5.6.4).
 * Extensions are validated, then ignored: one that breaks the grammar is a 400, as in llhttp.
 */
function checkChunkExtensions(buf: Uint8Array, start: number, end: number): void {
  let i = start;
  while (i < end) {
    i = skipBws(buf, i, end);
    if (i === end) throw new HttpError(400, "whitespace at the end of a chunk size line");
    if (buf[i] !== SEMICOLON) throw new HttpError(400, "malformed chunk size");
    i = skipBws(buf, i + 1, end);
    const nameStart = i;
    while (i < end && TCHAR[buf[i] as number] === 1) i++;
    if (i === nameStart) throw new HttpError(400, "chunk extension without a name");
    const afterName = skipBws(buf, i, end);
    if (afterName === end || buf[afterName] !== EQUALS) continue;
    i = skipBws(buf, afterName + 1, end);
    if (buf[i] === DQUOTE) {
      i = skipQuotedString(buf, i, end);
    } else {
      const valueStart = i;
      while (i < end && TCHAR[buf[i] as number] === 1) i++;
      if (i === valueStart) throw new HttpError(400, "malformed chunk extension value");
    }
  }
}

function skipBws(buf: Uint8Array, i: number, end: number): number {
  while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  return i;
}

/** RFC 9110 §5.6.4: quoted-string from the DQUOTE at `i`; returns the index after the closing one. */
function skipQuotedString(buf: Uint8Array, i: number, end: number): number {
  for (i++; i < end; i++) {
    const c = buf[i] as number;
    if (c === DQUOTE) return i + 1;
    if (c === BACKSLASH) {
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      i++;
      if (i >= end || FIELD_VALUE_BYTE[buf[i] as number] !== 1) {
        throw new HttpError(400, "malformed quoted-pair in chunk extension");
      }
    } else if (FIELD_VALUE_BYTE[c] !== 1) {
      // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
      throw new HttpError(400, "invalid character in chunk extension");
    }
  }
  throw new HttpError(400, "unterminated quoted string in chunk extension");
}

/**
 * One transfer-coding (RFC 9112 §7): token *( OWS ";" OWS transfer-parameter ). A name that is
 * not a token is a 400; parameters are only noted, since no coding served here takes any.
 */
function parseCoding(element: string): { name: string; hasParameters: boolean } {
  const semi = element.indexOf(";");
  const name = (semi < 0 ? element : element.slice(0, semi)).trim();
  if (name === "" || !TOKEN.test(name)) throw new HttpError(400, "malformed transfer coding");
  return { name, hasParameters: semi >= 0 };
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/i;

/** Applies the message-framing and connection rules of RFC 9112 §6 and §9 to the fields. */
function interpretFields(
  method: string,
  target: string,
  minor: 0 | 1,
  fields: FieldList,
  limits: ParserLimits,
): RequestHead {
  // RFC 9112 §3.2: a request with zero Host fields in HTTP/1.1, or more than one, is a 400.
  const hosts = fields.count("host");
  if (hosts > 1) throw new HttpError(400, "more than one Host field");
  if (hosts === 0 && minor === 1) throw new HttpError(400, "missing Host field");
  const host = hosts === 1 ? fields.get("host") : null;

  const hasTE = fields.count("transfer-encoding") > 0;
  const lengths = fields.getAll("content-length");
  let contentLength = 0;
  let chunked = false;
  if (hasTE) {
    // RFC 9112 §6.1: Transfer-Encoding is an HTTP/1.1 feature; with Content-Length it is a
    // smuggling vector (§6.3 item 3), so both are refused rather than one being ignored.
    if (minor === 0) throw new HttpError(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (lengths.length > 0) throw new HttpError(400, "both Transfer-Encoding and Content-Length");
    const codings = fields.tokens("transfer-encoding").map(parseCoding);
    // RFC 9112 §6.3 item 4: chunked anywhere but last leaves the length undeterminable: 400,
    // checked first because it is the request-smuggling case. §7: chunked is applied once.
    const firstChunked = codings.findIndex((c) => c.name === "chunked");
    if (firstChunked >= 0 && firstChunked !== codings.length - 1) {
      throw new HttpError(400, "chunked is not the final transfer coding, or applied twice");
    }
    // RFC 9112 §7.1: chunked defines no parameters.
    if (firstChunked >= 0 && codings[firstChunked]!.hasParameters) {
      throw new HttpError(400, "parameters on the chunked transfer coding");
    }
    // RFC 9112 §6.1: an unknown transfer coding is a 501.
    if (codings.some((c) => !KNOWN_CODINGS.has(c.name))) {
      throw new HttpError(501, "unknown transfer coding");
    }
    if (firstChunked < 0) throw new HttpError(400, "chunked is not the final transfer coding");
    if (codings.length > 1) throw new HttpError(501, "transfer coding not implemented");
    chunked = true;
    contentLength = -1;
  } else if (lengths.length > 0) {
    // RFC 9110 §8.6: Content-Length = 1*DIGIT. Lists and differing duplicates are refused;
    // identical duplicates are accepted as one value (§8.6 allows either).
    const first = lengths[0] as string;
    for (const value of lengths) {
      if (!/^[0-9]+$/.test(value)) throw new HttpError(400, "malformed Content-Length");
      if (value !== first) throw new HttpError(400, "conflicting Content-Length fields");
    }
    // Leading zeros are allowed by the grammar; only significant digits can overflow.
    if (first.replace(/^0+/, "").length > 15) throw new HttpError(413, "Content-Length too large");
    contentLength = Number(first);
    if (contentLength > limits.maxBodyBytes) {
      throw new HttpError(413, "body exceeds the body limit");
    }
  }

  // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
  let keepAlive = minor === 1;
  if (fields.count("connection") > 0) {
    const options = fields.tokens("connection");
    if (options.includes("close")) keepAlive = false;
    else if (minor === 0 && options.includes("keep-alive")) keepAlive = true;
  }

  const expectRaw = minor === 1 ? fields.get("expect") : null;
  const expect = expectRaw === null ? null : expectRaw.trim().toLowerCase();

  return {
    method,
    target,
    minor,
    fields,
    host,
    contentLength,
    chunked,
    keepAlive,
    expect,
    headBytes: 0,
  };
}
