/**
 * denohttpd entry point: parse the command line, set up logging, start the server, and stop it
 * gracefully on Ctrl+C or SIGTERM.
 *
 * Exit status: 0 after a graceful stop or --help; 2 for bad arguments; 1 when start-up fails.
 */

import { CliError, parseCli } from "./src/cli.ts";
import { flushLogging, log, setupLogging } from "./src/log.ts";
import { startServer } from "./src/server/listener.ts";
import { grantCommand, scriptName } from "./src/server/sandbox_hint.ts";
import { StartupError } from "./src/server/startup.ts";

const encoder = new TextEncoder();

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

  await setupLogging(cli.config.logLevel);
  let server;
  try {
    server = await startServer(cli.config);
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
    return 1;
  }

  const stopped = Promise.withResolvers<void>();
  const onSignal = () => {
    log.server.info("signal received; shutting down gracefully");
    server.stop().then(() => stopped.resolve());
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await stopped.promise;
  await flushLogging();
  return 0;
}

Deno.exit(await main());
