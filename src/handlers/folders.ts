/**
 * Folders under the root: `/dir` is redirected to `/dir/`, and `/dir/` without an index.html is
 * listed where the configuration allows it (listing.ts), else refused (403). (`/dir/index.html`
 * itself is served by static_files.ts.)
 *
 * Invariants:
 * - A `Location` is built from the decoded path, encoded again, and the query made safe, so
 *   no byte of the request reaches the header unchecked.
 * - A folder is confined like a file (`resolveInRoot`): a symlink cannot lead out of the root,
 *   and a hidden folder looks absent.
 * - Nothing about a folder is cached: each request looks at the folder as it is now.
 * - The uploads folder is listed only with `--list-uploads`, whatever `--listing` says.
 */

import { errorBody } from "../http/response.ts";
import { HttpError } from "../http/status.ts";
import { encodePath, encodeQuery, parseTarget } from "../http/target.ts";
import type { Exchange, Reply } from "./reply.ts";
import { readListing, renderListing } from "./listing.ts";
import { fsError, isInUploads, resolveInRoot, type StaticRoot } from "./site_root.ts";

const ENCODER = new TextEncoder();

/**
 * `301 Moved Permanently` from a folder named without its trailing "/" to the name with it, as
 * from nginx and Apache, so the relative links of its index resolve inside it. The query is
 * kept.
 */
export function folderRedirect(ex: Exchange): Reply {
  const { query } = parseTarget(ex.head.method, ex.head.target);
  const location = `${encodePath(ex.path)}/${query === null ? "" : `?${encodeQuery(query)}`}`;
  const body = errorBody(301);
  return {
    status: 301,
    fields: [["Location", location], ["Content-Type", "text/plain; charset=utf-8"]],
    length: body.length,
    body,
    note: "folder: redirected to its trailing slash",
  };
}

/**
 * GET/HEAD of `ex.path` (ending in "/") when its index.html is missing: 404 unless it is a
 * folder inside the root; then its listing where allowed, else 403.
 */
export async function serveFolder(ex: Exchange, root: StaticRoot): Promise<Reply> {
  const real = await resolveInRoot(root, ex.path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(real);
  } catch (error) {
    throw fsError(error);
  }
  if (!info.isDirectory) throw new HttpError(404, "not a folder");
  const listed = isInUploads(root, ex.path, real) ? root.listUploads : root.listFolders;
  if (!listed) throw new HttpError(403, "folder without index.html; not listed");
  let entries;
  try {
    entries = await readListing(root, { path: ex.path, real });
  } catch (error) {
    throw fsError(error);
  }
  const body = ENCODER.encode(renderListing(ex.path, entries));
  return {
    status: 200,
    fields: [["Content-Type", "text/html; charset=utf-8"]],
    length: body.length,
    body,
    note: `listing of ${entries.length} entries`,
  };
}
