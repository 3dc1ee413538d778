/**
 * handleUpload() (src/handlers/upload.ts) counts every upload once, by how it ended: the
 * `result` label of `denohttpd_uploads_total`. One row per way an upload can end, with the
 * status the client gets; the store writes into a real temporary folder, with faults injected
 * at its file-system seam where a row needs one.
 */

import assert from "node:assert/strict";
import { RequestParser } from "../../../src/http/parser.ts";
import { HttpError } from "../../../src/http/status.ts";
import { RateLimiter } from "../../../src/handlers/rate_limit.ts";
import type { Exchange } from "../../../src/handlers/reply.ts";
import {
  handleUpload,
  type UploadResult,
  uploadResults,
  type Uploads,
} from "../../../src/handlers/upload.ts";
import { DENO_UPLOAD_FS, type UploadFs, UploadStore } from "../../../src/handlers/upload_store.ts";
import { tempDir } from "../../helpers/server.ts";

const ENCODER = new TextEncoder();

function exchange(contentType: string | null, body: () => Promise<Uint8Array>): Exchange {
  const parser = new RequestParser({ maxHeadBytes: 8192, maxHeaderCount: 100, maxBodyBytes: 0 });
  const type = contentType === null ? "" : `Content-Type: ${contentType}\r\n`;
  parser.feed(ENCODER.encode(`POST /upload HTTP/1.1\r\nHost: a\r\n${type}\r\n`));
  const event = parser.next();
  assert.equal(event.kind, "head");
  return {
    head: (event as { head: Exchange["head"] }).head,
    path: "/upload",
    client: "192.0.2.1",
    peer: "192.0.2.1",
    readBody: body,
  };
}

const JSON_TYPE = "application/json";
const DOC = () => Promise.resolve(ENCODER.encode('{"a":1}'));

function failing(error: Error): UploadFs {
  return {
    ...DENO_UPLOAD_FS,
    create: () => Promise.reject(error),
  };
}

function osError(code: string, message: string): Error {
  return Object.assign(new Error(`${message} (os error)`), { code });
}

interface Row {
  name: string;
  contentType?: string | null;
  body?: () => Promise<Uint8Array>;
  /** Uploads the same client made just before, within the rate. */
  rateSpent?: boolean;
  maxBytes?: number;
  fs?: UploadFs;
  status: number | "thrown";
  result: UploadResult;
}

const ROWS: readonly Row[] = [
  { name: "a JSON document stored", status: 201, result: "created" },
  { name: "over the upload rate", rateSpent: true, status: 429, result: "refused_rate" },
  { name: "no Content-Type", contentType: null, status: 415, result: "invalid" },
  { name: "another media type", contentType: "text/plain", status: 415, result: "invalid" },
  {
    name: "a body that is not JSON",
    body: () => Promise.resolve(ENCODER.encode("{nope")),
    status: 400,
    result: "invalid",
  },
  {
    name: "a body that is not UTF-8",
    body: () => Promise.resolve(new Uint8Array([0x22, 0xff, 0x22])),
    status: 400,
    result: "invalid",
  },
  {
    name: "a body over --max-body",
    body: () => Promise.reject(new HttpError(413, "body too large")),
    status: 413,
    result: "invalid",
  },
  {
    name: "a body whose chunked framing breaks",
    body: () => Promise.reject(new HttpError(400, "malformed chunk size")),
    status: 400,
    result: "invalid",
  },
  {
    name: "the client gone mid-body",
    body: () => Promise.reject(new Error("closed by peer mid-body")),
    status: "thrown",
    result: "aborted",
  },
  { name: "the uploads folder at its bound", maxBytes: 3, status: 507, result: "refused_storage" },
  {
    name: "the disk full (ENOSPC)",
    fs: failing(osError("ENOSPC", "No space left on device")),
    status: 507,
    result: "refused_storage",
  },
  {
    name: "an I/O error (EIO)",
    fs: failing(osError("EIO", "Input/output error")),
    status: 500,
    result: "failed",
  },
  {
    name: "out of file descriptors (EMFILE)",
    fs: failing(osError("EMFILE", "Too many open files")),
    status: 503,
    result: "failed",
  },
];

for (const row of ROWS) {
  Deno.test(`handleUpload() counts ${row.name} as ${row.result}`, async () => {
    await using dir = await tempDir();
    const rate = new RateLimiter(0.001, 1);
    if (row.rateSpent) rate.take("192.0.2.1");
    const uploads: Uploads = {
      store: new UploadStore(
        dir.path,
        { maxBytes: row.maxBytes ?? 1 << 20, minFreeBytes: 0 },
        row.fs ?? DENO_UPLOAD_FS,
      ),
      rate,
      results: uploadResults(),
    };
    const ex = exchange(
      row.contentType === undefined ? JSON_TYPE : row.contentType,
      row.body ?? DOC,
    );
    let status: number | "thrown";
    try {
      status = (await handleUpload(ex, uploads)).status;
    } catch (error) {
      status = error instanceof HttpError ? error.status : "thrown";
    }
    assert.equal(status, row.status);
    assert.deepEqual(uploads.results, { ...uploadResults(), [row.result]: 1 });
  });
}
