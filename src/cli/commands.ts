/**
 * @module
 * The command table of the `exas` CLI. Each command lives in its own file under `src/cli/`; this table is the
 * only place that names them all.
 */
import type { Command } from './io.ts';

export interface CommandEntry {
  readonly run: Command;
  /** One line for `exas help`. */
  readonly summary: string;
}

export const COMMANDS: Record<string, CommandEntry> = {};
