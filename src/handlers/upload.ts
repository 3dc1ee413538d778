/**
 * POST /upload: a bounded JSON body from a client within its upload rate, validated, and saved
 * by the upload store (crash-safe, durable, within the storage bound; see upload_store.ts).
 *
 * Invariant: the rate is checked before the body is read, the media type before the body too,
 * and nothing reaches the disk unless the body is valid UTF-8 JSON.
 */

import { HttpError } from "../http/status.ts";
import { log, ThrottledWarning } from "../log.ts";
import { addressKey, type RateLimiter } from "./rate_limit.ts";
import type { Exchange, Reply } from "./reply.ts";
import type { UploadStore } from "./upload_store.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const ENCODER = new TextEncoder();

export interface Uploads {
  store: UploadStore;
  /** Uploads per client address; null when unlimited (`--upload-rate 0`). */
  rate: RateLimiter | null;
}

const rateWarning = new ThrottledWarning(log.server);

export async function handleUpload(ex: Exchange, uploads: Uploads): Promise<Reply> {
  if (uploads.rate !== null) {
    const waitSeconds = uploads.rate.take(addressKey(ex.client));
    if (waitSeconds > 0) {
      rateWarning.warn(`upload rate exceeded by ${ex.client}; answering 429`);
      // RFC 6585 §4: Too Many Requests, with when to try again.
      throw new HttpError(429, "upload rate exceeded", [["Retry-After", String(waitSeconds)]]);
    }
  }
  const contentType = ex.head.fields.get("content-type");
  if (contentType === null || !isJsonMediaType(contentType)) {
    throw new HttpError(415, "upload is not application/json");
  }
  const body = await ex.readBody();
  try {
    JSON.parse(UTF8.decode(body));
  } catch {
    throw new HttpError(400, "upload body is not valid JSON");
  }
  const name = await uploads.store.save(body);
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
