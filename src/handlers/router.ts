/**
 * Method and path → handler (RFC 9110 §9): GET/HEAD of files, POST /upload, 405/501 otherwise.
 *
 * Invariants:
 * - The router is the only place that knows which methods each resource allows, so every 405
 *   carries an `Allow` that matches what the server really does.
 * - A hidden path (a segment starting with ".") is 404 to GET, HEAD and POST alike, so no
 *   answer tells a dotfile apart from a missing file.
 */

import type { CorsPolicy } from "../http/cors.ts";
import type { Authenticator } from "../server/auth.ts";
import { HttpError } from "../http/status.ts";
import { preflightReply } from "./cors.ts";
import type { Exchange, Reply } from "./reply.ts";
import { isHiddenPath, resolveInRoot, type StaticRoot } from "./site_root.ts";
import { serveStatic } from "./static_files.ts";
import { folderRedirect } from "./folders.ts";
import { handleUpload, type Uploads } from "./upload.ts";

/** Methods registered by RFC 9110 §9 and RFC 5789; anything else is 501 (RFC 9110 §9.1). */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "CONNECT",
  "OPTIONS",
  "TRACE",
  "PATCH",
]);

export const UPLOAD_PATH = "/upload";
const FILE_METHODS = "GET, HEAD";
const UPLOAD_METHODS = "POST";
const ALLOW_FILES: readonly [string, string] = ["Allow", FILE_METHODS];
const ALLOW_UPLOAD: readonly [string, string] = ["Allow", UPLOAD_METHODS];
const ALLOW_SERVER: readonly [string, string] = ["Allow", "GET, HEAD, POST"];

export interface Site {
  root: StaticRoot;
  uploadsDir: string;
  uploads: Uploads;
  /**
   * The uploads folder as a root of its own, served at `/uploads/`, when it is not
   * `<root>/uploads` (`--uploads DIR`); null when the root serves it.
   */
  uploadsRoot: StaticRoot | null;
  /** Origins whose pages may read responses (`--cors`); null when none. */
  cors: CorsPolicy | null;
  /** Who may write (`--auth-file`, `--auth`); null: nobody is asked for credentials. */
  auth: Authenticator | null;
}

/** The methods the resource at `path` allows: its `Allow`, and what a CORS preflight is told. */
export function methodsAllowed(path: string): string {
  return path === UPLOAD_PATH ? UPLOAD_METHODS : FILE_METHODS;
}

/** 501 for an unknown method; CONNECT (authority-form) is known but never allowed. */
export function checkMethod(method: string): void {
  if (method !== "GET" && !KNOWN_METHODS.has(method)) {
    throw new HttpError(501, "method not implemented");
  }
  if (method === "CONNECT") throw new HttpError(405, "CONNECT not allowed", [ALLOW_SERVER]);
}

/**
 * The reply to `ex`. Synchronous when it can be (a cached file, a refusal): the connection then
 * answers without another turn of the event loop; a promise when the disk must be asked.
 */
export function route(ex: Exchange, site: Site): Reply | Promise<Reply> {
  const { method } = ex.head;
  if (ex.path === "*") throw new HttpError(405, "server-wide OPTIONS", [ALLOW_SERVER]);
  // First of all: a preflight carries no credentials, so no check that needs them may come
  // before it (Fetch §4.8).
  if (method === "OPTIONS") {
    const preflight = preflightReply(ex, site.cors, methodsAllowed(ex.path));
    if (preflight !== null) return preflight;
  }
  if (ex.path === UPLOAD_PATH) {
    if (method === "POST") return handleUpload(ex, site.uploads);
    throw new HttpError(405, `${method} not allowed on the upload path`, [ALLOW_UPLOAD]);
  }
  if (method !== "GET" && method !== "HEAD" && method !== "POST") {
    throw new HttpError(405, `${method} not allowed`, [ALLOW_FILES]);
  }
  // Dotfiles and dot-folders look absent, also to POST (which answers 405 for a file).
  if (isHiddenPath(ex.path)) throw new HttpError(404, "hidden path");
  const [root, inner] = whichRoot(ex, site);
  if (inner === "") {
    // `/uploads` of an uploads root: a folder, as it would be under the root.
    if (method === "POST") throw new HttpError(405, "POST not allowed on a folder", [ALLOW_FILES]);
    return folderRedirect(ex);
  }
  if (method !== "POST") return serveStatic(inner === ex.path ? ex : { ...ex, path: inner }, root);
  return refusePost(root, inner);
}

/** POST to a file that exists is the wrong method (405); POST anywhere else names nothing (404). */
async function refusePost(root: StaticRoot, inner: string): Promise<never> {
  await resolveInRoot(root, inner === "/" ? "/index.html" : inner);
  throw new HttpError(405, "POST not allowed on a file", [ALLOW_FILES]);
}

/**
 * The root a path is served from, and the path inside it: `/uploads/...` from the uploads
 * folder when it is a root of its own (`--uploads DIR`), everything else from the root.
 */
function whichRoot(ex: Exchange, site: Site): [StaticRoot, string] {
  const uploads = site.uploadsRoot;
  if (uploads === null || !ex.path.startsWith(UPLOADS_PREFIX)) return [site.root, ex.path];
  if (ex.path.length === UPLOADS_PREFIX.length) return [uploads, ""];
  if (ex.path.charCodeAt(UPLOADS_PREFIX.length) !== 0x2f) return [site.root, ex.path];
  return [uploads, ex.path.slice(UPLOADS_PREFIX.length)];
}

const UPLOADS_PREFIX = "/uploads";
