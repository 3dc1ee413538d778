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
 * - A compressible file (compression.ts) may exist in content codings beside its identity: for
 *   a cached one, brotli and gzip made once and precompressed siblings; for a streamed one, its
 *   siblings only. Each is a representation of its own (RFC 9110 §8.4): its fields, validators
 *   and bytes, against which preconditions and Range are evaluated, and its own encoded 200. A
 *   resource with any coded variant says `Vary: Accept-Encoding` in every response about it
 *   (200, 206, 304, 412, 416, HEAD); one without says nothing of the sort.
 * - Uploads are never compressed: they are what clients sent, read back about once each, so
 *   compressing one costs more than it saves, and an uploading client could make the server
 *   compress at will.
 */

import { HttpError } from "../http/status.ts";
import { type Coding, negotiateEncoding } from "../http/accept_encoding.ts";
import type { FieldList } from "../http/fields.ts";
import { type Field, ResponseMemo } from "../http/response.ts";
import {
  evaluatePreconditions,
  evaluateRange,
  fileValidators,
  ifRangeHolds,
  type Validators,
} from "../http/validators.ts";
import {
  codedErrorBody,
  CODING_BIT,
  CODINGS,
  compress,
  type CompressionPolicy,
  type ContentCoding,
  findSibling,
  isCompressible,
  variantValidators,
} from "./compression.ts";
import {
  type CachedFile,
  type Encodings,
  type FileIdentity,
  identityOf,
  type Representation,
  sameIdentity,
} from "./file_cache.ts";
import { contentDisposition, mediaRule, uploadRule } from "./mime.ts";
import { folderRedirect, serveFolder } from "./folders.ts";
import { errorReply, type Exchange, type Reply } from "./reply.ts";
import { fsError, isInUploads, resolveInRoot, type StaticRoot } from "./site_root.ts";

/** Up to this size a file is cached and goes out in the same write as its head. */
export const SMALL_FILE_BYTES = 64 * 1024;
const SLASH = 0x2f;
const VARY: Field = ["Vary", "Accept-Encoding"];

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
  if (hit !== null) {
    const chosen = hit.encodings === undefined ? hit : selected(hit, hit.encodings, ex.head.fields);
    return replyFromBytes(ex, chosen.fields, chosen.validators, chosen.bytes, chosen.memo);
  }
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
    const typeFields: Field[] = [["Content-Type", rule.contentType]];
    if (rule.download) typeFields.push(["Content-Disposition", contentDisposition(name)]);
    const policy = root.compression !== null && isCompressible(rule.contentType, name) &&
        !isInUploads(root, path, real)
      ? root.compression
      : null;
    const form: FileForm = { typeFields, cacheControl: root.cacheControl };

    if (info.size <= SMALL_FILE_BYTES) {
      const bytes = await readExactly(file, info.size);
      // Cached only when nothing changed while it was read; otherwise served once as read (and
      // not compressed: a file that keeps changing would be compressed on every request). Nor
      // when a change under the root was reported meanwhile: the cache would not keep it.
      const unchanged = bytes.length === info.size &&
        sameIdentity(identity, identityOf(await file.stat()));
      const keepable = unchanged && root.cache.generation === generation;
      let entry: CachedFile;
      if (policy !== null && keepable) {
        // One compression for the requests that read this file together: the first compresses
        // and keeps the entry before any other, or a latecomer, looks for it.
        const key = `${path}\n${identity.dev}:${identity.ino}:${identity.size}:` +
          `${identity.mtimeMs}:${identity.ctimeMs}`;
        entry = await root.cache.fillOnce(key, async () => {
          const kept = root.cache.peek(path);
          if (kept !== null && sameIdentity(kept.identity, identity)) return kept;
          const coded = await codedEntry(root, path, {
            real,
            identity,
            validators,
            bytes,
            form,
            policy,
          });
          root.cache.put(path, named, coded, generation);
          return coded;
        });
      } else {
        entry = {
          real,
          identity,
          validators,
          fields: fileFields(form, validators, "identity", policy !== null),
          bytes,
          memo: new ResponseMemo(),
        };
        if (unchanged) root.cache.put(path, named, entry, generation);
      }
      const chosen = entry.encodings === undefined
        ? entry
        : selected(entry, entry.encodings, ex.head.fields);
      return replyFromBytes(ex, chosen.fields, chosen.validators, chosen.bytes);
    }

    // Streamed files are not compressed here, but a precompressed sibling is sent instead.
    const coded = policy === null ? null : await codedSibling(ex, root, path, form);
    if (coded !== null && coded !== "identity") return coded;
    const fields = fileFields(form, validators, "identity", coded === "identity");
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

/** What a file's responses are made of besides its validators (see `fileFields`). */
interface FileForm {
  /** Content-Type, and Content-Disposition for a download. */
  typeFields: Field[];
  cacheControl: Field | null;
}

/**
 * The fields of a 200 for one representation of a file: type, coding, Vary, validators,
 * Accept-Ranges, Cache-Control. Without coding and Vary, exactly what a file got before
 * compression existed.
 */
function fileFields(form: FileForm, v: Validators, coding: Coding, vary: boolean): Field[] {
  const fields = [...form.typeFields];
  if (coding !== "identity") fields.push(["Content-Encoding", coding]);
  if (vary) fields.push(VARY);
  fields.push(["Last-Modified", v.lastModified], ["ETag", v.etag], ["Accept-Ranges", "bytes"]);
  if (form.cacheControl !== null) fields.push(form.cacheControl);
  return fields;
}

