/**
 * The `deno run` line that grants the folders a start-up failure named as outside the sandbox:
 * `deno task start`'s permission flags (deno.json) with the read and write scopes replaced by
 * the root and the uploads folder given, then the operator's own arguments, quoted for a POSIX
 * shell so the line can be copied as it is.
 *
 * Invariants: pure (no Deno.*): the caller passes the arguments, the script and the folders.
 * A password given with `--auth USER:PASSWORD` never reaches the line: it reads `PASSWORD`.
 */

import type { ServerConfig } from "../config.ts";

/** Characters a POSIX shell takes literally in a word; anything else is single-quoted. */
const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** `arg` as one word of a POSIX shell command line. */
export function shellQuote(arg: string): string {
  if (SHELL_SAFE.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * How to name the script in the line: `main.ts` when it is in the working folder (as for
 * `deno task start`), else its absolute path. `mainModule` is a file URL (`Deno.mainModule`).
 */
export function scriptName(mainModule: string, cwd: string): string {
  const url = new URL(mainModule);
  if (url.protocol !== "file:") return mainModule;
  const path = decodeURIComponent(url.pathname);
  return path === `${cwd.replace(/\/+$/, "")}/main.ts` ? "main.ts" : path;
}

/**
 * `deno run` with `deno task start`'s permissions for `config`'s root and uploads folder (the
 * uploads folder is read too: its size is measured at start-up), `script`, then `args`; null
 * when a folder's name has a comma, which a permission list cannot express.
 */
export function grantCommand(
  config: Pick<ServerConfig, "root" | "uploads">,
  args: readonly string[],
  script = "main.ts",
): string | null {
  const root = trimSlashes(config.root);
  const uploads = config.uploads === null ? `${root}/uploads` : trimSlashes(config.uploads);
  if (root.includes(",") || uploads.includes(",")) return null;
  const inside = uploads === root || uploads.startsWith(`${root}/`);
  const read = inside ? root : `${root},${uploads}`;
  const words = [
    "deno",
    "run",
    "--allow-net",
    `--allow-read=${read}`,
    `--allow-write=${uploads}`,
    "--allow-sys=statfs",
    script,
    ...withoutPasswords(args),
  ];
  return words.map(shellQuote).join(" ");
}

/** `args` with the password of every `--auth USER:PASSWORD` replaced by the word PASSWORD. */
export function withoutPasswords(args: readonly string[]): string[] {
  const hide = (value: string) => {
    const colon = value.indexOf(":");
    return colon < 0 ? "USER:PASSWORD" : `${value.slice(0, colon)}:PASSWORD`;
  };
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === "--") {
      out.push(...args.slice(i));
      break;
    }
    if (arg.startsWith("--auth=")) {
      out.push(`--auth=${hide(arg.slice("--auth=".length))}`);
    } else if (arg === "--auth" && i + 1 < args.length) {
      out.push(arg, hide(args[++i] as string));
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** `path` without trailing slashes (but `/` stays `/`). */
function trimSlashes(path: string): string {
  return path.replace(/(.)\/+$/, "$1");
}
