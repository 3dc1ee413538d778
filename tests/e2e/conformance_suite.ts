/**
 * An independent conformance and request-smuggling run against the live server (RFC 9112,
 * RFC 9110), written from the RFCs rather than from the parser: smuggling probes (CL.TE, TE.CL,
 * TE.TE obfuscations, CL.0 on every early-answer path), Content-Length and chunk-size oddities,
 * request-line and field-line oddities, Host variants, valid-but-unusual requests that must be
 * served, and fragment tests (every request split at every byte boundary, and byte by byte).
 *
 * Each row is exact bytes on a fresh connection and the outcomes the RFCs allow: the final
 * statuses in order (1xx ignored) and whether the server must close. Where the RFCs allow several
 * answers a row lists them all, but never a 2xx for a malformed request. "Closes" means the
 * server ends the connection by itself (the client never half-closes in those rows); "persists"
 * rows half-close after sending, so every response the server would ever send is read, and the
 * last response must not say `Connection: close`. A row with more responses than expected is a
 * request the server interpreted that it must not have (a smuggled request).
 *
 * Conventions: inputs are binary strings, one character per byte ("\xe9" is the byte 0xE9).
 *
 * The battery runs over any transport (`registerConformance`): conformance_test.ts runs it over
 * plain TCP, conformance_tls_test.ts over TLS, with the same rows.
 */

import assert from "node:assert/strict";
import type { ServerConfig } from "../../src/config.ts";
import { type ConnectOptions, RawClient, type RawResponse } from "../helpers/raw_client.ts";
import { tempRoot, withServer } from "../helpers/server.ts";
import { toBytes } from "../vectors/requests.ts";

/** How the battery reaches the server. */
export interface Transport {
  /** Added to each test's name ("" for plain TCP). */
  label: string;
  /** Server settings that make it speak this transport. */
  server(): Promise<Partial<ServerConfig>>;
  /** How the client connects. */
  connect(): Promise<ConnectOptions>;
}

/** One acceptable result: final statuses in order (an array entry = any of those), and the fate. */
interface Outcome {
  statuses: ReadonlyArray<number | readonly number[]>;
  close: boolean;
  /**
   * Whether the last response must say `Connection: close` (RFC 9112 §9.6, SHOULD). False only
   * where the close is decided by bytes that arrive after the response was sent.
   */
  announced?: boolean;
}

interface Row {
  name: string;
  input: string;
  /** Any one of these is conformant. */
  expect: Outcome[];
  /** Where the RFCs say so. */
  rfc: string;
  /** Extra checks on the responses when the outcome matched. */
  check?: (responses: RawResponse[]) => void;
}

/** One response with one of `statuses`, then the server closes. */
function refuse(...statuses: number[]): Outcome[] {
  return [{ statuses: [statuses], close: true }];
}

/** These responses in order, then the server closes (Connection: close, HTTP/1.0). */
function closeAfter(...statuses: Array<number | number[]>): Outcome[] {
  return [{ statuses, close: true }];
}

/** These responses in order, and the connection persists. */
function serve(...statuses: Array<number | number[]>): Outcome[] {
  return [{ statuses, close: false }];
}

/**
 * A response sent before the body was read, then a close when the body turns out malformed; the
 * response could not announce the close (nginx, which discards bodies the same way, does so too).
 */
function closeLate(...statuses: Array<number | number[]>): Outcome[] {
  return [{ statuses, close: true, announced: false }];
}

function either(...choices: Outcome[][]): Outcome[] {
  return choices.flat();
}

/** A chunk of `data` (RFC 9112 §7.1), size in lower-case hex. */
function chunk(data: string, size = data.length.toString(16)): string {
  return `${size}\r\n${data}\r\n`;
}

const QUIET_MS = 1200;
const CONCURRENCY = 16;

/** `{"key":"0123456789abcdef"}`: 26 bytes, 0x1a, so its size has a hex letter. */
const JSON_BODY = '{"key":"0123456789abcdef"}';

