/**
 * Extension → how a file is served: inline with a media type, or as a download.
 *
 * Invariants:
 * - The five rows of the original design (ORIGINAL_TYPES) are the same in both tables.
 * - With `strict`, an extension not in ORIGINAL_TYPES is never served (415), except a saved
 *   upload (`uploadRule`). Otherwise every common web type is served inline with its registered
 *   type, and anything else (no extension or an unknown one) is an `application/octet-stream`
 *   download: never a guessed inline type.
 * - Textual types say `charset=utf-8`; JSON and XML types say none, since JSON is always UTF-8
 *   (RFC 8259 §8.1, §11: no charset parameter is defined) and an XML document declares its own
 *   encoding, which a charset parameter would override (RFC 7303 §3.2).
 */

export interface MediaRule {
  contentType: string;
  /** Served as an attachment (Content-Disposition) rather than displayed inline. */
  download: boolean;
}

const DOWNLOAD: MediaRule = { contentType: "application/octet-stream", download: true };

function inline(contentType: string): MediaRule {
  return { contentType, download: false };
}

const JSON_RULE: MediaRule = inline("application/json");

/** The original design's table (SPEC.md "Content types"), and all of `--strict-types`. */
export const ORIGINAL_TYPES: Readonly<Record<string, MediaRule>> = {
  ".html": inline("text/html; charset=utf-8"),
  ".txt": DOWNLOAD,
  ".png": DOWNLOAD,
  ".jpg": DOWNLOAD,
  ".jpeg": DOWNLOAD,
};

/**
 * Every common type of a web site: the original rows, then the IANA-registered types (and
 * WHATWG's for JavaScript, RFC 9239; `image/x-icon`, which every browser and nginx use).
 */
export const WEB_TYPES: Readonly<Record<string, MediaRule>> = {
  ...ORIGINAL_TYPES,
  // Documents and text
  ".htm": inline("text/html; charset=utf-8"),
  ".xhtml": inline("application/xhtml+xml"),
  ".css": inline("text/css; charset=utf-8"),
  ".js": inline("text/javascript; charset=utf-8"),
  ".mjs": inline("text/javascript; charset=utf-8"),
  ".json": JSON_RULE,
  ".map": inline("application/json"),
  ".jsonld": inline("application/ld+json"),
  ".webmanifest": inline("application/manifest+json"),
  ".xml": inline("application/xml"),
  ".rss": inline("application/rss+xml"),
  ".atom": inline("application/atom+xml"),
  ".csv": inline("text/csv; charset=utf-8"),
  ".md": inline("text/markdown; charset=utf-8"),
  ".vtt": inline("text/vtt; charset=utf-8"),
  ".pdf": inline("application/pdf"),
  ".wasm": inline("application/wasm"),
  // Images
  ".svg": inline("image/svg+xml"),
  ".ico": inline("image/x-icon"),
  ".gif": inline("image/gif"),
  ".webp": inline("image/webp"),
  ".avif": inline("image/avif"),
  ".apng": inline("image/apng"),
  ".bmp": inline("image/bmp"),
  ".tif": inline("image/tiff"),
  ".tiff": inline("image/tiff"),
  // Fonts (RFC 8081)
  ".woff": inline("font/woff"),
  ".woff2": inline("font/woff2"),
  ".ttf": inline("font/ttf"),
  ".otf": inline("font/otf"),
  // Audio and video
  ".mp3": inline("audio/mpeg"),
  ".ogg": inline("audio/ogg"),
  ".oga": inline("audio/ogg"),
  ".wav": inline("audio/wav"),
  ".flac": inline("audio/flac"),
  ".m4a": inline("audio/mp4"),
  ".aac": inline("audio/aac"),
  ".mp4": inline("video/mp4"),
  ".m4v": inline("video/mp4"),
  ".webm": inline("video/webm"),
  ".ogv": inline("video/ogg"),
};

/**
 * The rule for the file name's extension (case-insensitive). `strict`: the original table only,
 * null (415) for anything else; otherwise WEB_TYPES, and a download for anything else.
 */
export function mediaRule(fileName: string, strict = false): MediaRule | null {
  const dot = fileName.lastIndexOf(".");
  const extension = dot <= 0 ? "" : fileName.slice(dot).toLowerCase();
  const table = strict ? ORIGINAL_TYPES : WEB_TYPES;
  const rule = Object.hasOwn(table, extension) ? table[extension] : undefined;
  return rule ?? (strict ? null : DOWNLOAD);
}

/**
 * The rule for a file in the uploads folder that no table serves: a saved upload
 * (`upload_*.json`) is JSON under either table, so the `Location` of a 201 always works.
 */
export function uploadRule(fileName: string): MediaRule | null {
  return fileName.toLowerCase().endsWith(".json") ? JSON_RULE : null;
}

/**
 * `attachment; filename="name"` (RFC 6266). A name that is not plain printable ASCII also gets
 * `filename*` (RFC 8187) and an ASCII fallback, so the header stays valid and nothing is echoed raw.
 */
export function contentDisposition(fileName: string): string {
  if (/^[\x20-\x7e]*$/.test(fileName) && !/["\\]/.test(fileName)) {
    return `attachment; filename="${fileName}"`;
  }
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeRfc8187(fileName)}`;
}

function encodeRfc8187(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}
