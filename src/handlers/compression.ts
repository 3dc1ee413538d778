/**
 * Content codings of files (RFC 9110 §8.4.1): which files are worth compressing, brotli and
 * gzip made once with `node:zlib` when a small file enters the cache, precompressed siblings
 * (`x.css.br`, `x.css.gz` beside `x.css`, as nginx's gzip_static) found and confined, and the
 * variant validators.
 *
 * Invariants:
 * - A coded variant is kept only when it is worth it: the identity is at least `minBytes`, and
 *   the coded bytes are at least `minSaving` of it smaller. Otherwise the file has no variant of
 *   that coding, and without any it is served exactly as without compression (no Vary).
 * - A sibling is used only when it is a regular file that `resolveInRoot` accepts (inside the
 *   root, nothing hidden), as the file itself must be; anything else is as if it were absent.
 * - A variant's ETag is its identity's (or its sibling's) strong tag with `-br` or `-gzip`
 *   inside the quotes, so no two representations of one resource share a tag (§8.8.3).
 * - Compression runs on the event loop (Deno's asynchronous zlib calls do too), once per file
 *   as it is cached; the qualities bound that pause (README "Compression").
 */

import zlib from "node:zlib";
import type { ServerConfig } from "../config.ts";
import { BR, type Coding, GZIP } from "../http/accept_encoding.ts";
import { errorBody } from "../http/response.ts";
import { fileValidators, type Validators } from "../http/validators.ts";
import { type FileIdentity, identityOf, type SiblingState } from "./file_cache.ts";
import { resolveInRoot, type StaticRoot } from "./site_root.ts";

/** How files are compressed (`--no-compression`: none at all). */
export interface CompressionPolicy {
  /** Smaller files are served as they are. */
  minBytes: number;
  /** A variant must be at least this fraction of the identity smaller to be kept. */
  minSaving: number;
  /** Brotli quality (0–11) of files up to `brotliBestMaxBytes`... */
  brotliBestQuality: number;
  brotliBestMaxBytes: number;
  /** ...and of larger ones. */
  brotliQuality: number;
  /** gzip (deflate) level, 1–9. */
  gzipLevel: number;
}

export type ContentCoding = Exclude<Coding, "identity">;

/** The codings made and looked for, in the order of preference at equal weights. */
export const CODINGS: readonly ContentCoding[] = ["br", "gzip"];
/** The `available` bit (accept_encoding.ts) of each coding. */
export const CODING_BIT: Readonly<Record<ContentCoding, number>> = { br: BR, gzip: GZIP };
/** A precompressed sibling's suffix, as nginx's gzip_static and brotli_static look for them. */
export const SIBLING_SUFFIX: Readonly<Record<ContentCoding, string>> = { br: ".br", gzip: ".gz" };

export function compressionPolicy(config: ServerConfig): CompressionPolicy | null {
  if (!config.compression) return null;
  return {
    minBytes: config.compressMinBytes,
    minSaving: config.compressMinSaving,
    brotliBestQuality: config.brotliBestQuality,
    brotliBestMaxBytes: config.brotliBestMaxBytes,
    brotliQuality: config.brotliQuality,
    gzipLevel: config.gzipLevel,
  };
}

/** Media types (without parameters) beyond text/*, +json and +xml that compress well. */
const COMPRESSIBLE_TYPES: ReadonlySet<string> = new Set([
  "application/json",
  "application/javascript",
  "application/xml",
  "application/wasm",
  "image/svg+xml",
  // Uncompressed bitmaps (an .ico holding a PNG is left as it is: it does not get smaller).
  "image/x-icon",
  "image/bmp",
  // TrueType and OpenType are uncompressed tables; WOFF and WOFF2 are compressed already.
  "font/ttf",
  "font/otf",
]);

/**
 * Whether a file served as `contentType` (its name `fileName`) is worth compressing: text,
 * JSON, XML, SVG, WebAssembly, uncompressed fonts and bitmaps; and `.txt`, which the original
 * type table serves as an `application/octet-stream` download. Never images, audio or video in
 * compressed formats, archives or PDF.
 */