function buildRows(port: number): Row[] {
  const H = `Host: 127.0.0.1:${port}\r\n`;
  /** The pipelined follow-up: served as 200 when (and only when) it is a request. */
  const NEXT = `GET /notes.txt HTTP/1.1\r\n${H}\r\n`;
  /** A request hidden in a body: it must never be answered. */
  const SMUG = `GET /smuggled.txt HTTP/1.1\r\n${H}\r\n`;
  /** A JSON upload (201 proves the body was framed and decoded exactly). */
  const UP = `POST /upload HTTP/1.1\r\n${H}Content-Type: application/json\r\n`;
  /** A request whose body nobody reads: 404, body discarded, connection persists. */
  const SINK = `POST /nope HTTP/1.1\r\n${H}`;
  const J = JSON_BODY;
  const TE_CL = "RFC 9112 §6.1 (MAY reject, MUST close), §6.3 item 3";

  const rows: Row[] = [
    // ---- CL.TE / TE.CL -------------------------------------------------------------------------
    {
      name: "CL.TE: Content-Length 6 then chunked, 'G' left over",
      input: `${SINK}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`,
      expect: refuse(400, 404),
      rfc: TE_CL,
    },
    {
      name: "TE.CL: chunked then Content-Length 4, chunk carries a request",
      input: `${SINK}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n${
        chunk(SMUG)
      }0\r\n\r\n`,
      expect: refuse(400, 404),
      rfc: TE_CL,
    },
    {
      name: "CL.TE on GET with Content-Length: 0, chunk carries a request",
      input:
        `GET /nope.txt HTTP/1.1\r\n${H}Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n` +
        `${chunk(SMUG)}0\r\n\r\n`,
      expect: refuse(400, 404),
      rfc: TE_CL,
    },
    {
      name: "CL.TE with the names in odd case",
      input: `${SINK}cOnTeNt-LeNgTh: 5\r\ntRaNsFeR-eNcOdInG: chunked\r\n\r\n0\r\n\r\n` + SMUG,
      expect: refuse(400, 404),
      rfc: TE_CL,
    },
    {
      name: "CL.TE then a pipelined request: never answered",
      input: `${SINK}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${NEXT}`,
      expect: refuse(400, 404),
      rfc: TE_CL + "; §9.3 (no further requests after a close)",
    },
  ];

  // ---- TE.TE: obfuscated Transfer-Encoding beside a Content-Length ------------------------------
  const obfuscated: Array<[string, string, number[]]> = [
    ["'xchunked'", "Transfer-Encoding: xchunked\r\n", [400, 501]],
    ["'chunked, identity'", "Transfer-Encoding: chunked, identity\r\n", [400, 501]],
    ["'identity'", "Transfer-Encoding: identity\r\n", [400, 501]],
    ["space before colon", "Transfer-Encoding : chunked\r\n", [400]],
    ["tab before colon", "Transfer-Encoding\t: chunked\r\n", [400]],
    ["vertical tab before the value", "Transfer-Encoding: \x0bchunked\r\n", [400]],
    ["form feed after the value", "Transfer-Encoding: chunked\x0c\r\n", [400]],
    ["obs-fold", "Transfer-Encoding:\r\n chunked\r\n", [400, 404]],
    ["quoted", 'Transfer-Encoding: "chunked"\r\n', [400, 501]],
    ["second field 'cow'", "Transfer-Encoding: chunked\r\nTransfer-Encoding: cow\r\n", [400, 501]],
    ["empty value", "Transfer-Encoding: \r\n", [400]],
    ["'CHUNKED'", "Transfer-Encoding: CHUNKED\r\n", [400, 404]],
  ];
  for (const [what, field, statuses] of obfuscated) {
    rows.push({
      name: `TE.TE: Transfer-Encoding ${what} with Content-Length`,
      input: `${SINK}Content-Length: 4\r\n${field}\r\n${chunk(SMUG)}0\r\n\r\n`,
      expect: refuse(...statuses),
      rfc: `${TE_CL}; RFC 9112 §5.1, §5.2, §6.1; RFC 9110 §5.5`,
    });
  }

  // ---- Transfer-Encoding alone: what is chunked and what is not -----------------------------------
  const body = `${chunk(SMUG)}0\r\n\r\n`;
  const teRows: Array<[string, string, Outcome[], string]> = [
    ["extra leading SP (OWS)", "Transfer-Encoding:   chunked", serve(404), "RFC 9112 §5.1 (OWS)"],
    ["trailing SP (OWS)", "Transfer-Encoding: chunked  ", serve(404), "RFC 9112 §5.1 (OWS)"],
    ["trailing HTAB (OWS)", "Transfer-Encoding: chunked\t", serve(404), "RFC 9112 §5.1 (OWS)"],
    ["'CHUNKED' (case-insensitive)", "Transfer-Encoding: CHUNKED", serve(404), "RFC 9112 §7"],
    ["'Chunked', lower-case name", "transfer-encoding: Chunked", serve(404), "RFC 9112 §7"],
    [
      "'chunked,' (empty list element)",
      "Transfer-Encoding: chunked,",
      serve(404),
      "RFC 9110 §5.6.1.2",
    ],
    [
      ", chunked' (empty list element)",
      "Transfer-Encoding: , chunked",
      serve(404),
      "RFC 9110 §5.6.1.2",
    ],
    ["'xchunked'", "Transfer-Encoding: xchunked", refuse(400, 501), "RFC 9112 §6.1, §6.3 item 4"],
    ["'chunkedx'", "Transfer-Encoding: chunkedx", refuse(400, 501), "RFC 9112 §6.1, §6.3 item 4"],
    [
      "'chunked, identity'",
      "Transfer-Encoding: chunked, identity",
      refuse(400, 501),
      "RFC 9112 §6.3 item 4 (chunked not final: MUST 400)",
    ],
    [
      "'identity, chunked'",
      "Transfer-Encoding: identity, chunked",
      refuse(400, 501),
      "RFC 9112 §6.1 (unknown coding: SHOULD 501)",
    ],
    [
      "'chunked, chunked'",
      "Transfer-Encoding: chunked, chunked",
      refuse(400, 501),
      "RFC 9112 §7.1 (chunked once)",
    ],
    [
      "two 'chunked' fields",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
      refuse(400, 501),
      "RFC 9112 §7.1 (chunked once)",
    ],
    [
      "fields 'chunked' then 'identity'",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity",
      refuse(400, 501),
      "RFC 9112 §6.3 item 4",
    ],
    [
      "quoted '\"chunked\"'",
      'Transfer-Encoding: "chunked"',
      refuse(400, 501),
      "RFC 9112 §7 (transfer-coding is a token)",
    ],
    [
      "obs-fold",
      "Transfer-Encoding:\r\n chunked",
      either(refuse(400), serve(404)),
      "RFC 9112 §5.2 (reject, or unfold to SP)",
    ],
    ["NUL before the value", "Transfer-Encoding: \x00chunked", refuse(400), "RFC 9110 §5.5"],
    [
      "'chunked;' (parameter without name)",
      "Transfer-Encoding: chunked;",
      refuse(400, 501),
      'RFC 9110 §10.1.4 / RFC 9112 §7: transfer-parameter = token BWS "=" BWS ( token / quoted-string )',
    ],
    [
      "'chunked;foo' (parameter without value)",
      "Transfer-Encoding: chunked;foo",
      refuse(400, 501),
      'RFC 9112 §7: transfer-parameter needs "=" value',
    ],
    [
      "'chunked;foo=bar' (parameter chunked does not define)",
      "Transfer-Encoding: chunked;foo=bar",
      either(refuse(400, 501), serve(404)),
      "RFC 9112 §7 (doubtful: grammar allows, chunked defines none)",
    ],
    [
      "'gzip, chunked' (valid, not implemented)",
      "Transfer-Encoding: gzip, chunked",
      refuse(501),
      "RFC 9112 §6.1 (SHOULD 501)",
    ],
  ];
  for (const [what, fields, expect, rfc] of teRows) {
    rows.push({
      name: `Transfer-Encoding ${what}`,
      input: `${SINK}${fields}\r\n\r\n${body}`,
      expect,
      rfc,
    });
  }
  rows.push(
    {
      name: "HTTP/1.0 with Transfer-Encoding: chunked",
      input: `POST /nope HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
      expect: refuse(400),
      rfc: "RFC 9112 §6.1 (HTTP/1.0 + TE: framing faulty, close)",
    },
    {
      name: "HTTP/1.0 with Transfer-Encoding and Content-Length",
      input:
        `POST /nope HTTP/1.0\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${body}`,
      expect: refuse(400),
      rfc: "RFC 9112 §6.1",
    },
  );

  // ---- Content-Length variants: body "hello", then a pipelined request --------------------------
  const clRows: Array<[string, string, Outcome[], string]> = [
    ["'+5'", "Content-Length: +5", refuse(400), "RFC 9110 §8.6 (1*DIGIT); RFC 9112 §6.3 item 5"],
    ["'-5'", "Content-Length: -5", refuse(400), "RFC 9110 §8.6"],
    ["'0x5'", "Content-Length: 0x5", refuse(400), "RFC 9110 §8.6"],
    ["'5.0'", "Content-Length: 5.0", refuse(400), "RFC 9110 §8.6"],
    [
      "'5 ' (trailing OWS)",
      "Content-Length: 5 ",
      serve(404, 200),
      "RFC 9112 §5.1 (OWS is not part of the value)",
    ],
    ["' 5' (extra leading OWS)", "Content-Length:  5", serve(404, 200), "RFC 9112 §5.1"],
    ["HTAB-wrapped", "Content-Length:\t5\t", serve(404, 200), "RFC 9112 §5.1"],
    ["'05' (leading zero)", "Content-Length: 05", serve(404, 200), "RFC 9110 §8.6 (1*DIGIT)"],
    [
      "'5,5' (list of one value)",
      "Content-Length: 5,5",
      either(refuse(400), serve(404, 200)),
      "RFC 9110 §8.6 (MAY reject or use 5)",
    ],
    [
      "'5, 6' (list of two values)",
      "Content-Length: 5, 6",
      refuse(400),
      "RFC 9110 §8.6; RFC 9112 §6.3 item 5",
    ],
    [
      "two equal fields",
      "Content-Length: 5\r\nContent-Length: 5",
      either(refuse(400), serve(404, 200)),
      "RFC 9110 §8.6 (MAY)",
    ],
    [
      "two differing fields",
      "Content-Length: 5\r\nContent-Length: 6",
      refuse(400),
      "RFC 9112 §6.3 item 5",
    ],
    [
      "two fields, differing name case and value",
      "Content-Length: 5\r\ncontent-length: 50",
      refuse(400),
      "RFC 9112 §6.3 item 5",
    ],
    [
      "very large (30 digits)",
      "Content-Length: 999999999999999999999999999999",
      refuse(400, 413),
      "RFC 9110 §8.6 (no overflow), §15.5.14",
    ],
    [
      "2^53 + 1",
      "Content-Length: 9007199254740993",
      refuse(400, 413),
      "RFC 9110 §8.6 (no precision loss)",
    ],
    ["empty", "Content-Length:", refuse(400), "RFC 9110 §8.6"],
    ["vertical tab after the value", "Content-Length: 5\x0b", refuse(400), "RFC 9110 §5.5, §8.6"],
    ["space before colon", "Content-Length : 5", refuse(400), "RFC 9112 §5.1 (MUST 400)"],
    ["obs-fold", "Content-Length:\r\n 5", either(refuse(400), serve(404, 200)), "RFC 9112 §5.2"],
  ];
  for (const [what, fields, expect, rfc] of clRows) {
    rows.push({
      name: `Content-Length ${what}`,
      input: `${SINK}${fields}\r\n\r\nhello${NEXT}`,
      expect,
      rfc,
    });
  }

  // ---- CL.0: bodies on every path that answers without reading them ----------------------------
  const smugLength = `Content-Length: ${SMUG.length}\r\n`;
  rows.push(
    {
      name: "CL.0: GET of a file with a body that is a request",
      input: `GET /notes.txt HTTP/1.1\r\n${H}${smugLength}\r\n${SMUG}`,
      expect: serve(200),
      rfc: "RFC 9112 §6.3 item 6 (Content-Length frames any request)",
    },
    {
      name: "CL.0: 404 POST with a body that is a request",
      input: `${SINK}${smugLength}\r\n${SMUG}`,
      expect: serve(404),
      rfc: "RFC 9112 §6.3 item 6",
    },
    {
      name: "CL.0: 405 DELETE with a body that is a request",
      input: `DELETE /notes.txt HTTP/1.1\r\n${H}${smugLength}\r\n${SMUG}`,
      expect: either(serve(405), refuse(405)),
      rfc: "RFC 9112 §6.3 item 6",
    },
    {
      name: "CL.0: 405 POST to a file with a body that is a request",
      input: `POST /index.html HTTP/1.1\r\n${H}${smugLength}\r\n${SMUG}`,
      expect: either(serve(405), refuse(405)),
      rfc: "RFC 9112 §6.3 item 6",
    },
    {
      name: "CL.0: 403 foreign Host with a body that is a request",
      input: `POST /upload HTTP/1.1\r\nHost: evil.example\r\n${smugLength}\r\n${SMUG}`,
      expect: either(serve(403), refuse(403)),
      rfc: "RFC 9112 §6.3 item 6",
    },
    {
      name: "CL.0: 403 unsafe path with a body that is a request",
      input: `GET /a/../notes.txt HTTP/1.1\r\n${H}${smugLength}\r\n${SMUG}`,
      expect: either(serve(403), refuse(403)),
      rfc: "RFC 9112 §6.3 item 6",
    },
    {
      name: "CL.0: 415 upload of text/plain with a body that is a request",
      input: `POST /upload HTTP/1.1\r\n${H}Content-Type: text/plain\r\n${smugLength}\r\n${SMUG}`,
      expect: either(serve(415), refuse(415)),
      rfc: "RFC 9112 §6.3 item 6",
    },
    {
      name: "CL.0: 501 unknown method with a body that is a request",
      input: `BREW /pot HTTP/1.1\r\n${H}${smugLength}\r\n${SMUG}`,
      expect: either(serve(501), refuse(501)),
      rfc: "RFC 9110 §9.1; RFC 9112 §6.3 item 6",
    },
    {
      name: "CL.0: 417 unknown expectation with a body that is a request",
      input: `${SINK}Expect: tea\r\n${smugLength}\r\n${SMUG}`,
      expect: either(serve(417), refuse(417)),
      rfc: "RFC 9110 §10.1.1; RFC 9112 §6.3 item 6",
    },
    {
      name: "CL.0: 404 with Expect: 100-continue and the body sent at once",
      input: `${SINK}Expect: 100-continue\r\n${smugLength}\r\n${SMUG}`,
      expect: either(serve(404), refuse(404)),
      rfc: "RFC 9110 §10.1.1 (close or read the body); RFC 9112 §6.3",
    },
    {
      name: "CL.0: OPTIONS * with a body that is a request",
      input: `OPTIONS * HTTP/1.1\r\n${H}${smugLength}\r\n${SMUG}`,
      expect: either(serve([200, 204, 405]), refuse(200, 204, 405)),
      rfc: "RFC 9110 §9.3.7; RFC 9112 §6.3 item 6",
    },
    {
      name: "chunked 404 POST whose one chunk is a request",
      input: `${SINK}Transfer-Encoding: chunked\r\n\r\n${chunk(SMUG)}0\r\n\r\n`,
      expect: serve(404),
      rfc: "RFC 9112 §6.3 item 4, §7.1",
    },
    {
      name: "CL.0 (HTTP/1.0 keep-alive): GET with a body that is a request",
      input: `GET /notes.txt HTTP/1.0\r\nConnection: keep-alive\r\n${smugLength}\r\n${SMUG}`,
      expect: serve(200),
      rfc: "RFC 9112 §6.3 item 6",
    },
  );

  // ---- pipelining: the second request must (or must not) be interpreted -------------------------
  rows.push(
    {
      name: "two pipelined GETs in one packet",
      input: NEXT + NEXT,
      expect: serve(200, 200),
      rfc: "RFC 9112 §9.3.2",
    },
    {
      name: "three pipelined requests: GET, HEAD-free POST 404, GET",
      input: `${NEXT}${SINK}Content-Length: 5\r\n\r\nhello${NEXT}`,
      expect: serve(200, 404, 200),
      rfc: "RFC 9112 §9.3.2",
    },
    {
      name: "GET with Content-Length: 0, then a pipelined GET",
      input: `GET /notes.txt HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n${NEXT}`,
      expect: serve(200, 200),
      rfc: "RFC 9112 §6.3 item 6",
    },
    {
      name: "chunked POST, then a pipelined GET",
      input: `${SINK}Transfer-Encoding: chunked\r\n\r\n${chunk("hello")}0\r\n\r\n${NEXT}`,
      expect: serve(404, 200),
      rfc: "RFC 9112 §7.1",
    },
    {
      name: "chunked body without its final CRLF, then a request (read as a trailer line)",
      input: `${UP}Transfer-Encoding: chunked\r\n\r\n${chunk(J)}0\r\n${NEXT}`,
      expect: refuse(400),
      rfc: "RFC 9112 §7.1 (trailer-section CRLF), §5",
    },
    {
      name: "Connection: close, then a pipelined GET (never processed)",
      input: `GET /notes.txt HTTP/1.1\r\n${H}Connection: close\r\n\r\n${NEXT}`,
      expect: closeAfter(200),
      rfc: "RFC 9112 §9.6 (MUST NOT process further requests)",
    },
    {
      name: "HTTP/1.0 without keep-alive, then a pipelined GET (never processed)",
      input: `GET /notes.txt HTTP/1.0\r\n\r\n${NEXT}`,
      expect: closeAfter(200),
      rfc: "RFC 9112 §9.3",
    },
    {
      name: "HTTP/1.0 keep-alive, then an HTTP/1.1 GET",
      input: `GET /notes.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n${NEXT}`,
      expect: serve(200, 200),
      rfc: "RFC 9112 §9.3",
    },
    {
      name: "valid GET, then a malformed request: one 200, then 400 and close",
      input: `${NEXT}GET  /notes.txt HTTP/1.1\r\n${H}\r\n${NEXT}`,
      expect: closeAfter(200, 400),
      rfc: "RFC 9112 §3",
    },
  );

  // ---- chunked bodies: sizes, extensions, terminators, trailers (JSON upload, then NEXT) --------
  const chunkRows: Array<[string, string, Outcome[], string]> = [
    [
      "upper-case hex size '1A'",
      chunk(J, "1A") + "0\r\n\r\n",
      serve(201, 200),
      "RFC 9112 §7.1 (HEXDIG is case-insensitive)",
    ],
    [
      "zero-padded size '0001a'",
      chunk(J, "0001a") + "000\r\n\r\n",
      serve(201, 200),
      "RFC 9112 §7.1 (1*HEXDIG)",
    ],
    [
      "one byte per chunk",
      [...J].map((c) => chunk(c)).join("") + "0\r\n\r\n",
      serve(201, 200),
      "RFC 9112 §7.1",
    ],
    [
      "extension with BWS '1a ; a = b'",
      chunk(J, "1a ; a = b") + "0\r\n\r\n",
      serve(201, 200),
      "RFC 9112 §7.1.1 (BWS)",
    ],
    [
      "extension after HTAB '1a\\t;a'",
      chunk(J, "1a\t;a") + "0\r\n\r\n",
      serve(201, 200),
      "RFC 9112 §7.1.1 (BWS)",
    ],
    [
      "extensions ';a;b=c' and on the last chunk",
      chunk(J, "1a;a;b=c") + "0;z=1\r\n\r\n",
      serve(201, 200),
      "RFC 9112 §7.1.1",
    ],
    [
      "quoted extension with ';' and escaped quote",
      chunk(J, '1a;a="x;\\"y"') + "0\r\n\r\n",
      serve(201, 200),
      "RFC 9112 §7.1.1; RFC 9110 §5.6.4",
    ],
    [
      "quoted extension with obs-text",
      chunk(J, '1a;a="\xe9"') + "0\r\n\r\n",
      serve(201, 200),
      "RFC 9110 §5.6.4 (qdtext includes obs-text)",
    ],
    [
      "trailer fields (obs-text value)",
      chunk(J) + "0\r\nX-Trailer: v\r\nX-Other: \xe9\r\n\r\n",
      serve(201, 200),
      "RFC 9112 §7.1.2",
    ],
    [
      "trailers naming framing fields (ignored)",
      chunk(J) + `0\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n${H}\r\n`,
      serve(201, 200),
      "RFC 9110 §6.5.1 (not merged into the header section)",
    ],
    ["negative size", chunk(J, "-1a") + "0\r\n\r\n", refuse(400), "RFC 9112 §7.1 (1*HEXDIG)"],
    ["'+1a'", chunk(J, "+1a") + "0\r\n\r\n", refuse(400), "RFC 9112 §7.1"],
    ["'0x1a'", chunk(J, "0x1a") + "0\r\n\r\n", refuse(400), "RFC 9112 §7.1"],
    [
      "hex overflow (20 digits)",
      chunk(J, "1000000000000000001a") + "0\r\n\r\n",
      refuse(400, 413),
      "RFC 9112 §7.1 (MUST anticipate overflow)",
    ],
    ["leading SP ' 1a'", chunk(J, " 1a") + "0\r\n\r\n", refuse(400), "RFC 9112 §7.1"],
    ["leading HTAB", chunk(J, "\t1a") + "0\r\n\r\n", refuse(400), "RFC 9112 §7.1"],
    [
      "trailing SP without extension '1a '",
      chunk(J, "1a ") + "0\r\n\r\n",
      refuse(400),
      "RFC 9112 §7.1 (BWS only before ';')",
    ],
    ["NUL after the size", chunk(J, "1a\x00") + "0\r\n\r\n", refuse(400), "RFC 9112 §7.1"],
    [
      "control byte in extension",
      chunk(J, "1a;a=\x01") + "0\r\n\r\n",
      refuse(400),
      "RFC 9112 §7.1.1",
    ],
    [
      "bare CR in extension",
      chunk(J, "1a;a\rb") + "0\r\n\r\n",
      refuse(400),
      "RFC 9112 §2.2, §7.1.1",
    ],
    [
      "extension ';' with no name",
      chunk(J, "1a;") + "0\r\n\r\n",
      refuse(400),
      "RFC 9112 §7.1.1 (chunk-ext-name = token)",
    ],
    [
      "extension name with a space ';a b'",
      chunk(J, "1a;a b") + "0\r\n\r\n",
      refuse(400),
      "RFC 9112 §7.1.1",
    ],
    [
      "extension '=v' without name",
      chunk(J, "1a;=v") + "0\r\n\r\n",
      refuse(400),
      "RFC 9112 §7.1.1",
    ],
    [
      "extension value with a space 'a=b c'",
      chunk(J, "1a;a=b c") + "0\r\n\r\n",
      refuse(400),
      "RFC 9112 §7.1.1 (token / quoted-string)",
    ],
    [
      "extension with unterminated quote",
      chunk(J, '1a;a="x') + "0\r\n\r\n",
      refuse(400),
      "RFC 9110 §5.6.4",
    ],
    ["extension name '@'", chunk(J, "1a;@") + "0\r\n\r\n", refuse(400), "RFC 9112 §7.1.1 (tchar)"],
    [
      "bare LF inside an extension",
      chunk(J, "1a;a\nb") + "0\r\n\r\n",
      refuse(400),
      "RFC 9112 §7.1.1, §2.2",
    ],
    [
      "bare LF inside a quoted extension value",
      chunk(J, '1a;a="x\ny"') + "0\r\n\r\n",
      refuse(400),
      "RFC 9110 §5.6.4 (qdtext has no LF)",
    ],
    ["chunk data followed by CR CR LF", `1a\r\n${J}\r\r\n0\r\n\r\n`, refuse(400), "RFC 9112 §7.1"],
    ["chunk data not followed by CRLF", `1a\r\n${J}0\r\n\r\n`, refuse(400), "RFC 9112 §7.1"],
    ["chunk data followed by bare LF", `1a\r\n${J}\n0\r\n\r\n`, refuse(400), "RFC 9112 §7.1"],
    [
      "LF-only line endings throughout",
      `1a\n${J}\n0\n\n`,
      refuse(400),
      "RFC 9112 §7.1 (CRLF); §2.2 (MAY accept LF in the head only)",
    ],
    ["size line ended by bare CR", `1a\r${J}\r\n0\r\n\r\n`, refuse(400), "RFC 9112 §2.2, §7.1"],
    ["last-chunk ended by bare LF", `${chunk(J)}0\n\r\n`, refuse(400), "RFC 9112 §7.1"],
    ["trailer section ended by bare LF", `${chunk(J)}0\r\n\n`, refuse(400), "RFC 9112 §7.1"],
    [
      "size larger than the data (eats the next request)",
      `1a\r\n{"a":1}\r\n0\r\n\r\n`,
      refuse(400),
      "RFC 9112 §7.1",
    ],
    [
      "trailer name with a space",
      `${chunk(J)}0\r\nBad Name: x\r\n\r\n`,
      refuse(400),
      "RFC 9112 §7.1.2, §5.1",
    ],
    ["trailer with an empty name", `${chunk(J)}0\r\n: x\r\n\r\n`, refuse(400), "RFC 9112 §5"],
    ["trailer line without a colon", `${chunk(J)}0\r\nNoColon\r\n\r\n`, refuse(400), "RFC 9112 §5"],
    [
      "trailer name with '('",
      `${chunk(J)}0\r\nX(y): z\r\n\r\n`,
      refuse(400),
      "RFC 9110 §5.1 (token)",
    ],
    [
      "trailer with whitespace before the colon",
      `${chunk(J)}0\r\nX-T : v\r\n\r\n`,
      refuse(400),
      "RFC 9112 §5.1",
    ],
    [
      "trailer value with a bare CR",
      `${chunk(J)}0\r\nX-T: a\rb\r\n\r\n`,
      refuse(400),
      "RFC 9110 §5.5",
    ],
  ];
  for (const [what, chunks, expect, rfc] of chunkRows) {
    rows.push({
      name: `chunked: ${what}`,
      input: `${UP}Transfer-Encoding: chunked\r\n\r\n${chunks}${NEXT}`,
      expect,
      rfc,
    });
  }
  rows.push(
    {
      name: "chunked: bad extension on a 404 path that never reads the body",
      input: `${SINK}Transfer-Encoding: chunked\r\n\r\n${
        chunk("hello", "5;a\x01")
      }0\r\n\r\n${NEXT}`,
      expect: either(refuse(400), closeLate(404)),
      rfc: "RFC 9112 §7.1.1 (framing error: close)",
    },
    {
      name: "chunked: missing CRLF after data on a 404 path that never reads the body",
      input: `${SINK}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloX${NEXT}`,
      expect: either(refuse(400), closeLate(404)),
      rfc: "RFC 9112 §7.1 (framing error: close)",
    },
  );

  // ---- request line ----------------------------------------------------------------------------
  const lineRows: Array<[string, string, Outcome[], string]> = [
    [
      "double space after the method",
      `GET  /notes.txt HTTP/1.1\r\n${H}\r\n`,
      refuse(400),
      "RFC 9112 §3 (single SP)",
    ],
    [
      "double space before the version",
      `GET /notes.txt  HTTP/1.1\r\n${H}\r\n`,
      refuse(400),
      "RFC 9112 §3",
    ],
    ["HTAB separators", `GET\t/notes.txt\tHTTP/1.1\r\n${H}\r\n`, refuse(400), "RFC 9112 §3"],
    ["form feed separator", `GET\x0c/notes.txt HTTP/1.1\r\n${H}\r\n`, refuse(400), "RFC 9112 §3"],
    [
      "leading SP before the method",
      ` GET /notes.txt HTTP/1.1\r\n${H}\r\n`,
      refuse(400),
      "RFC 9112 §3",
    ],
    [
      "trailing word after the version",
      `GET /notes.txt HTTP/1.1 x\r\n${H}\r\n`,
      refuse(400),
      "RFC 9112 §3",
    ],
    [
      "lower-case 'http/1.1'",
      `GET /notes.txt http/1.1\r\n${H}\r\n`,
      refuse(400),
      "RFC 9112 §2.3 (HTTP-name is case-sensitive)",
    ],
    [
      "'HTTP/1.10'",
      `GET /notes.txt HTTP/1.10\r\n${H}\r\n`,
      refuse(400, 505),
      'RFC 9112 §2.3 (DIGIT "." DIGIT)',
    ],
    ["'HTTP/01.1'", `GET /notes.txt HTTP/01.1\r\n${H}\r\n`, refuse(400, 505), "RFC 9112 §2.3"],
    [
      "'HTTP/1.1' with NUL",
      `GET /notes.txt HTTP/1.1\x00\r\n${H}\r\n`,
      refuse(400),
      "RFC 9112 §2.3",
    ],
    ["HTTP/0.9 style (no version)", `GET /notes.txt\r\n\r\n`, refuse(400), "RFC 9112 §3"],
    [
      "fragment in origin-form",
      `GET /notes.txt#frag HTTP/1.1\r\n${H}\r\n`,
      refuse(400, 301),
      "RFC 9112 §3.2 (no fragment), §3 (400 or 301)",
    ],
    [
      "fragment in absolute-form",
      `GET http://127.0.0.1:${port}/notes.txt#f HTTP/1.1\r\n${H}\r\n`,
      refuse(400, 301),
      "RFC 9112 §3.2.2",
    ],
    [
      "raw non-ASCII byte in the target",
      `GET /caf\xe9.txt HTTP/1.1\r\n${H}\r\n`,
      refuse(400, 301),
      "RFC 9112 §3.2 (RFC 3986 characters)",
    ],
    [
      "raw UTF-8 in the target",
      `GET /\xc3\xa9.txt HTTP/1.1\r\n${H}\r\n`,
      refuse(400, 301),
      "RFC 9112 §3.2",
    ],
    ["NUL in the target", `GET /notes\x00.txt HTTP/1.1\r\n${H}\r\n`, refuse(400), "RFC 9112 §3.2"],
    ["DEL in the target", `GET /notes\x7f.txt HTTP/1.1\r\n${H}\r\n`, refuse(400), "RFC 9112 §3.2"],
    [
      "vertical tab in the target",
      `GET /notes\x0b.txt HTTP/1.1\r\n${H}\r\n`,
      refuse(400),
      "RFC 9112 §3.2",
    ],
    [
      "malformed percent-escape",
      `GET /notes%zz.txt HTTP/1.1\r\n${H}\r\n`,
      refuse(400),
      "RFC 3986 §2.1",
    ],
    [
      "authority-form with GET",
      `GET 127.0.0.1:${port} HTTP/1.1\r\n${H}\r\n`,
      refuse(400),
      "RFC 9112 §3.2.3 (CONNECT only)",
    ],
    [
      "asterisk-form with GET",
      `GET * HTTP/1.1\r\n${H}\r\n`,
      refuse(400),
      "RFC 9112 §3.2.4 (OPTIONS only)",
    ],
    [
      "absolute-form with userinfo",
      `GET http://user@127.0.0.1:${port}/notes.txt HTTP/1.1\r\n${H}\r\n`,
      either(refuse(400), serve(403)),
      "RFC 9110 §4.2.4 (treat userinfo as an error)",
    ],
    [
      "absolute-form with userinfo naming the served host",
      `GET http://127.0.0.1:${port}@evil.example/notes.txt HTTP/1.1\r\n${H}\r\n`,
      either(refuse(400), serve(403)),
      "RFC 9110 §4.2.4",
    ],
    [
      "absolute-form with an empty host",
      `GET http:///notes.txt HTTP/1.1\r\n${H}\r\n`,
      refuse(400),
      "RFC 9110 §4.2.1 (MUST reject as invalid)",
    ],
    [
      "absolute-form with a non-numeric port",
      `GET http://127.0.0.1:${port}x/notes.txt HTTP/1.1\r\n${H}\r\n`,
      refuse(400),
      "RFC 3986 §3.2.3",
    ],
    [
      "absolute-form with an unclosed IPv6 literal",
      `GET http://[::1/notes.txt HTTP/1.1\r\n${H}\r\n`,
      refuse(400),
      "RFC 3986 §3.2.2",
    ],
    [
      "absolute-form without Host in HTTP/1.1",
      `GET http://127.0.0.1:${port}/notes.txt HTTP/1.1\r\n\r\n`,
      refuse(400),
      "RFC 9112 §3.2 (MUST 400)",
    ],
    [
      "absolute-form with two Host fields",
      `GET http://127.0.0.1:${port}/notes.txt HTTP/1.1\r\n${H}${H}\r\n`,
      refuse(400),
      "RFC 9112 §3.2 (MUST 400)",
    ],
    [
      "lower-case method 'get' (methods are case-sensitive)",
      `get /notes.txt HTTP/1.1\r\n${H}\r\n`,
      either(refuse(501, 405, 400), serve(501, 405)),
      "RFC 9110 §9.1",
    ],
    [
      "'<' and '>' raw in the query (doubtful: SHOULD 400)",
      `GET /notes.txt?a=<b> HTTP/1.1\r\n${H}\r\n`,
      either(refuse(400, 301), serve(200)),
      "RFC 9112 §3 (SHOULD); llhttp/nginx accept",
    ],
  ];
  for (const [what, input, expect, rfc] of lineRows) {
    rows.push({ name: `request line: ${what}`, input, expect, rfc });
  }

  // ---- field lines ----------------------------------------------------------------------------
  const GET = `GET /notes.txt HTTP/1.1\r\n${H}`;
  const fieldRows: Array<[string, string, Outcome[], string]> = [
    ["name with a space", "X Foo: a", refuse(400), "RFC 9110 §5.1 (token)"],
    ["name with '('", "X(Foo): a", refuse(400), "RFC 9110 §5.1"],
    ["name with '/'", "X/Foo: a", refuse(400), "RFC 9110 §5.1"],
    ["name with '@'", "X@Foo: a", refuse(400), "RFC 9110 §5.1"],
    ["name with '['", "X[Foo]: a", refuse(400), "RFC 9110 §5.1"],
    ["name with '='", "X=Foo: a", refuse(400), "RFC 9110 §5.1"],
    ["name with '\"'", 'X"Foo": a', refuse(400), "RFC 9110 §5.1"],
    ["name with DEL", "X\x7fFoo: a", refuse(400), "RFC 9110 §5.1"],
    ["name with NUL", "X\x00Foo: a", refuse(400), "RFC 9110 §5.1"],
    ["name with obs-text", "X\xe9: a", refuse(400), "RFC 9110 §5.1"],
    ["empty name", ": a", refuse(400), "RFC 9112 §5"],
    ["line without a colon", "X-Foo a", refuse(400), "RFC 9112 §5"],
    [
      "NUL in a value",
      "X-Foo: a\x00b",
      refuse(400),
      "RFC 9110 §5.5 (MUST reject or replace; never 2xx here)",
    ],
    ["bare CR in a value", "X-Foo: a\rb", refuse(400), "RFC 9110 §5.5; RFC 9112 §2.2"],
    ["DEL in a value", "X-Foo: a\x7fb", refuse(400), "RFC 9110 §5.5 (CTL)"],
    ["vertical tab in a value", "X-Foo: a\x0bb", refuse(400), "RFC 9110 §5.5"],
    ["form feed in a value", "X-Foo: a\x0cb", refuse(400), "RFC 9110 §5.5"],
    ["ESC in a value", "X-Foo: a\x1bb", refuse(400), "RFC 9110 §5.5"],
    [
      "obs-fold (reject, or unfold to SP)",
      "X-Foo: a\r\n b",
      either(refuse(400), serve(200)),
      "RFC 9112 §5.2",
    ],
    [
      "obs-text 0x80-0xFF in a value",
      "X-Foo: caf\xe9 \x80\xff",
      serve(200),
      "RFC 9110 §5.5 (obs-text allowed)",
    ],
    ["HTAB inside a value", "X-Foo: a\tb", serve(200), "RFC 9110 §5.5"],
    ["HTAB and SP around a value", "X-Foo:\t \ta b\t \t", serve(200), "RFC 9112 §5.1 (OWS)"],
    ["empty value", "X-Empty:", serve(200), "RFC 9110 §5.5 (field-value may be empty)"],
    ["whitespace-only value", "X-Empty: \t ", serve(200), "RFC 9110 §5.5"],
    ["colons in a value", "X-Foo: a:b::c", serve(200), "RFC 9110 §5.5"],
    ["every tchar in a name", "!#$%&'*+-.^_`|~09AZaz: x", serve(200), "RFC 9110 §5.6.2"],
    [
      "mixed-case names",
      "uSeR-aGeNt: x\r\nACCEPT: */*",
      serve(200),
      "RFC 9110 §5.1 (case-insensitive)",
    ],
    [
      "Transfer-Encoding on a GET with an empty chunked body",
      "Transfer-Encoding: chunked\r\n\r\n0",
      serve(200),
      "RFC 9112 §6.1",
    ],
  ];
  for (const [what, fields, expect, rfc] of fieldRows) {
    rows.push({ name: `field: ${what}`, input: `${GET}${fields}\r\n\r\n`, expect, rfc });
  }

  // ---- Host ----------------------------------------------------------------------------------
  const hostRows: Array<[string, string, Outcome[], string]> = [
    [
      "missing in HTTP/1.1",
      "GET /notes.txt HTTP/1.1\r\n\r\n",
      refuse(400),
      "RFC 9112 §3.2 (MUST 400)",
    ],
    [
      "two Host fields",
      `GET /notes.txt HTTP/1.1\r\n${H}${H}\r\n`,
      refuse(400),
      "RFC 9112 §3.2 (MUST 400)",
    ],
    [
      "two Host fields, one of them empty",
      `GET /notes.txt HTTP/1.1\r\n${H}Host:\r\n\r\n`,
      refuse(400),
      "RFC 9112 §3.2",
    ],
    [
      "with the port",
      `GET /notes.txt HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`,
      serve(200),
      "RFC 9110 §7.2",
    ],
    [
      "IPv6 literal (valid, not served)",
      `GET /notes.txt HTTP/1.1\r\nHost: [::1]:${port}\r\n\r\n`,
      serve(403),
      "RFC 9110 §7.2; SPEC host list",
    ],
    [
      "unbracketed IPv6",
      `GET /notes.txt HTTP/1.1\r\nHost: ::1:${port}\r\n\r\n`,
      refuse(400),
      "RFC 9112 §3.2 (invalid value: MUST 400)",
    ],
    [
      "unclosed IPv6 literal",
      `GET /notes.txt HTTP/1.1\r\nHost: [::1:${port}\r\n\r\n`,
      refuse(400),
      "RFC 9112 §3.2",
    ],
    [
      "with userinfo",
      `GET /notes.txt HTTP/1.1\r\nHost: u@127.0.0.1:${port}\r\n\r\n`,
      refuse(400),
      'RFC 9110 §7.2 (uri-host [":" port])',
    ],
    [
      "with a path",
      `GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1:${port}/x\r\n\r\n`,
      refuse(400),
      "RFC 9110 §7.2",
    ],
    [
      "as a list",
      `GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1:${port}, evil.example\r\n\r\n`,
      refuse(400),
      "RFC 9110 §7.2 (a single authority)",
    ],
    [
      "obs-text in the value",
      `GET /notes.txt HTTP/1.1\r\nHost: caf\xe9:${port}\r\n\r\n`,
      refuse(400),
      "RFC 9110 §7.2",
    ],
    [
      "empty, HTTP/1.1",
      "GET /notes.txt HTTP/1.1\r\nHost:\r\n\r\n",
      either(refuse(400, 403, 421), serve([403, 421])),
      "RFC 9112 §3.3 (empty authority: the server can reject)",
    ],
    [
      "empty, HTTP/1.0",
      "GET /notes.txt HTTP/1.0\r\nHost:\r\n\r\n",
      closeAfter([200, 400, 403, 421]),
      "RFC 9112 §3.2, §3.3",
    ],
    [
      "absolute-form wins over another valid Host",
      `GET http://127.0.0.1:${port}/notes.txt HTTP/1.1\r\nHost: other.example\r\n\r\n`,
      serve(200),
      "RFC 9112 §3.2.2 (MUST ignore Host)",
    ],
    [
      "absolute-form with a syntactically invalid Host (doubtful)",
      `GET http://127.0.0.1:${port}/notes.txt HTTP/1.1\r\nHost: a b\r\n\r\n`,
      either(refuse(400), serve(200)),
      "RFC 9112 §3.2 (MUST 400 invalid Host) vs §3.2.2 (MUST ignore Host)",
    ],
  ];
  for (const [what, input, expect, rfc] of hostRows) {
    rows.push({ name: `Host: ${what}`, input, expect, rfc });
  }

  // ---- valid but unusual ------------------------------------------------------------------------
  rows.push(
    {
      name: "valid: one empty line before the request line",
      input: `\r\n${NEXT}`,
      expect: serve(200),
      rfc: "RFC 9112 §2.2 (SHOULD ignore at least one)",
    },
    {
      name: "valid: three empty lines before the request line",
      input: `\r\n\r\n\r\n${NEXT}`,
      expect: serve(200),
      rfc: "RFC 9112 §2.2",
    },
    {
      name: "valid: Content-Length: 0 on GET",
      input: `GET /notes.txt HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`,
      expect: serve(200),
      rfc: "RFC 9110 §8.6",
    },
    {
      name: "valid: JSON upload by Content-Length, then a GET",
      input: `${UP}Content-Length: ${J.length}\r\n\r\n${J}${NEXT}`,
      expect: serve(201, 200),
      rfc: "RFC 9112 §6.3 item 6",
    },
    {
      name: "valid: Expect: 100-continue with the body sent at once",
      input: `${UP}Expect: 100-continue\r\nContent-Length: ${J.length}\r\n\r\n${J}${NEXT}`,
      expect: serve(201, 200),
      rfc: "RFC 9110 §10.1.1",
    },
    {
      name: "valid: chunked upload with extensions and trailers",
      input: `${UP}Transfer-Encoding: chunked\r\n\r\n${chunk(J.slice(0, 10), "A;x=1")}` +
        `${chunk(J.slice(10), '10;y="2"')}0;z\r\nX-Sum: 26\r\n\r\n${NEXT}`,
      expect: serve(201, 200),
      rfc: "RFC 9112 §7.1",
    },
    {
      name: "valid: OPTIONS * (README: 405 with Allow)",
      input: `OPTIONS * HTTP/1.1\r\n${H}\r\n`,
      expect: serve([200, 204, 405]),
      rfc: "RFC 9112 §3.2.4; RFC 9110 §9.3.7, §15.5.6 (405 carries Allow)",
      check: (responses) => {
        const res = responses[0] as RawResponse;
        if (res.status === 405) assert.ok(res.header("allow") !== null, "405 without Allow");
      },
    },
    {
      name: "valid: empty query '/notes.txt?'",
      input: `GET /notes.txt? HTTP/1.1\r\n${H}\r\n`,
      expect: serve(200),
      rfc: 'RFC 9112 §3.2.1 (origin-form = absolute-path [ "?" query ])',
    },
    {
      name: "valid: 'Content-Length:5' without OWS",
      input: `${SINK}Content-Length:5\r\n\r\nhello${NEXT}`,
      expect: serve(404, 200),
      rfc: "RFC 9112 §5 (OWS is optional)",
    },
    {
      name: "valid: 'Transfer_Encoding: chunked' is another field; Content-Length frames",
      input: `${SINK}Transfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello${NEXT}`,
      expect: serve(404, 200),
      rfc: "RFC 9110 §5.1 ('_' is a tchar; the name is not Transfer-Encoding)",
    },
    {
      name: "valid: Upgrade: h2c is ignored, served as HTTP/1.1",
      input: `GET /notes.txt HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\n` +
        `Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n${NEXT}`,
      expect: serve(200, 200),
      rfc: "RFC 9110 §7.8 (a server MAY ignore Upgrade)",
    },
    {
      name: "valid: GET with a chunked body that is a request (one response)",
      input: `GET /notes.txt HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${chunk(SMUG)}` +
        `0\r\n\r\n`,
      expect: serve(200),
      rfc: "RFC 9112 §6.3 item 4",
    },
    {
      name: "HTTP/2 connection preface",
      input: "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
      expect: refuse(505, 400),
      rfc: "RFC 9110 §15.6.6; RFC 9113 §3.4",
    },
    {
      name: "request line: origin-form not starting with '/' ('?x')",
      input: `GET ?x HTTP/1.1\r\n${H}\r\n`,
      expect: refuse(400),
      rfc: "RFC 9112 §3.2.1",
    },
  );
  return rows;
}

