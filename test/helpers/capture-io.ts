/**
 * A `CliIo` that keeps what a command prints, and `runCli` to run the CLI's `main` with one, for tests that call
 * the CLI in-process.
 */
import { main } from '../../src/cli.ts';
import type { CliIo } from '../../src/cli/io.ts';

export function captureIo(stdin = ''): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    readStdin: async () => stdin,
    colour: false,
    stdout: () => out,
    stderr: () => err,
  };
}

/** Runs `exas ARGS` in-process (with `stdin` as standard input): its exit code and what it printed. */
export async function runCli(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIo(stdin);
  const code = await main(args, io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}
