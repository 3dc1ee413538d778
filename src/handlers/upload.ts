/**
 * POST /upload: a bounded JSON body from a client within its upload rate, validated, and saved
 * by the upload store (crash-safe, durable, within the storage bound; see upload_store.ts).
 *
 * Invariants: the rate is checked before the body is read, the media type before the body too,
 * and nothing reaches the disk unless the body is valid UTF-8 JSON. Every upload that reaches
 * this handler is counted once in `Uploads.results`, by how it ended.
 */

import { HttpError } from "../http/status.ts";
import { log, ThrottledWarning } from "../log.ts";
import { addressKey, type AddressLimiter } from "./rate_limit.ts";
import type { Exchange, Reply } from "./reply.ts";
import type { UploadStore } from "./upload_store.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const ENCODER = new TextEncoder();

/**
 * How an upload ended (the `result` label of `denohttpd_uploads_total`): `created` (201),
 * `refused_rate` (429), `refused_storage` (507: the storage bound, the free-space floor, or a
 * full disk), `invalid` (415 not JSON by type, 400 not JSON or bad framing, 413 too large),
 * `aborted` (the client left or was too slow mid-body; no response), `failed` (500 or 503: the
 * store could not write it).
 */
export type UploadResult =
  | "created"
  | "refused_rate"
  | "refused_storage"
  | "invalid"
  | "aborted"
  | "failed";
export const UPLOAD_RESULTS: readonly UploadResult[] = [
  "created",
  "refused_rate",
  "refused_storage",
  "invalid",
  "aborted",
  "failed",
];

export interface Uploads {
  store: UploadStore;
  /** Uploads per client address; null when unlimited (`--upload-rate 0`). */
  rate: AddressLimiter | null;
  /** Uploads so far, by how they ended (see UploadResult). */
  results: Record<UploadResult, number>;
}

/** Counters of every result, at zero. */
export function uploadResults(): Record<UploadResult, number> {
  return {
    created: 0,
    refused_rate: 0,
    refused_storage: 0,
    invalid: 0,
    aborted: 0,
    failed: 0,
  };
}

const rateWarning = new ThrottledWarning(log.server);

export async function handleUpload(ex: Exchange, uploads: Uploads): Promise<Reply> {
  const { results } = uploads;
  if (uploads.rate !== null) {
    const waitSeconds = uploads.rate.take(addressKey(ex.client));
    if (waitSeconds > 0) {
      results.refused_rate++;
      rateWarning.warn(`upload rate exceeded by ${ex.client}; answering 429`);
      // RFC 6585 §4: Too Many Requests, with when to try again.
      throw new HttpError(429, "upload rate exceeded", [["Retry-After", String(waitSeconds)]]);
    }
  }
  const contentType = ex.head.fields.get("content-type");
  if (contentType === null || !isJsonMediaType(contentType)) {
    results.invalid++;
    throw new HttpError(415, "upload is not application/json");
  }
  let body: Uint8Array;
  try {
    body = await ex.readBody();
  } catch (error) {
    // 413 or broken framing is the client's upload; anything else is the connection ending.
    if (error instanceof HttpError) results.invalid++;
    else results.aborted++;
    throw error;
  }
  try {
    JSON.parse(UTF8.decode(body));
  } catch {
    results.invalid++;
    throw new HttpError(400, "upload body is not valid JSON");
  }
  let name: string;
  try {
    name = await uploads.store.save(body);
  } catch (error) {
    if (error instanceof HttpError && error.status === 507) results.refused_storage++;
    else results.failed++;
    throw error;
  }
  results.created++;
  const location = `/uploads/${name}`;
  const payload = ENCODER.encode(JSON.stringify({
    status: "success",
    message: "File created successfully",
    filepath: location,
  }));
  return {
    status: 201,
    fields: [["Content-Type", "application/json"], ["Location", location]],
    length: payload.length,
    body: payload,
    note: `saved ${body.length} bytes as ${location}`,
  };
}

/** `application/json`, with any parameters, case-insensitive (RFC 9110 §8.3.1). */
export function isJsonMediaType(value: string): boolean {
  const semi = value.indexOf(";");
  const type = (semi < 0 ? value : value.slice(0, semi)).trim().toLowerCase();
  return type === "application/json";
}
