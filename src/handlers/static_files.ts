/**
 * GET/HEAD of files under the root: resolve, confine, type, validate, select a range, and hand
 * the connection a body. A folder is handed to folders.ts.
 *
 * Invariants:
 * - The file opened is the fully resolved real path, confined to the root by `resolveInRoot`
 *   (site_root.ts); so a symlink cannot lead out, and the sandbox checks the final target too.
 * - Files up to SMALL_FILE_BYTES are read whole, kept in the file cache, and sent in one write
 *   with the head; larger ones are returned open for the connection to stream in bounded chunks.
 * - HEAD gets exactly the status and fields GET would get (preconditions and Range included);
 *   the connection leaves out the body.
 */

import { HttpError } from "../http/status.ts";
import { type Field, ResponseMemo } from "../http/response.ts";
import {
  evaluatePreconditions,
  evaluateRange,
  fileValidators,
  ifRangeHolds,
  type Validators,
} from "../http/validators.ts";
import { identityOf, sameIdentity } from "./file_cache.ts";
import { contentDisposition, mediaRule, uploadRule } from "./mime.ts";
import { folderRedirect, serveFolder } from "./folders.ts";
import type { Exchange, Reply } from "./reply.ts";
import { fsError, isInUploads, resolveInRoot, type StaticRoot } from "./site_root.ts";

/** Up to this size a file is cached and goes out in the same write as its head. */
export const SMALL_FILE_BYTES = 64 * 1024;
const SLASH = 0x2f;

/** The reply for GET/HEAD of `ex.path`: at once from the cache, else from the disk. */
export function serveStatic(ex: Exchange, root: StaticRoot): Reply | Promise<Reply> {
  // A path ending in "/" names a folder, served by its index.html (else see folders.ts).
  const path = ex.path === "/"
    ? "/index.html"
    : ex.path.charCodeAt(ex.path.length - 1) === SLASH
    ? ex.path + "index.html"
    : ex.path;
  const named = root.real + path;
  const hit = root.cache.fresh(path, named);
  if (hit !== null) return replyFromBytes(ex, hit.fields, hit.validators, hit.bytes, hit.memo);
  return serveFromDisk(ex, root, path, named);
}

async function serveFromDisk(
  ex: Exchange,
  root: StaticRoot,
  path: string,
  named: string,
): Promise<Reply> {
  const generation = root.cache.generation;
  // Asked for a folder's index.html; without one (an index.html folder is none), the folder.
  const index = path !== ex.path;
  let real: string;
  try {
    real = await resolveInRoot(root, path);
  } catch (error) {
    if (index && error instanceof HttpError && error.status === 404) {
      return await serveFolder(ex, root);
    }
    throw error;
  }

  let file: Deno.FsFile;
  try {
    file = await Deno.open(real, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.IsADirectory) {
      return index ? await serveFolder(ex, root) : folderRedirect(ex);
    }
    throw fsError(error);
  }
  let handedOver = false;
  try {
    const info = await file.stat();
    // Folders are never cached, so telling one apart costs the cached path nothing.
    if (info.isDirectory) return index ? await serveFolder(ex, root) : folderRedirect(ex);
    if (!info.isFile) throw new HttpError(403, "not a regular file");
    const name = path.slice(path.lastIndexOf("/") + 1);
    const rule = mediaRule(name, root.strictTypes) ??
      (isInUploads(root, path, real) ? uploadRule(name) : null);
    if (rule === null) throw new HttpError(415, "file type not served");
    const identity = identityOf(info);
    const validators = fileValidators(info.size, identity.mtimeMs);
    const fields: Field[] = [["Content-Type", rule.contentType]];
    if (rule.download) fields.push(["Content-Disposition", contentDisposition(name)]);
    fields.push(
      ["Last-Modified", validators.lastModified],
      ["ETag", validators.etag],
      ["Accept-Ranges", "bytes"],
    );
    if (root.cacheControl !== null) fields.push(root.cacheControl);

    if (info.size <= SMALL_FILE_BYTES) {
      const bytes = await readExactly(file, info.size);
      // Cached only when nothing changed while it was read; otherwise served once as read.
      if (bytes.length === info.size && sameIdentity(identity, identityOf(await file.stat()))) {
        const memo = new ResponseMemo();
        root.cache.put(
          path,
          named,
          { real, identity, validators, fields, bytes, memo },
          generation,
        );
      }
      return replyFromBytes(ex, fields, validators, bytes);
    }

    const { reply, start } = select(ex, fields, validators, info.size);
    if (reply.status !== 200 && reply.status !== 206) return reply;
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    handedOver = true;
    return { ...reply, body: file };
  } catch (error) {
    throw error instanceof HttpError ? error : fsError(error);
  } finally {
    if (!handedOver) file.close();
  }
}

/**
 * A file reply whose content comes from memory: the selected span of `bytes`. A cached file's
 * 200 carries its `memo`, so the same encoded response is reused.
 */
function replyFromBytes(
  ex: Exchange,
  fields: Field[],
  v: Validators,
  bytes: Uint8Array,
  memo?: ResponseMemo,
): Reply {
  const { reply, start } = select(ex, fields, v, bytes.length);
  if (reply.status === 200) {
    reply.body = bytes;
    if (memo !== undefined) reply.memo = memo;
  } else if (reply.status === 206) reply.body = bytes.subarray(start, start + reply.length);
  return reply;
}

/**
 * The response to GET/HEAD of a representation of `size` bytes, after RFC 9110 §13.2.2:
 * preconditions first (412, 304), then Range (§14.2: 206, 416) unless If-Range says the
 * client's copy is stale. For 200 and 206 the caller supplies the body: `reply.length` bytes
 * from offset `start`.
 */
function select(
  ex: Exchange,
  fields: Field[],
  v: Validators,
  size: number,
): { reply: Reply; start: number } {
  const { head } = ex;
  const precondition = evaluatePreconditions(head.fields, v);
  if (precondition === "failed") throw new HttpError(412, "precondition failed");
  if (precondition === "not-modified") {
    // §15.4.5: a 304 repeats the ETag and Cache-Control a 200 would carry, and has no content.
    const kept = fields.filter(([name]) => name === "ETag" || name === "Cache-Control");
    return { reply: { status: 304, fields: kept, length: 0, body: null }, start: 0 };
  }
  // HEAD gets GET's answer to a Range too, as from nginx and Go's net/http, so a client can
  // probe a range before fetching it; RFC 9110 §14.2 defines range handling for GET only.
  const range = ifRangeHolds(head.fields, v)
    ? evaluateRange(head.fields, size)
    : { kind: "full" as const };
  if (range.kind === "unsatisfiable") {
    throw new HttpError(416, "range not satisfiable", [
      ["Content-Range", `bytes */${size}`],
      ["Last-Modified", v.lastModified],
      ["ETag", v.etag],
    ]);
  }
  if (range.kind === "full") {
    return { reply: { status: 200, fields, length: size, body: null }, start: 0 };
  }
  const { start, end } = range;
  const reply: Reply = {
    status: 206,
    fields: [...fields, ["Content-Range", `bytes ${start}-${end}/${size}`]],
    length: end - start + 1,
    body: null,
  };
  return { reply, start };
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