export function isCompressible(contentType: string, fileName: string): boolean {
  const semicolon = contentType.indexOf(";");
  const type = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim();
  if (type.startsWith("text/") || COMPRESSIBLE_TYPES.has(type)) return true;
  if (type.endsWith("+json") || type.endsWith("+xml")) return true;
  return type === "application/octet-stream" && fileName.toLowerCase().endsWith(".txt");
}

/** `bytes` in `coding` when that is worth it (see the invariants), else null. */
export function compress(
  bytes: Uint8Array,
  coding: ContentCoding,
  policy: CompressionPolicy,
): Uint8Array | null {
  if (bytes.length < policy.minBytes) return null;
  const out = coding === "br"
    ? zlib.brotliCompressSync(bytes, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: bytes.length <= policy.brotliBestMaxBytes
          ? policy.brotliBestQuality
          : policy.brotliQuality,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    })
    : zlib.gzipSync(bytes, { level: policy.gzipLevel });
  if (out.length > bytes.length * (1 - policy.minSaving)) return null;
  return exactCopy(out);
}

/**
 * `out` in a buffer of its own size: node:zlib returns a view of its 16 KiB output chunk, and a
 * kept view would hold all of it while the cache charges only the view's length.
 */
function exactCopy(out: Uint8Array): Uint8Array {
  return out.byteOffset === 0 && out.byteLength === out.buffer.byteLength
    ? new Uint8Array(out.buffer, 0, out.byteLength)
    : new Uint8Array(out);
}

/** The validators of `coding`'s variant of a representation validated by `v`. */
export function variantValidators(v: Validators, coding: ContentCoding): Validators {
  return { ...v, etag: `${v.etag.slice(0, -1)}-${coding}"` };
}

/**
 * A precompressed sibling as found: its state (for the cache's freshness; `state.real` is its
 * confined real path when it is usable, else null) and its content.
 */
export interface Sibling {
  state: SiblingState;
  /** Its validators, with the coding's suffix in the ETag; null when it is not usable. */
  validators: Validators | null;
  /** Its bytes, when asked for and usable. */
  bytes: Uint8Array | null;
}

/**
 * The `coding` sibling of request path `path` (a file under `root`): whether it is there (its
 * stat identity, followed through symlinks, for the cache to compare later) and whether it is
 * usable (a regular file inside the root). With `readUpTo`, its bytes are read too when it is
 * no larger (a larger one is then not usable).
 */
export async function findSibling(
  root: StaticRoot,
  path: string,
  options: { coding: ContentCoding; readUpTo?: number },
): Promise<Sibling> {
  const { coding, readUpTo } = options;
  const suffix = SIBLING_SUFFIX[coding];
  const named = root.real + path + suffix;
  const absent: Sibling = {
    state: { named, real: null, identity: null },
    validators: null,
    bytes: null,
  };
  let identity: FileIdentity;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(named);
    identity = identityOf(info);
  } catch {
    return absent;
  }
  const unusable: Sibling = { ...absent, state: { named, real: null, identity } };
  if (!info.isFile || (readUpTo !== undefined && info.size > readUpTo)) return unusable;
  let real: string;
  try {
    real = await resolveInRoot(root, path + suffix);
  } catch {
    return unusable;
  }
  let bytes: Uint8Array | null = null;
  if (readUpTo !== undefined) {
    try {
      bytes = await Deno.readFile(real);
    } catch {
      return unusable;
    }
    // Changed since the stat: the cache entry must not keep these bytes as that file's.
    if (bytes.length !== info.size) return unusable;
  }
  return {
    state: { named, real, identity },
    validators: variantValidators(fileValidators(info.size, identity.mtimeMs), coding),
    bytes,
  };
}

const encodedErrors = new Map<string, Uint8Array>();

/**
 * The short error body of `status` (response.ts `errorBody`) in `coding`: the content of a 416
 * for a coded variant, which carries that variant's Content-Encoding.
 */
export function codedErrorBody(status: number, coding: ContentCoding): Uint8Array {
  const key = `${status} ${coding}`;
  let body = encodedErrors.get(key);
  if (body === undefined) {
    const plain = errorBody(status);
    const out = coding === "br" ? zlib.brotliCompressSync(plain) : zlib.gzipSync(plain);
    body = exactCopy(out);
    encodedErrors.set(key, body);
  }
  return body;
}
