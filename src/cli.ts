/**
 * Command line → ServerConfig: `[port] [host] [pool]` positionals like the original
 * `server.py 8000 0.0.0.0 20`, named flags beside them, and --help.
 *
 * Invariant: every bad argument becomes a CliError with a one-line message; main.ts prints it
 * and exits with status 2. Nothing here touches the network or the file system.
 */

import { parseArgs } from "node:util";
import {
  DEFAULT_CONFIG,
  LOG_LEVELS,
  type LogLevelName,
  SERVER_NAME,
  SERVER_VERSION,
  type ServerConfig,
} from "./config.ts";

export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CliError";
  }
}

export type CliResult =
  | { kind: "run"; config: ServerConfig }
  | { kind: "help"; text: string }
  | { kind: "version"; text: string };

export const USAGE = `${SERVER_NAME} ${SERVER_VERSION}: an HTTP/1.1 server for resources/

Usage: deno task start [port] [host] [pool] [options]

Positionals (the order of the original server.py):
  port                 TCP port (default ${DEFAULT_CONFIG.port}; 0 picks a free one)
  host                 address to bind (default ${DEFAULT_CONFIG.host})
  pool                 requests served at once (default ${DEFAULT_CONFIG.poolSize})

Options:
  --port N             same as the positional port
  --host ADDR          same as the positional host
  --pool N             same as the positional pool
  --queue N            requests that may wait for a worker before 503 (default ${DEFAULT_CONFIG.queueLimit})
  --root DIR           folder to serve (default ${DEFAULT_CONFIG.root}; must be inside --allow-read)
  --strict-types       serve only .html, .txt, .png, .jpg, .jpeg (anything else 415)
  --cache-control VALUE
                       send Cache-Control: VALUE with files (default: none)
  --listing            list folders without index.html (default: 403)
  --list-uploads       list the uploads folder too (default: 403, even with --listing)
  --max-head BYTES     request line + headers limit (default ${DEFAULT_CONFIG.maxHeadBytes})
  --max-body BYTES     request body limit (default ${DEFAULT_CONFIG.maxBodyBytes})
  --log-level LEVEL    debug, info, warning or error (default ${DEFAULT_CONFIG.logLevel})
  -h, --help           show this help
  -V, --version        show the version
`;

const OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  pool: { type: "string" },
  queue: { type: "string" },
  root: { type: "string" },
  "strict-types": { type: "boolean" },
  "cache-control": { type: "string" },
  listing: { type: "boolean" },
  "list-uploads": { type: "boolean" },
  "max-head": { type: "string" },
  "max-body": { type: "string" },
  "log-level": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

export function parseCli(argv: readonly string[]): CliResult {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(firstLine(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help", text: USAGE };
  if (values.version) return { kind: "version", text: `${SERVER_NAME} ${SERVER_VERSION}` };
  if (positionals.length > 3) {
    throw new CliError(`too many arguments: expected at most [port] [host] [pool]`);
  }
  const [portArg, hostArg, poolArg] = positionals;
  const config: ServerConfig = { ...DEFAULT_CONFIG };
  config.port = integer("port", pick("port", portArg, values.port), 0, 65535) ?? config.port;
  config.host = pick("host", hostArg, values.host) ?? config.host;
  if (config.host.trim() === "" || /\s/.test(config.host)) {
    throw new CliError(`invalid host "${config.host}"`);
  }
  config.poolSize = integer("pool", pick("pool", poolArg, values.pool), 1, 10_000) ??
    config.poolSize;
  config.queueLimit = integer("queue", values.queue, 0, 1_000_000) ?? config.queueLimit;
  config.maxHeadBytes = integer("max-head", values["max-head"], 256, 1 << 20) ??
    config.maxHeadBytes;
  config.maxBodyBytes = integer("max-body", values["max-body"], 0, 1 << 30) ??
    config.maxBodyBytes;
  if (values.root !== undefined) {
    if (values.root === "") throw new CliError("--root must not be empty");
    config.root = values.root;
  }
  if (values["strict-types"]) config.strictTypes = true;
  if (values["cache-control"] !== undefined) {
    config.cacheControl = fieldValue("cache-control", values["cache-control"]);
  }
  if (values.listing) config.listing = true;
  if (values["list-uploads"]) config.listUploads = true;
  if (values["log-level"] !== undefined) {
    const level = values["log-level"] as LogLevelName;
    if (!LOG_LEVELS.includes(level)) {
      throw new CliError(`invalid --log-level "${level}": use ${LOG_LEVELS.join(", ")}`);
    }
    config.logLevel = level;
  }
  return { kind: "run", config };
}

/** A value given as positional or flag, refusing two different ones. */
function pick(name: string, positional?: string, flag?: string): string | undefined {
  if (positional !== undefined && flag !== undefined && positional !== flag) {
    throw new CliError(`${name} given twice (positional "${positional}" and --${name} "${flag}")`);
  }
  return flag ?? positional;
}

function integer(name: string, text: string | undefined, min: number, max: number) {
  if (text === undefined) return undefined;
  if (!/^[0-9]+$/.test(text)) throw new CliError(`invalid ${name} "${text}": expected a number`);
  const value = Number(text);
  if (value < min || value > max) {
    throw new CliError(`invalid ${name} ${text}: expected ${min} to ${max}`);
  }
  return value;
}

/**
 * A value that goes verbatim into a response header: visible ASCII and spaces only (RFC 9110
 * §5.5), so it can never end the field or the head early; surrounding spaces are dropped.
 */
function fieldValue(name: string, text: string): string {
  const value = text.trim();
  if (value === "") throw new CliError(`--${name} must not be empty`);
  if (!/^[\x20-\x7e]+$/.test(value)) {
    throw new CliError(`invalid --${name}: only visible ASCII and spaces, no control characters`);
  }
  return value;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}