/** The representation of a cached file that a request's Accept-Encoding selects. */
function selected(file: CachedFile, encodings: Encodings, fields: FieldList): Representation {
  const coding = negotiateEncoding(fields, encodings.available);
  return coding === "identity" ? file : encodings[coding] as Representation;
}

/**
 * The cache entry of a compressible small file: its identity and, for each coding, its
 * precompressed sibling when there is a usable one, else its own compression when that is
 * worth it. The siblings' states are kept whether they exist or not, so the entry goes stale
 * when one appears.
 */
async function codedEntry(
  root: StaticRoot,
  path: string,
  file: {
    real: string;
    identity: FileIdentity;
    validators: Validators;
    bytes: Uint8Array;
    form: FileForm;
    policy: CompressionPolicy;
  },
): Promise<CachedFile> {
  const siblings = await Promise.all(
    CODINGS.map((coding) => findSibling(root, path, { coding, readUpTo: SMALL_FILE_BYTES })),
  );
  const variants: Record<ContentCoding, Representation | null> = { br: null, gzip: null };
  let available = 0;
  CODINGS.forEach((coding, i) => {
    const sibling = siblings[i];
    let bytes: Uint8Array | null;
    let validators: Validators;
    if (sibling !== undefined && sibling.bytes !== null && sibling.validators !== null) {
      bytes = sibling.bytes;
      validators = sibling.validators;
    } else {
      bytes = compress(file.bytes, coding, file.policy);
      validators = variantValidators(file.validators, coding);
    }
    if (bytes === null) return;
    variants[coding] = {
      validators,
      fields: fileFields(file.form, validators, coding, true),
      bytes,
      memo: new ResponseMemo(),
    };
    available |= CODING_BIT[coding];
  });
  const entry: CachedFile = {
    real: file.real,
    identity: file.identity,
    validators: file.validators,
    fields: fileFields(file.form, file.validators, "identity", available !== 0),
    bytes: file.bytes,
    memo: new ResponseMemo(),
    siblings: siblings.map((sibling) => sibling.state),
  };
  if (available !== 0) entry.encodings = { available, br: variants.br, gzip: variants.gzip };
  return entry;
}

/**
 * For a streamed (uncached) compressible file: null when it has no usable precompressed
 * sibling; "identity" when it has one but the request selects the identity (which then says
 * Vary); else the reply with the selected sibling, opened, as its content.
 */
async function codedSibling(
  ex: Exchange,
  root: StaticRoot,
  path: string,
  form: FileForm,
): Promise<Reply | "identity" | null> {
  const siblings = await Promise.all(CODINGS.map((coding) => findSibling(root, path, { coding })));
  let available = 0;
  CODINGS.forEach((coding, i) => {
    if (siblings[i]?.state.real != null) available |= CODING_BIT[coding];
  });
  if (available === 0) return null;
  const coding = negotiateEncoding(ex.head.fields, available);
  if (coding === "identity") return "identity";
  const real = siblings[CODINGS.indexOf(coding)]?.state.real as string;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(real, { read: true });
  } catch {
    // Gone since it was found: the identity it is.
    return "identity";
  }
  let handedOver = false;
  try {
    // The validators of what was opened, not of what was found a moment before.
    const info = await file.stat();
    if (!info.isFile) return "identity";
    const validators = variantValidators(
      fileValidators(info.size, info.mtime?.getTime() ?? 0),
      coding,
    );
    const fields = fileFields(form, validators, coding, true);
    const { reply, start } = select(ex, fields, validators, info.size);
    if (reply.status !== 200 && reply.status !== 206) return reply;
    if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    handedOver = true;
    return { ...reply, body: file };
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
  if (precondition === "failed") {
    throw new HttpError(412, "precondition failed", fields.filter(([name]) => name === "Vary"));
  }
  if (precondition === "not-modified") {
    // §15.4.5: a 304 repeats the ETag, Vary and Cache-Control a 200 would carry, and has no
    // content.
    const kept = fields.filter(([name]) =>
      name === "ETag" || name === "Cache-Control" || name === "Vary"
    );
    return { reply: { status: 304, fields: kept, length: 0, body: null }, start: 0 };
  }
  // HEAD gets GET's answer to a Range too, as from nginx and Go's net/http, so a client can
  // probe a range before fetching it; RFC 9110 §14.2 defines range handling for GET only.
  const range = ifRangeHolds(head.fields, v)
    ? evaluateRange(head.fields, size)
    : { kind: "full" as const };
  if (range.kind === "unsatisfiable") return { reply: unsatisfiable(fields, v, size), start: 0 };
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

/**
 * 416 for a representation of `size` bytes (RFC 9110 §15.5.17): Content-Range with that size,
 * the validators, and Vary where the resource has one. For a coded variant the short error body
 * is in that coding and says so: the 416 is about the coded bytes, which a client ranging over
 * them (nginx's gzip_static answers the same) must be able to tell.
 */
function unsatisfiable(fields: Field[], v: Validators, size: number): Reply {
  const coding = fields.find(([name]) => name === "Content-Encoding")?.[1] as
    | ContentCoding
    | undefined;
  const headers: Field[] = [];
  if (coding !== undefined) headers.push(["Content-Encoding", coding]);
  for (const field of fields) if (field[0] === "Vary") headers.push(field);
  headers.push(
    ["Content-Range", `bytes */${size}`],
    ["Last-Modified", v.lastModified],
    ["ETag", v.etag],
  );
  const error = new HttpError(416, "range not satisfiable", headers);
  if (coding === undefined) throw error;
  const reply = errorReply(error);
  const body = codedErrorBody(416, coding);
  return { ...reply, body, length: body.length };
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
