/**
 * @module
 * `exas emulate <gc|statserver> [options]`: runs one emulator as a standalone server until Ctrl-C.
 */
import type { Command } from './io.ts';
import { emulateStatServer } from '../emulators/statserver/cli.ts';
import { emulateGc } from '../emulators/gc/cli.ts';

const EMULATORS: Record<string, Command> = {
  statserver: emulateStatServer,
  gc: emulateGc,
};

export const emulate: Command = async (args, io) => {
  const [which, ...rest] = args;
  const run = which === undefined ? undefined : EMULATORS[which];
  if (run === undefined) {
    io.err(`usage: exas emulate <${Object.keys(EMULATORS).join('|')}> [options]\n`);
    return 2;
  }
  return run(rest, io);
};
