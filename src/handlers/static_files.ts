/**
 * GET/HEAD of files under the root: resolve, confine, type, and hand the connection a body.
 *
 * Invariants:
 * - The file opened is the fully resolved real path, and it lies inside the root's real path;
 *   so a symlink cannot lead out, and the permission sandbox checks the final target too.
 * - Files up to SMALL_FILE_BYTES are read whole (one write with the head); larger ones are
 *   returned open for the connection to stream in bounded chunks.
 */

import { HttpError } from "../http/status.ts";
import { contentDisposition, mediaRule } from "./mime.ts";
import type { Exchange, Reply } from "./reply.ts";

/** Up to this size a file goes out in the same write as its head. */
export const SMALL_FILE_BYTES = 64 * 1024;

export interface StaticRoot {
  /** The root's real path (symlinks resolved, absolute, no trailing slash). */
  real: string;
}

/** Resolves `path` inside the root: 404 when missing, 403 when outside or not permitted. */
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
  return real;
}

export async function serveStatic(ex: Exchange, root: StaticRoot): Promise<Reply> {
  const path = ex.path === "/" ? "/index.html" : ex.path;
  const real = await resolveInRoot(root, path);
  const name = path.slice(path.lastIndexOf("/") + 1);
  const rule = mediaRule(name);
  if (rule === null) throw new HttpError(415, "file type not served");

  const fields: [string, string][] = [["Content-Type", rule.contentType]];
  if (rule.download) fields.push(["Content-Disposition", contentDisposition(name)]);

  if (ex.head.method === "HEAD") {
    const info = await statOrThrow(real);
    return { status: 200, fields, length: info.size, body: null };
  }

  let file: Deno.FsFile;
  try {
    file = await Deno.open(real, { read: true });
  } catch (error) {
    throw fsError(error);
  }
  try {
    const info = await file.stat();
    if (!info.isFile) throw new HttpError(403, "not a regular file");
    if (info.size > SMALL_FILE_BYTES) {
      const reply: Reply = { status: 200, fields, length: info.size, body: file };
      return reply;
    }
    const bytes = await readExactly(file, info.size);
    file.close();
    return { status: 200, fields, length: bytes.length, body: bytes };
  } catch (error) {
    file.close();
    throw error instanceof HttpError ? error : fsError(error);
  }
}

async function statOrThrow(real: string): Promise<Deno.FileInfo> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(real);
  } catch (error) {
    throw fsError(error);
  }
  if (!info.isFile) throw new HttpError(403, "not a regular file");
  return info;
}

/** Reads up to `size` bytes (fewer if the file shrank meanwhile). */
async function readExactly(file: Deno.FsFile, size: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const n = await file.read(bytes.subarray(filled));
    if (n === null) break;
    filled += n;
  }
  return bytes.subarray(0, filled);
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
  const detail = error instanceof Error ? error.message : String(error);
  return new HttpError(500, `file system error: ${detail}`);
}
