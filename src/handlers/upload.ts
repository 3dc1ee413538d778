/**
 * POST /upload: a bounded JSON body, validated, saved crash-safely under a fresh name.
 *
 * Invariants:
 * - A file named `upload_*.json` only ever appears complete: the bytes are written and synced
 *   to a temporary `.upload-*.tmp` in the same folder, then hard-linked to the final name
 *   (link fails rather than overwrite), then the temporary name is removed.
 * - Leftover temporary files from a crash are removed at start-up (`cleanLeftovers`).
 */

import { fileStamp } from "../http/date.ts";
import { HttpError } from "../http/status.ts";
import type { Exchange, Reply } from "./reply.ts";

const TMP_PREFIX = ".upload-";
const TMP_SUFFIX = ".tmp";
const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** Names tried before giving up; 62^4 names per second make a collision streak this long absurd. */
const NAME_ATTEMPTS = 20;
const UTF8 = new TextDecoder("utf-8", { fatal: true });
const ENCODER = new TextEncoder();

export async function handleUpload(ex: Exchange, uploadsDir: string): Promise<Reply> {
  const contentType = ex.head.fields.get("content-type");
  if (contentType === null || !isJsonMediaType(contentType)) {
    throw new HttpError(415, "upload is not application/json");
  }
  const body = await ex.readBody();
  let text: string;
  try {
    text = UTF8.decode(body);
    JSON.parse(text);
  } catch {
    throw new HttpError(400, "upload body is not valid JSON");
  }
  const name = await saveUpload(uploadsDir, body);
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

/** Writes `bytes` as a new `upload_YYYYMMDD_HHMMSS_xxxx.json` in `dir`; returns the name. */
export async function saveUpload(dir: string, bytes: Uint8Array): Promise<string> {
  const tmp = `${dir}/${TMP_PREFIX}${randomAlphanumeric(12)}${TMP_SUFFIX}`;
  const file = await Deno.open(tmp, { write: true, createNew: true });
  try {
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    // Durable before it gets its public name: a power cut must not leave an empty upload.
    await file.syncData();
  } finally {
    file.close();
  }
  try {
    for (let attempt = 0; attempt < NAME_ATTEMPTS; attempt++) {
      const name = `upload_${fileStamp(Date.now())}_${randomAlphanumeric(4)}.json`;
      try {
        await Deno.link(tmp, `${dir}/${name}`);
        return name;
      } catch (error) {
        if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      }
    }
    throw new Error("no free upload name");
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
}

/** Removes temporary files a crash left in `dir`; returns how many. */
export async function cleanLeftovers(dir: string): Promise<number> {
  let removed = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.startsWith(TMP_PREFIX) && entry.name.endsWith(TMP_SUFFIX)) {
      await Deno.remove(`${dir}/${entry.name}`);
      removed++;
    }
  }
  return removed;
}

function randomAlphanumeric(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  // 62 does not divide 256; the slight bias is irrelevant for a uniqueness suffix.
  for (const b of bytes) out += ALPHANUMERIC[b % ALPHANUMERIC.length];
  return out;
}
