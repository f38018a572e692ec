/**
 * @module
 * The `exas` command line: argument dispatch and wiring only. Runs unmodified under Node (built by esbuild)
 * and Deno (`deno run -A src/cli.ts …`).
 */
import process from 'node:process';
import { COMMANDS, type CommandEntry } from './cli/commands.ts';
import { MAIN_HELP_EXAMPLES } from './cli/help.ts';
import { processIo, type CliIo } from './cli/io.ts';
import { versionLine } from './version.ts';
import { handleOperatorJob, OPERATOR_WORKER } from './http/jobs.ts';
import { isPoolWorker, serveJobs } from './platform/worker-pool.ts';

const USAGE_HEAD = 'usage: exas <command> [options]\n\nAgent state sync: Genesys Engage (Stat Server) agent state into Genesys Cloud presence and routing status.\n\ncommands:\n';

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, entry]) => `  ${name.padEnd(10)} ${entry.summary}`);
  return USAGE_HEAD + lines.join('\n') + '\n  --version  print the version\n' + MAIN_HELP_EXAMPLES;
}

/** `--help` / `-h` among a command's own arguments (before a `--`); a sub-command answers for itself. */
function wantsHelp(entry: CommandEntry, args: readonly string[]): boolean {
  if (entry.subcommands?.includes(args[0] ?? '') === true) return false;
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

/** Runs the CLI with `argv` (without the program name) and returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [name, ...rest] = argv;
  if (name === 'help' && rest[0] !== undefined && COMMANDS[rest[0]] !== undefined) {
    io.out(COMMANDS[rest[0]]!.help);
    return 0;
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    io.out(versionLine());
    return 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    io.err(`exas: unknown command '${name}'\n` + usage());
    return 2;
  }
  if (wantsHelp(entry, rest)) {
    io.out(entry.help);
    return 0;
  }
  try {
    return await entry.run(rest, io);
  } catch (error) {
    // A command should report its own errors; this is the last line of defence, and never a stack trace.
    io.err(`exas ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

// A built file (bundle, dist/cli.mjs) is also its own operator worker (src/http/jobs.ts): started with the worker
// marker it serves jobs and never runs the CLI. Else run when executed directly (Deno: `deno run src/cli.ts`);
// the Node bin imports `main` instead.
if (isPoolWorker(OPERATOR_WORKER)) {
  serveJobs(handleOperatorJob);
} else if ((import.meta as ImportMeta & { main?: boolean }).main === true) {
  process.exitCode = await main(process.argv.slice(2));
}
