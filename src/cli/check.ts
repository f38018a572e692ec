/**
 * @module
 * `exas check [--format text|json] [FILE]`: validates and lints a rules file (default ./exas.rules.yaml),
 * `tests:` section included. Text: a one-line summary on stdout when valid; each finding on stderr as
 * `FILE:LINE:COLUMN: message` with the source line and a caret. JSON: one document on stdout. Exit 1 on any error.
 */
import { byPosition, loadRulesFile } from '../rules/index.ts';
import type { Command } from './io.ts';
import { jsonDiagnostic, printDiagnostics, rulesFileArgs } from './rules-file.ts';

export const CHECK_HELP = `usage: exas check [--format text|json] [FILE]

Validates and lints a rules file (default ./exas.rules.yaml): YAML syntax, the schema, names (with
did-you-mean), rules that can never match, inputs no rule covers, and the tests: section's expectations.
Every finding is reported in one pass; the exit code is 1 when there is an error, 0 otherwise.

options:
  -f, --format text|json   text (default): FILE:LINE:COLUMN: message on stderr, with the source line and a
                           caret; json: {"file","ok","rules","tests","diagnostics":[{file,line,column,
                           severity,code,message}]} on stdout
  -h, --help               this help

examples:
  exas check                              # ./exas.rules.yaml
  exas check rules/aliases.yaml
  exas check --format json my.rules.yaml | jq '.diagnostics[] | select(.severity == "error")'
`;

export const check: Command = async (args, io) => {
  const parsed = rulesFileArgs('check', args, io, CHECK_HELP.split('\n\n')[0] + '\n');
  if (parsed === null) return 2;
  const { file, format } = parsed;
  const result = await loadRulesFile(file);
  const diagnostics = [...result.errors, ...result.warnings].sort(byPosition);
  const program = result.program;
  if (format === 'json') {
    const document = {
      file,
      ok: program !== null,
      rules: program?.rules.length ?? null,
      tests: program?.tests.length ?? null,
      diagnostics: diagnostics.map(jsonDiagnostic),
    };
    io.out(JSON.stringify(document, null, 2) + '\n');
    return program === null ? 1 : 0;
  }
  printDiagnostics(io, diagnostics);
  if (program === null) return 1;
  const warnings = result.warnings.length;
  io.out(`${file}: OK, ${program.rules.length} rules, ${program.tests.length} tests, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}\n`);
  return 0;
};
