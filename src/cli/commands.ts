/**
 * @module
 * The command table of the `exas` CLI. Each command lives in its own file under `src/cli/`; this table is the
 * only place that names them all.
 */
import type { Command } from './io.ts';
import { emulate } from './emulate.ts';

export interface CommandEntry {
  readonly run: Command;
  /** One line for `exas help`. */
  readonly summary: string;
}

export const COMMANDS: Record<string, CommandEntry> = {
  emulate: { run: emulate, summary: 'run a Stat Server or Genesys Cloud emulator: emulate <gc|statserver>' },
};
