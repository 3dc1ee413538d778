/**
 * Starting the real server for tests: in-process on a free port (fast, most tests), or as a
 * subprocess with exactly the permissions of `deno task start` (sandbox, signals, kill -9).
 * The `with…` forms always stop what they started, a spawned process included, so no test
 * leaks a process or a port. Also: scratch roots under tests/.tmp, and polling with a deadline.
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

/** Runs `fn` with the real server in this process (see startTestServer); always stops it. */
export async function withServer<T>(
  overrides: Partial<ServerConfig>,
  fn: (server: RunningServer) => Promise<T>,
): Promise<T> {
  const server = await startTestServer(overrides);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** A scratch folder: removed by `remove()`, or at the end of the scope with `await using`. */
export interface TempDir extends AsyncDisposable {
  path: string;
  remove(): Promise<void>;
}

/** A fresh folder under tests/.tmp. */
export async function tempDir(): Promise<TempDir> {
  await Deno.mkdir(TEST_TMP, { recursive: true });
  const path = await Deno.makeTempDir({ dir: TEST_TMP });
  const remove = () => Deno.remove(path, { recursive: true }).catch(() => {});
  return { path, remove, [Symbol.asyncDispose]: remove };
}

export interface TempRoot extends TempDir {
  /** `<path>/uploads`, empty at first. */
  uploads: string;
}

/**
 * A fresh root to serve, under tests/.tmp: copies of `files` (names in resources/; by default
 * every top-level file there), an empty uploads/ folder, and nothing else. A server on it never
 * touches resources/uploads.
 */
export async function tempRoot(options: { files?: string[] } = {}): Promise<TempRoot> {
  const dir = await tempDir();
  try {
    let files = options.files;
    if (files === undefined) {
      files = [];
      for await (const entry of Deno.readDir(RESOURCES)) if (entry.isFile) files.push(entry.name);
    }
    for (const name of files) await Deno.copyFile(`${RESOURCES}/${name}`, `${dir.path}/${name}`);
    await Deno.mkdir(`${dir.path}/uploads`);
  } catch (error) {
    await dir.remove();
    throw error;
  }
  return { ...dir, uploads: `${dir.path}/uploads` };
}

/**
 * Polls `predicate` every `intervalMs` (default 10) until it holds; throws, naming `what`, once
 * `timeoutMs` (default 5000) have passed without it. `what` may be a function, called only on
 * timeout, so the message can show the state reached (a log, a count).
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  options: { what?: string | (() => string); timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const { what = "a condition", timeoutMs = 5000, intervalMs = 10 } = options;
  const until = Date.now() + timeoutMs;
  while (!await predicate()) {
    if (Date.now() > until) {
      const description = typeof what === "function" ? what() : what;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The line main.ts logs once it accepts connections; group 1 is the port. */
export const LISTENING = /listening on https?:\/\/[^ ]*:(\d+)\//;

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
  /** Resolves with the exit status once the process ends and its log has been read to the end. */
  status: Promise<Deno.CommandStatus>;
}

export interface SpawnOptions {
  /** The folder to serve, relative to the project (default `resources`); also the read scope. */
  root?: string;
  /** `deno run` permission flags, in place of those of `deno task start` for `root`. */
  permissions?: string[];
  /** A compiled server to run instead of `deno run main.ts` (its permissions are built in). */
  executable?: string;
}

/**
 * Runs `main.ts` as `deno task start` does (same permission flags, `root` as the read scope),
 * passing `args`; resolves once the server logs that it is listening. A server that does not
 * get there within 15 s is killed, and the error carries its log.
 */
export async function spawnServer(
  args: string[],
  options: SpawnOptions = {},
): Promise<SpawnedServer> {
  const root = options.root ?? "resources";
  const permissions = options.permissions ??
    ["--allow-net", `--allow-read=${root}`, `--allow-write=${root}/uploads`, "--allow-sys=statfs"];
  const rootArgs = root === "resources" ? [] : ["--root", root];
  const [program, programArgs] = options.executable === undefined
    ? [Deno.execPath(), ["run", ...permissions, "main.ts"]]
    : [options.executable, []];
  const process = new Deno.Command(program, {
    args: [...programArgs, ...args, ...rootArgs],
    cwd: PROJECT_DIR,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const ready = Promise.withResolvers<number>();
  // Read stderr for the whole run: a closed pipe would break the server's logging.
  const drained = (async () => {
    try {
      for await (const chunk of process.stderr) {
        text += decoder.decode(chunk, { stream: true });
        const match = LISTENING.exec(text);
        if (match) ready.resolve(Number(match[1]));
      }
    } finally {
      ready.reject(new Error(`server exited before listening:\n${text}`));
    }
  })();
  process.stdout.cancel();
  // The exit status alone may come before the last lines of the log have been read.
  const status = Promise.all([process.status, drained.catch(() => {})]).then(([status]) => status);
  const timer = setTimeout(() => ready.reject(new Error(`server did not start:\n${text}`)), 15000);
  try {
    const port = await ready.promise;
    return { process, port, log: () => text, status };
  } catch (error) {
    kill(process);
    await status;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `fn` with a server spawned as by spawnServer; afterwards kills it (SIGKILL, unless it
 * has exited already) and waits for its exit, whether `fn` succeeded or not.
 */
export function withSpawnedServer<T>(
  args: string[],
  fn: (server: SpawnedServer) => Promise<T>,
): Promise<T>;
export function withSpawnedServer<T>(
  args: string[],
  options: SpawnOptions,
  fn: (server: SpawnedServer) => Promise<T>,
): Promise<T>;
export async function withSpawnedServer<T>(
  args: string[],
  optionsOrFn: SpawnOptions | ((server: SpawnedServer) => Promise<T>),
  maybeFn?: (server: SpawnedServer) => Promise<T>,
): Promise<T> {
  const [options, fn] = typeof optionsOrFn === "function"
    ? [{}, optionsOrFn]
    : [optionsOrFn, maybeFn as (server: SpawnedServer) => Promise<T>];
  const server = await spawnServer(args, options);
  try {
    return await fn(server);
  } finally {
    kill(server.process);
    await server.status;
  }
}

function kill(process: Deno.ChildProcess): void {
  try {
    process.kill("SIGKILL");
  } catch {
    // Already exited.
  }
}

/** `deno run` arguments that start main.ts with `args`, in `deno task start`'s sandbox. */
export function startArgs(args: string[]): string[] {
  return [
    "run",
    "--allow-net",
    "--allow-read=resources",
    "--allow-write=resources/uploads",
    "--allow-sys=statfs",
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
