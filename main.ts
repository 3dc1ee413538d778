/**
 * denohttpd entry point: parse the command line, set up logging, start the server, stop it
 * gracefully on Ctrl+C or SIGTERM, reopen the log files on SIGUSR1 (logrotate) and reload what
 * can be reloaded on SIGHUP (the log files, the TLS certificate).
 *
 * With `--threads N` (N > 1) the server runs in N listener threads (src/server/threads.ts); this
 * thread then serves nothing, writes every thread's log lines, and forwards the signals.
 *
 * Exit status: 0 after a graceful stop or --help; 2 for bad arguments (also a certificate or key
 * that cannot be used, or threads this process cannot run); 1 when start-up fails, or when a
 * listener thread fails (the others are stopped gracefully first).
 */

import { close as closeInspector } from "node:inspector";
import { CliError, parseCli } from "./src/cli.ts";
import { flushLogging, log, LogFileError, reopenLogs, setupLogging } from "./src/log.ts";
import { startServer } from "./src/server/listener.ts";
import { grantCommand, scriptName } from "./src/server/sandbox_hint.ts";
import { StartupError } from "./src/server/startup.ts";
import { startThreads, threadsUnavailable } from "./src/server/threads.ts";

const encoder = new TextEncoder();

/**
 * Deno (2.9.2 and later) opens its V8 inspector on 127.0.0.1:9229 when the process gets
 * SIGUSR1, as Node does, and has no switch to turn that off; our listener runs just before it
 * opens. An inspector on a server is a way in for any local process, so it is closed again as
 * soon as it is up (within milliseconds). SIGHUP does the same reopen with no window at all.
 */
const INSPECTOR_CLOSE_DELAYS_MS = [0, 1, 5, 20, 100, 500];

function closeSignalInspector(): void {
  for (const ms of INSPECTOR_CLOSE_DELAYS_MS) {
    setTimeout(() => {
      try {
        closeInspector();
      } catch {
        // Nothing open, or already closed.
      }
    }, ms);
  }
}

function say(stream: { writeSync(p: Uint8Array): number }, line: string): void {
  const bytes = encoder.encode(line.endsWith("\n") ? line : `${line}\n`);
  let offset = 0;
  while (offset < bytes.length) offset += stream.writeSync(bytes.subarray(offset));
}

async function main(): Promise<number> {
  let cli;
  try {
    cli = parseCli(Deno.args);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    say(Deno.stderr, `denohttpd: ${error.message} (see --help)`);
    return 2;
  }
  if (cli.kind !== "run") {
    say(Deno.stdout, cli.text);
    return 0;
  }

  const { config } = cli;
  if (config.threads > 1) {
    const problem = threadsUnavailable(config);
    if (problem !== null) {
      say(Deno.stderr, `denohttpd: ${problem}`);
      return 2;
    }
  }
  try {
    await setupLogging({
      level: config.logLevel,
      errorLog: config.errorLog,
      accessLog: config.accessLog,
      accessFormat: config.logFormat,
    });
  } catch (error) {
    if (!(error instanceof LogFileError)) throw error;
    say(Deno.stderr, `denohttpd: ${error.message}`);
    return 1;
  }
  let server: {
    reload(trigger: string): Promise<void>;
    stop(): Promise<unknown>;
    failed?: Promise<string>;
  };
  try {
    server = config.threads > 1 ? await startThreads(config) : await startServer(config);
  } catch (error) {
    if (!(error instanceof StartupError)) throw error;
    // One line, through the log (which owns stderr from here on); for folders outside the
    // sandbox, with the command that grants them, ready to copy.
    const grant = error.sandboxDenied
      ? grantCommand(cli.config, Deno.args, scriptName(Deno.mainModule, Deno.cwd()))
      : null;
    log.server.error("cannot start: {message}", {
      message: grant === null ? error.message : `${error.message}; to grant it, run: ${grant}`,
    });
    await flushLogging();
    return error.exitStatus;
  }

  const stopped = Promise.withResolvers<number>();
  const onSignal = () => {
    log.server.info("signal received; shutting down gracefully");
    server.stop().then(() => stopped.resolve(0));
  };
  server.failed?.then((message) => {
    log.server.error("{message}; stopping the other threads", { message });
    server.stop().then(() => stopped.resolve(1));
  });
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const reopen = (signal: string) => () => {
    const problems = reopenLogs();
    for (const problem of problems) {
      log.server.error("{signal}: {problem}; still writing to the old file", { signal, problem });
    }
    log.server.info("{signal}: log files reopened", { signal });
  };
  // logrotate's postrotate sends USR1 to nginx; HUP reloads what can be reloaded.
  const onUsr1 = reopen("SIGUSR1");
  Deno.addSignalListener("SIGUSR1", () => {
    closeSignalInspector();
    onUsr1();
  });
  const onHup = reopen("SIGHUP");
  Deno.addSignalListener("SIGHUP", () => {
    onHup();
    server.reload("SIGHUP");
  });
  const status = await stopped.promise;
  await flushLogging();
  return status;
}

Deno.exit(await main());
