/**
 * The minimal static file server a Deno developer would write with `Deno.serve`: the "obvious
 * Deno alternative" that bench/load.ts compares denohttpd against.
 *
 *   deno run --allow-net --allow-read=<root> bench/deno_serve_static.ts <root> <port>
 *
 * Maps the URL path to a file under <root> (`/` is `/index.html`), refuses `..`, backslashes and
 * NUL (403), answers 404 for a missing file, and streams the file with `file.readable` with its
 * length and a Content-Type from a small table. No logging, no caching, no ranges: on purpose.
 */

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
};

function contentType(path: string): string {
  const extension = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  return CONTENT_TYPES[extension] ?? "application/octet-stream";
}

/** The file path for a URL path, or null when the path could leave the root. */
function resolvePath(root: string, pathname: string): string | null {
  let path;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (path.includes("\0") || path.includes("\\") || path.split("/").includes("..")) return null;
  return `${root}${path.endsWith("/") ? `${path}index.html` : path}`;
}

async function serveFile(root: string, request: Request): Promise<Response> {
  const path = resolvePath(root, new URL(request.url).pathname);
  if (path === null) return new Response("Forbidden\n", { status: 403 });
  let file;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return new Response("Not Found\n", { status: 404 });
    throw error;
  }
  const info = await file.stat();
  const head = request.method === "HEAD";
  if (!info.isFile || head) file.close();
  if (!info.isFile) return new Response("Not Found\n", { status: 404 });
  return new Response(head ? null : file.readable, {
    headers: { "content-type": contentType(path), "content-length": String(info.size) },
  });
}

const [root, port] = Deno.args;
if (root === undefined || port === undefined) {
  console.error("usage: deno_serve_static.ts <root> <port>");
  Deno.exit(2);
}
const base = root.replace(/\/+$/, "");
Deno.serve({ hostname: "127.0.0.1", port: Number(port) }, (request) => serveFile(base, request));
