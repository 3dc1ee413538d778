/**
 * Extension → how a file is served: inline with a media type, or as a download.
 *
 * Invariant: an extension not in MEDIA_TYPES is never served (415), so nothing unexpected in
 * the root (scripts, dotfiles, uploads) leaks out with a guessed type.
 */

export interface MediaRule {
  contentType: string;
  /** Served as an attachment (Content-Disposition) rather than displayed inline. */
  download: boolean;
}

export const MEDIA_TYPES: Readonly<Record<string, MediaRule>> = {
  ".html": { contentType: "text/html; charset=utf-8", download: false },
  ".txt": { contentType: "application/octet-stream", download: true },
  ".png": { contentType: "application/octet-stream", download: true },
  ".jpg": { contentType: "application/octet-stream", download: true },
  ".jpeg": { contentType: "application/octet-stream", download: true },
};

/** The rule for the file name's extension (case-insensitive), or null when it is not served. */
export function mediaRule(fileName: string): MediaRule | null {
  const dot = fileName.lastIndexOf(".");
  if (dot <= 0) return null;
  return MEDIA_TYPES[fileName.slice(dot).toLowerCase()] ?? null;
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