// ---- running rows ---------------------------------------------------------------------------------

interface Observed {
  responses: RawResponse[];
  /** The server closed (EOF or reset) after the last response. */
  closed: boolean;
  /** The server stopped reading (closed after an early answer) before everything was sent. */
  sendError: string;
  /** Bytes that are not a well-formed response. */
  wireError: string;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `pieces` (with `gapMs` between them) on a fresh connection and reads every response. */
async function observe(
  port: number,
  pieces: Uint8Array[],
  halfClose: boolean,
  options: { gapMs?: number; connect: ConnectOptions },
): Promise<Observed> {
  const gapMs = options.gapMs ?? 0;
  const client = await RawClient.connect(port, options.connect);
  const responses: RawResponse[] = [];
  let closed = false;
  let sendError = "";
  let wireError = "";
  try {
    try {
      for (let i = 0; i < pieces.length; i++) {
        if (i > 0 && gapMs > 0) await delay(gapMs);
        await client.send(pieces[i] as Uint8Array);
      }
      if (halfClose) await client.conn.closeWrite();
    } catch (error) {
      // The server may close early (after a 400) while the rest is still being sent.
      sendError = (error as Error).message;
    }
    for (;;) {
      try {
        responses.push(await client.response({ timeoutMs: halfClose ? 5000 : QUIET_MS }));
      } catch (error) {
        const message = (error as Error).message;
        if (message.startsWith("connection closed before a full response (0 bytes")) {
          closed = true;
        } else if (!message.startsWith("read timed out")) {
          wireError = message;
        }
        break;
      }
    }
  } finally {
    client.close();
  }
  return { responses, closed, sendError, wireError };
}

function matches(outcome: Outcome, seen: Observed, halfClosed: boolean): boolean {
  const finals = seen.responses.filter((r) => r.status >= 200);
  if (seen.wireError !== "" || finals.length !== outcome.statuses.length) return false;
  for (let i = 0; i < finals.length; i++) {
    const allowed = outcome.statuses[i] as number | readonly number[];
    const status = (finals[i] as RawResponse).status;
    if (typeof allowed === "number" ? status !== allowed : !allowed.includes(status)) return false;
  }
  const last = finals.at(-1);
  const says = last?.header("connection")?.toLowerCase() ?? null;
  if (outcome.close) {
    // The server must end the connection itself, and SHOULD say so (RFC 9112 §9.6).
    return !halfClosed && seen.closed &&
      (last === undefined || says === "close" || outcome.announced === false);
  }
  // Persisting: when we half-closed, the server's EOF is ours; it must not have announced a close.
  return halfClosed ? says !== "close" : !seen.closed;
}

function describeSeen(seen: Observed): string {
  const parts = seen.responses.map((r) =>
    `${r.status}${r.header("connection") === "close" ? " (Connection: close)" : ""}`
  );
  return `[${parts.join(", ")}] then ${seen.closed ? "closed" : "open"}` +
    (seen.sendError === "" ? "" : `; send stopped: ${seen.sendError}`) +
    (seen.wireError === "" ? "" : `; bad response bytes: ${seen.wireError}`);
}

function describeExpect(expect: Outcome[]): string {
  return expect.map((o) =>
    `[${o.statuses.map((s) => typeof s === "number" ? s : s.join("|")).join(", ")}] then ${
      o.close ? "close" : "persist"
    }`
  ).join(" or ");
}

/** Runs `fn` over `items`, at most `limit` at a time, keeping order. */
async function pooled<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

/** A root with a few of the site's files, so uploads land in a scratch folder. */
const ROOT_FILES = ["index.html", "notes.txt"];
/** Head and body deadlines of the server under test. */
const DEADLINES = { headTimeoutMs: 3000, bodyTimeoutMs: 3000 };

function needsHalfClose(expect: Outcome[]): boolean {
  return expect.every((o) => !o.close);
}

/** Registers the battery's two tests, run over `transport`. */
export function registerConformance(transport: Transport): void {
  Deno.test({
    name:
      `conformance${transport.label}: smuggling probes, malformed and valid-but-unusual requests`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: (t) => smugglingProbes(t, transport),
  });
  Deno.test({
    name: `conformance${transport.label}: requests split at every byte boundary, and byte by byte`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: (t) => fragments(t, transport),
  });
}

async function smugglingProbes(t: Deno.TestContext, transport: Transport): Promise<void> {
  await using root = await tempRoot({ files: ROOT_FILES });
  const connect = await transport.connect();
  const config = { root: root.path, ...DEADLINES, ...await transport.server() };
  await withServer(config, async (server) => {
    const rows = buildRows(server.port);
    const seen = await pooled(
      rows,
      CONCURRENCY,
      (row) => observe(server.port, [toBytes(row.input)], needsHalfClose(row.expect), { connect }),
    );
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Row;
      const result = seen[i] as Observed;
      await t.step(row.name, () => {
        const half = needsHalfClose(row.expect);
        assert.equal(result.wireError, "", "the response bytes were not well-formed HTTP");
        assert.ok(
          row.expect.some((o) => matches(o, result, half)),
          `got ${describeSeen(result)}; expected ${describeExpect(row.expect)} (${row.rfc}); ` +
            `input ${JSON.stringify(row.input)}`,
        );
        row.check?.(result.responses);
      });
    }
    // After all of that the server still serves normally.
    const after = await observe(
      server.port,
      [toBytes(`GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`)],
      true,
      { connect },
    );
    assert.deepEqual(after.responses.map((r) => r.status), [200]);
  });
}

