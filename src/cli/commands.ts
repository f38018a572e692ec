/**
 * @module
 * The command table of the `exas` CLI. Each command lives in its own file under `src/cli/`; this table is the
 * only place that names them all, with the one-line summary of `exas --help` and each command's `--help`.
 */
import type { Command } from './io.ts';
import { emulate } from './emulate.ts';
import { run } from './run.ts';
import { check, CHECK_HELP } from './check.ts';
import { test, TEST_HELP } from './test.ts';
import { dryRunCommand } from './dry-run.ts';
import { explain } from './explain.ts';
import { demo, DEMO_HELP } from './demo.ts';
import { doctor, DOCTOR_USAGE } from './doctor.ts';
import { DRY_RUN_HELP, EMULATE_HELP, EXPLAIN_HELP, RUN_HELP } from './help.ts';

export interface CommandEntry {
  readonly run: Command;
  /** One line for `exas --help`. */
  readonly summary: string;
  /** What `exas <command> --help` prints: usage, options, examples. */
  readonly help: string;
  /** Sub-commands that answer `--help` themselves (`exas emulate gc --help`). */
  readonly subcommands?: readonly string[];
}

export const COMMANDS: Record<string, CommandEntry> = {
  check: { run: check, help: CHECK_HELP, summary: 'validate and lint a rules file: check [--format text|json] [FILE]' },
  test: { run: test, help: TEST_HELP, summary: "run a rules file's tests: section: test [--run PATTERN] [--format text|json] [FILE]" },
  'dry-run': { run: dryRunCommand, help: DRY_RUN_HELP, summary: 'apply JSON Engage events to the rules: dry-run [--rules FILE] [INPUT|-]' },
  explain: { run: explain, help: EXPLAIN_HELP, summary: 'explain the decision for one input: explain --state S [--call-type C] [--reason R]' },
  run: { run, help: RUN_HELP, summary: 'run the sync sidecar: run --config FILE [--check]' },
  doctor: { run: doctor, help: DOCTOR_USAGE, summary: 'go-live preflight against the real GC org and Stat Server: doctor --config FILE [--fix] [--format json]' },
  demo: { run: demo, help: DEMO_HELP, summary: 'emulators + sidecar in one process, until Ctrl-C: demo [--port P] [--agents N] [--events-per-second R] [--budget N]' },
  emulate: { run: emulate, help: EMULATE_HELP, summary: 'run a Stat Server or Genesys Cloud emulator: emulate <gc|statserver>', subcommands: ['gc', 'statserver'] },
};
