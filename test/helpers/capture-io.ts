/**
 * A `CliIo` that keeps what a command prints, for tests that call the CLI's commands in-process.
 */
import type { CliIo } from '../../src/cli/io.ts';

export function captureIo(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    readStdin: async () => '',
    colour: false,
    stdout: () => out,
    stderr: () => err,
  };
}
