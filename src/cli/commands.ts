/**
 * @module
 * The command table of the `exas` CLI. Each command lives in its own file under `src/cli/`; this table is the
 * only place that names them all.
 */
import type { Command } from './io.ts';
import { emulate } from './emulate.ts';
import { run } from './run.ts';
import { check } from './check.ts';
import { test } from './test.ts';
import { dryRunCommand } from './dry-run.ts';
import { explain } from './explain.ts';
import { demo } from './demo.ts';
import { doctor } from './doctor.ts';

export interface CommandEntry {
  readonly run: Command;
  /** One line for `exas help`. */
  readonly summary: string;
}

export const COMMANDS: Record<string, CommandEntry> = {
  check: { run: check, summary: 'validate and lint a rules file: check [FILE]' },
  test: { run: test, summary: "run a rules file's tests: section: test [FILE]" },
  'dry-run': { run: dryRunCommand, summary: 'apply JSON Engage events to the rules: dry-run [--rules FILE] [INPUT|-]' },
  explain: { run: explain, summary: 'explain the decision for one input: explain --state S [--call-type C] [--reason R]' },
  run: { run, summary: 'run the sync sidecar: run --config FILE [--check]' },
  doctor: { run: doctor, summary: 'go-live preflight against the real GC org and Stat Server: doctor --config FILE [--fix] [--format json]' },
  demo: { run: demo, summary: 'emulators + sidecar in one process, until Ctrl-C: demo [--port P] [--agents N] [--events-per-second R] [--budget N]' },
  emulate: { run: emulate, summary: 'run a Stat Server or Genesys Cloud emulator: emulate <gc|statserver>' },
};
