/**
 * The HTML listing of a folder without index.html (`--listing`, `--list-uploads`): what is in
 * it (`readListing`), and the page that shows it (`renderListing`, pure).
 *
 * Invariants:
 * - Only what the server would serve is listed: no dotfiles or dot-folders, no names the path
 *   rules refuse (control characters, backslashes), nothing but files and folders, and no
 *   symlink whose target is outside the root or hidden.
 * - Every name reaches the page HTML-escaped as text and percent-encoded as a link, so a file
 *   name can neither inject markup nor change where its link leads.
 * - Folders come first, then files, each sorted by UTF-16 code units of the name (like nginx's
 *   byte order for ASCII names): stable, and the same in every locale.
 */

import { encodePath } from "../http/target.ts";
import { resolveInRoot, type StaticRoot } from "./site_root.ts";

export interface ListingEntry {
  name: string;
  folder: boolean;
  /** Bytes; not shown for folders. */
  size: number;
  /** Modification time, or null where the file system does not say. */
  mtimeMs: number | null;
}

/** Entries looked up at once: bounded, so a large folder does not flood the thread pool. */
const STAT_BATCH = 32;

/** A folder to list: its decoded request path (ending in "/") and its confined real path. */
export interface Folder {
  path: string;
  real: string;
}

/**
 * The entries of `folder`, whose real path was confined by `resolveInRoot`. An entry that
 * vanishes or cannot be looked up is left out.
 */
export async function readListing(root: StaticRoot, folder: Folder): Promise<ListingEntry[]> {
  const found: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(folder.real)) {
    if (listable(entry.name)) found.push(entry);
  }
  const entries: ListingEntry[] = [];
  for (let i = 0; i < found.length; i += STAT_BATCH) {
    const batch = found.slice(i, i + STAT_BATCH).map((entry) => lookUp(root, folder, entry));
    for (const entry of await Promise.all(batch)) if (entry !== null) entries.push(entry);
  }
  return entries;
}

/** Not hidden, and not refused by the path rules (target.ts): no control bytes, no "\\". */
function listable(name: string): boolean {
  if (name.startsWith(".")) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return false;
  }
  return true;
}

async function lookUp(
  root: StaticRoot,
  folder: Folder,
  entry: Deno.DirEntry,
): Promise<ListingEntry | null> {
  try {
    // A symlink is listed only where it would be served: inside the root, not hidden.
    const target = entry.isSymlink
      ? await resolveInRoot(root, folder.path + entry.name)
      : `${folder.real}/${entry.name}`;
    const info = await Deno.stat(target);
    if (!info.isFile && !info.isDirectory) return null;
    return {
      name: entry.name,
      folder: info.isDirectory,
      size: info.size,
      mtimeMs: info.mtime?.getTime() ?? null,
    };
  } catch {
    return null;
  }
}

/** Folders first, then files; each by UTF-16 code units of the name. */
export function sortEntries(entries: readonly ListingEntry[]): ListingEntry[] {
  return [...entries].sort((a, b) => {
    if (a.folder !== b.folder) return a.folder ? -1 : 1;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

/** `&`, `<`, `>`, `"` and `'` as character references: safe in text and in quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] as string);
}

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** `2026-11-25 20:49:50` (UTC), or "" when unknown. */
function shownDate(mtimeMs: number | null): string {
  if (mtimeMs === null) return "";
  const iso = new Date(mtimeMs).toISOString();
  return `<time datetime="${iso.slice(0, 19)}Z">${iso.slice(0, 10)} ${iso.slice(11, 19)}</time>`;
}

/**
 * The listing page of the folder at decoded request path `path` (ending in "/"): a parent link
 * unless `path` is the root, then every entry with a relative link, its size and its date.
 */
export function renderListing(path: string, entries: readonly ListingEntry[]): string {
  const title = `Index of ${escapeHtml(path)}`;
  let rows = path === "/" ? "" : '<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n';
  for (const entry of sortEntries(entries)) {
    const suffix = entry.folder ? "/" : "";
    const href = escapeHtml(encodePath(entry.name) + suffix);
    const size = entry.folder ? "-" : String(entry.size);
    rows += `<tr><td><a href="${href}">${escapeHtml(entry.name)}${suffix}</a></td>` +
      `<td class="size">${size}</td><td>${shownDate(entry.mtimeMs)}</td></tr>\n`;
  }
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { padding: 0.2em 1em; text-align: left; }
td.size { text-align: right; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>${title}</h1>
<table>
<thead><tr><th>Name</th><th>Size</th><th>Last modified (UTC)</th></tr></thead>
<tbody>
${rows}</tbody>
</table>
</body>
</html>
`;
}
