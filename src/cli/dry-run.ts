/**
 * @module
 * `exas dry-run [--rules FILE] [INPUT]`: applies a JSON list of Engage events (INPUT a path, or `-`/absent for
 * stdin) to the rules and prints what EXAS would set in GC, as JSON on stdout. Invalid input exits 2.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { dryRun, DryRunInputError, loadRulesFile, parseDryRunInput, type DryRunEvent } from '../rules/index.ts';
import { DEFAULT_RULES_FILE, printDiagnostics } from './rules-file.ts';
import type { Command } from './io.ts';

const USAGE = 'usage: exas dry-run [--rules FILE] [INPUT|-]\n';

export const dryRunCommand: Command = async (args, io) => {
  let rulesFile: string;
  let input: string | undefined;
  try {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { rules: { type: 'string' } } });
    if (positionals.length > 1) throw new Error('expected at most one INPUT');
    rulesFile = values.rules ?? DEFAULT_RULES_FILE;
    input = positionals[0];
  } catch (error) {
    io.err(`exas dry-run: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }

  let text: string;
  try {
    text = input === undefined || input === '-' ? await io.readStdin() : await readFile(input, 'utf8');
  } catch (error) {
    io.err(`exas dry-run: cannot read ${input}: ${(error as { code?: string }).code ?? String(error)}\n`);
    return 2;
  }
  let events: DryRunEvent[];
  try {
    events = parseDryRunInput(JSON.parse(text) as unknown);
  } catch (error) {
    if (error instanceof SyntaxError) io.err(`exas dry-run: input is not valid JSON: ${error.message}\n`);
    else if (error instanceof DryRunInputError) io.err(`exas dry-run: invalid input: ${error.message}\n`);
    else throw error;
    return 2;
  }

  const loaded = await loadRulesFile(rulesFile);
  if (loaded.program === null) {
    printDiagnostics(io, loaded.errors);
    return 1;
  }
  const results = dryRun(loaded.program, events);
  io.out(JSON.stringify({ results }, null, 2) + '\n');
  return 0;
};
