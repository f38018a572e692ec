/**
 * @module
 * `exas doctor --config FILE [--fix] [--format text|json] [--sample N]`: the go-live preflight (src/doctor/).
 * The checklist (or JSON) goes to stdout, progress lines to stderr. Exit 0 when nothing blocks going live, 1
 * when something does, 2 on bad usage or a config with errors. Ctrl-C stops it; `--fix` keeps its progress.
 */
import process from 'node:process';
import { parseArgs } from 'node:util';
import { exitCodeOf, formatChecklist, formatJson, runDoctor } from '../doctor/index.ts';
import { setLogLevel } from '../log.ts';
import { paint, type Command } from './io.ts';
import { loadConfigOrReport } from './run.ts';

export const DOCTOR_USAGE = `usage: exas doctor --config FILE [--fix] [--format text|json] [--sample N] [--progress-file FILE] [--timeout SECONDS]

Checks that EXAS can go live with this config, against the real GC org and Stat Server:
  GC: each client's token and every permission EXAS uses (probed; a 403 names what is missing), the presences
  the rules set, EXAS's presence source, how many scope agents resolve to GC users, how many synced users have
  EXAS's source as primary, a notification channel. Stat Server: each endpoint connects, the scope's statistics
  open (refused agents named), their states. Impact: how many GC users would change when EXAS starts.

Read-only, except with --fix: creates EXAS's presence source if missing and makes it the primary presence
source of every synced user (one request per user, paced in the GC budget, resumable: the users done are kept
in --progress-file, default <store.path>.primary-source.json). Roll back: docs/go-live.md.

options:
  -c, --config FILE        the sidecar's config file (required)
      --fix                make the changes the sidecar needs in GC (presence source, primary source)
      --format text|json   checklist (default) or JSON on stdout
      --sample N           check only the first N agents of the scope (Stat Server, primary source, impact)
      --progress-file FILE where --fix keeps the users it has done
      --timeout SECONDS    how long each Stat Server endpoint may take to connect (default 10)
  -h, --help               this text

exit: 0 nothing blocks going live, 1 something does (each ✗ says what), 2 bad usage or config.

examples:
  exas doctor --config exas.yaml
  exas doctor --config exas.yaml --sample 200 --format json > doctor.json
  exas doctor --config exas.yaml --fix        # before going live: source created, made primary
`;

export const doctor: Command = async (args, io) => {
  let values: {
    config?: string | undefined;
    fix?: boolean | undefined;
    format?: string | undefined;
    sample?: string | undefined;
    'progress-file'?: string | undefined;
    timeout?: string | undefined;
    help?: boolean | undefined;
  };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        fix: { type: 'boolean' },
        format: { type: 'string' },
        sample: { type: 'string' },
        'progress-file': { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    io.err(`exas doctor: ${error instanceof Error ? error.message : String(error)}\n${DOCTOR_USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.out(DOCTOR_USAGE);
    return 0;
  }
  const usageError = (message: string): number => {
    io.err(`exas doctor: ${message}\n${DOCTOR_USAGE}`);
    return 2;
  };
  if (values.config === undefined) return usageError('--config FILE is required');
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json') return usageError(`--format must be text or json (got '${format}')`);
  const sample = values.sample === undefined ? undefined : Number(values.sample);
  if (sample !== undefined && !(Number.isInteger(sample) && sample >= 1)) return usageError(`--sample must be a whole number ≥ 1 (got '${values.sample}')`);
  const timeout = values.timeout === undefined ? 10 : Number(values.timeout);
  if (!(Number.isFinite(timeout) && timeout > 0)) return usageError(`--timeout must be a number of seconds > 0 (got '${values.timeout}')`);

  const config = loadConfigOrReport(values.config, io);
  if (config === null) return 2;
  // The checklist is the output: the sidecar's parts log only errors while the doctor runs.
  setLogLevel('error');
  const abort = new AbortController();
  const onInterrupt = (): void => {
    io.err('\nexas doctor: interrupted; finishing the current request\n');
    abort.abort(new Error('interrupted'));
  };
  process.once('SIGINT', onInterrupt);
  process.once('SIGTERM', onInterrupt);
  let lastProgressAt = 0;
  // The GC budgets' timers do not hold the process open (the sidecar's server does): while a paced request
  // waits for its slot, nothing else might, and Node would exit mid-run (code 13).
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    const report = await runDoctor(config, {
      fix: values.fix === true,
      ...(sample === undefined ? {} : { sample }),
      ...(values['progress-file'] === undefined ? {} : { progressFile: values['progress-file'] }),
      statServerTimeoutMs: timeout * 1000,
      signal: abort.signal,
      progress: (line) => {
        // One line every 10 s at most: a long --fix run in a CI log stays readable.
        if (Date.now() - lastProgressAt < 10_000 && !line.endsWith('done')) return;
        lastProgressAt = Date.now();
        io.err(`${line}\n`);
      },
    });
    io.out(format === 'json' ? formatJson(report) : formatChecklist(report, (colour, text) => paint(io, colour, text)));
    return exitCodeOf(report);
  } finally {
    clearInterval(keepAlive);
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
  }
};
