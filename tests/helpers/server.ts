/**
 * Starting the real server for tests: in-process on a free port (fast, most tests), or as a
 * subprocess with exactly the permissions of `deno task start` (sandbox, signals, kill -9).
 */

import { DEFAULT_CONFIG, type ServerConfig } from "../../src/config.ts";
import { type RunningServer, startServer } from "../../src/server/listener.ts";

export const PROJECT_DIR = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const RESOURCES = `${PROJECT_DIR}/resources`;
/** Scratch space for tests (git-ignored); the test task may write here. */
export const TEST_TMP = `${PROJECT_DIR}/tests/.tmp`;

/** The real server in this process, on 127.0.0.1 and a free port. Stop it with `stop()`. */
export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
): Promise<RunningServer> {
  return await startServer({
    ...DEFAULT_CONFIG,
    root: RESOURCES,
    port: 0,
    snapshotIntervalMs: 0,
    ...overrides,
  });
}

/** A fresh folder under tests/.tmp, removed by the returned function. */
export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  await Deno.mkdir(TEST_TMP, { recursive: true });
  const path = await Deno.makeTempDir({ dir: TEST_TMP });
  return { path, remove: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}

/**
 * `ln -s target path`: Deno.symlink needs unscoped read and write permissions, which the test
 * task does not grant (only --allow-write=resources/uploads,tests/.tmp); --allow-run it has.
 */
export async function symlink(target: string, path: string): Promise<void> {
  const { code, stderr } = await new Deno.Command("ln", { args: ["-s", target, path] }).output();
  if (code !== 0) throw new Error(`ln -s ${target} ${path}: ${new TextDecoder().decode(stderr)}`);
}

export interface SpawnedServer {
  process: Deno.ChildProcess;
  port: number;
  /** Everything the server wrote to stderr so far (its log). */
  log(): string;
  /** Resolves with the exit status once the process ends. */
  status: Promise<Deno.CommandStatus>;
}

/**
 * Runs `main.ts` as `deno task start` does (same permission flags, `root` as the read scope),
 * passing `args`; resolves once the server logs that it is listening.
 */
export async function spawnServer(
  args: string[],
  options: { root?: string; permissions?: string[] } = {},
): Promise<SpawnedServer> {
  const root = options.root ?? "resources";
  const permissions = options.permissions ??
    ["--allow-net", `--allow-read=${root}`, `--allow-write=${root}/uploads`];
  const rootArgs = root === "resources" ? [] : ["--root", root];
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, "main.ts", ...args, ...rootArgs],
    cwd: PROJECT_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const ready = Promise.withResolvers<number>();
  (async () => {
    for await (const chunk of process.stderr) {
      text += decoder.decode(chunk, { stream: true });
      const match = /listening on http:\/\/[^ ]*:(\d+)\//.exec(text);
      if (match) ready.resolve(Number(match[1]));
    }
    ready.reject(new Error(`server exited before listening:\n${text}`));
  })();
  process.stdout.cancel();
  const timer = setTimeout(() => ready.reject(new Error(`server did not start:\n${text}`)), 15000);
  try {
    const port = await ready.promise;
    return { process, port, log: () => text, status: process.status };
  } finally {
    clearTimeout(timer);
  }
}

/** `deno run` arguments that start main.ts with `args`, in `deno task start`'s sandbox. */
export function startArgs(args: string[]): string[] {
  return [
    "run",
    "--allow-net",
    "--allow-read=resources",
    "--allow-write=resources/uploads",
    "main.ts",
    ...args,
  ];
}

/**
 * Runs main.ts with `args` to completion (for CLI tests); returns code, stdout and stderr.
 * Bounded by `timeoutMs`: an argument wrongly accepted would start a server that never exits,
 * and the test must fail rather than hang.
 */
export async function runCli(
  args: string[],
  timeoutMs = 10_000,
): Promise<{ code: number; out: string; err: string }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: startArgs(args),
    cwd: PROJECT_DIR,
    stdin: "null",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    out: decoder.decode(output.stdout),
    err: decoder.decode(output.stderr),
  };
}