// ---- fragment tests: the live server must not depend on how bytes are split into reads ---------

interface FragmentRow {
  name: string;
  input: (port: number) => string;
  expect: Outcome[];
}

const FRAGMENT_ROWS: FragmentRow[] = [
  {
    name: "GET with a leading empty line",
    input: (port) =>
      `\r\nGET /notes.txt?q=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-A: b\tc\r\n\r\n`,
    expect: serve(200),
  },
  {
    name: "chunked JSON upload with extension and trailer, then a pipelined GET",
    input: (port) =>
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Transfer-Encoding: chunked\r\n\r\n${chunk(JSON_BODY.slice(0, 11), "b;e=1")}` +
      `${chunk(JSON_BODY.slice(11), "F")}0\r\nX-T: v\r\n\r\n` +
      `GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
    expect: serve(201, 200),
  },
  {
    name: "Content-Length body then a pipelined GET",
    input: (port) =>
      `POST /nope HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 5\r\n\r\nhello` +
      `GET /notes.txt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`,
    expect: serve(404, 200),
  },
  {
    name: "CL.TE smuggling probe",
    input: (port) =>
      `POST /nope HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 5\r\n` +
      `Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /notes.txt HTTP/1.1\r\nHost: a\r\n\r\n`,
    expect: refuse(400, 404),
  },
];

