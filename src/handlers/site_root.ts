/**
 * The served root: its real path, what the configuration says about serving it, and the
 * confinement every handler that touches a file goes through.
 *
 * Invariants:
 * - A real path returned by `resolveInRoot` lies inside the root's real path (symlinks
 *   resolved), so a symlink cannot lead out, and has no segment below the root starting with ".".
 * - Nothing hidden is served: neither a request path with a segment starting with "." (checked
 *   by the router for every method, `isHiddenPath`) nor anything whose real path has one.
 */

import type { ServerConfig } from "../config.ts";
import type { Field } from "../http/response.ts";
import { HttpError } from "../http/status.ts";
import type { FileCache } from "./file_cache.ts";
import { type CompressionPolicy, compressionPolicy } from "./compression.ts";
import { isOutOfDescriptors, outOfDescriptors } from "./fs_errors.ts";

/** The parts of a served root that start-up prepares. */
export interface RootParts {
  /** The root's real path (symlinks resolved, absolute, no trailing slash). */
  real: string;
  cache: FileCache;
  /** `<root>/uploads` (under the real root), where saved uploads are. */
  uploads: string;
}

/** A served root: its parts, and what the configuration says about serving it. */
export interface StaticRoot extends RootParts {
  /** Only the original five types (`--strict-types`); anything else 415. */
  strictTypes: boolean;
  /** The `Cache-Control` field of file responses (`--cache-control`), or null. */
  cacheControl: Field | null;
  /** How files are compressed; null: never (`--no-compression`, or the uploads folder). */
  compression: CompressionPolicy | null;
  /** Folders without index.html get a listing (`--listing`), else 403. */
  listFolders: boolean;
  /** The uploads folder gets a listing (`--list-uploads`), else 403. */
  listUploads: boolean;
}

/**
 * The served root of `parts` under `config`. `options.compression: false` for a root of uploads
 * (`--uploads DIR`), which are never compressed (static_files.ts says why).
 */
export function staticRoot(
  config: ServerConfig,
  parts: RootParts,
  options: { compression?: boolean } = {},
): StaticRoot {
  return {
    ...parts,
    strictTypes: config.strictTypes,
    cacheControl: config.cacheControl === null ? null : ["Cache-Control", config.cacheControl],
    compression: options.compression === false ? null : compressionPolicy(config),
    listFolders: config.listing,
    listUploads: config.listUploads,
  };
}

/**
 * Resolves `path` inside the root: 404 when missing or when its real path is hidden (see
 * `isHiddenPath`), 403 when outside or not permitted.
 */
export async function resolveInRoot(root: StaticRoot, path: string): Promise<string> {
  let real: string;
  try {
    real = await Deno.realPath(root.real + path);
  } catch (error) {
    throw fsError(error);
  }
  if (real !== root.real && !real.startsWith(root.real + "/")) {
    throw new HttpError(403, "resolved path leaves the root");
  }
  // A symlink to a dotfile inside the root is as hidden as the dotfile.
  if (real.includes("/.", root.real.length)) throw new HttpError(404, "hidden file");
  return real;
}

/**
 * Whether a decoded path names a dotfile or something in a dot-folder (`/.env`, `/.git/config`,
 * the uploads' `.upload-*.tmp`): such paths look absent (404) to every method that would touch
 * a file. `path` starts with "/", so every segment follows a "/".
 */
export function isHiddenPath(path: string): boolean {
  return path.includes("/.");
}

/** Maps a file-system failure to its status: the sandbox's denial is a 403, never a crash. */
export function fsError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof Deno.errors.NotFound) return new HttpError(404, "no such file");
  if (error instanceof Deno.errors.NotADirectory) return new HttpError(404, "no such file");
  if (error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.NotCapable) {
    return new HttpError(403, "read not permitted");
  }
  if (error instanceof Deno.errors.IsADirectory) return new HttpError(403, "is a directory");
  // A symlink loop (ELOOP) is a dead end the client cannot enter, like nginx's 403.
  if (error instanceof Deno.errors.FilesystemLoop) return new HttpError(403, "symlink loop");
  if (isOutOfDescriptors(error)) return outOfDescriptors("file not opened", error);
  const detail = error instanceof Error ? error.message : String(error);
  return new HttpError(500, `file system error: ${detail}`);
}

/**
 * Whether request path `path` (real path `real`) is the uploads folder (`/uploads/`) or inside
 * it; by either name, so neither a symlink to it nor one in its place makes it something else.
 */
export function isInUploads(root: StaticRoot, path: string, real: string): boolean {
  return path.startsWith("/uploads/") || real === root.uploads ||
    real.startsWith(root.uploads + "/");
}