async function fragments(t: Deno.TestContext, transport: Transport): Promise<void> {
  await using root = await tempRoot({ files: ROOT_FILES });
  const connect = await transport.connect();
  // Hundreds of uploads from one address in a second: framing is under test, not the rate.
  const config = {
    root: root.path,
    ...DEADLINES,
    uploadRatePerSecond: 0,
    ...await transport.server(),
  };
  await withServer(config, async (server) => {
    for (const row of FRAGMENT_ROWS) {
      const bytes = toBytes(row.input(server.port));
      const half = needsHalfClose(row.expect);
      const splits: Uint8Array[][] = [];
      for (let i = 1; i < bytes.length; i++) splits.push([bytes.slice(0, i), bytes.slice(i)]);
      const results = await pooled(
        splits,
        CONCURRENCY,
        (pieces) => observe(server.port, pieces, half, { gapMs: 5, connect }),
      );
      await t.step(`${row.name}: split in two at each of ${splits.length} boundaries`, () => {
        const bad = results
          .map((seen, i) => ({ at: i + 1, seen }))
          .filter(({ seen }) => !row.expect.some((o) => matches(o, seen, half)));
        assert.deepEqual(
          bad.map(({ at, seen }) => `split at ${at}: ${describeSeen(seen)}`),
          [],
          `expected ${describeExpect(row.expect)}`,
        );
      });
      const pieces = Array.from(bytes, (b) => Uint8Array.of(b));
      const seen = await observe(server.port, pieces, half, { gapMs: 1, connect });
      await t.step(`${row.name}: one byte per write`, () => {
        assert.ok(
          row.expect.some((o) => matches(o, seen, half)),
          `got ${describeSeen(seen)}; expected ${describeExpect(row.expect)}`,
        );
      });
    }
  });
}
