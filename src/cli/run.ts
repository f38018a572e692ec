/**
 * @module
 * `exas run --config FILE`: loads and validates the config (FILE:LINE:COLUMN errors, exit 2), starts the
 * sidecar and its operator HTTP server, and runs until SIGTERM / SIGINT, which stop intake, flush what the
 * budget allows within the grace period, save the store and exit 0. SIGHUP reloads the rules.
 * `--check` runs every check `run` makes before it connects (config, operator server, sidecar parts, rules file
 * and its tests; see preflight.ts) and exits.
 */
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { parseArgs } from 'node:util';
import { formatYamlDiagnostic, loadConfigFile, type ExasConfig } from '../config/index.ts';
import { createLogger, setLogLevel, type Logger } from '../log.ts';
import { createSidecar, type Sidecar } from '../sidecar/index.ts';
import { preflight } from './preflight.ts';
import { startupLogFields } from '../version.ts';
import { paint, type CliIo, type Command } from './io.ts';
import { RUN_HELP } from './help.ts';
import { snippet, SourceLines } from './snippet.ts';

const USAGE = 'usage: exas run --config FILE [--check]\n';

/** Signals `run` listens to; injectable so tests can stop it without a real signal. */
export interface RunSignals {
  on(signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP', listener: () => void): void;
  off(signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP', listener: () => void): void;
}

/** Runs the sidecar from a loaded config until a stop signal; returns the exit code. */
export async function runSidecar(
  config: ExasConfig,
  signals: RunSignals = process,
  started?: (sidecar: Sidecar) => void,
  forceExit: (code: number) => void = (code) => process.exit(code),
): Promise<number> {
  const log = createLogger('run');
  let sidecar: Sidecar;
  try {
    sidecar = createSidecar(config);
  } catch (error) {
    // E.g. `ha.lease.backend: kubernetes` outside a pod without a kubeconfig: a setting to fix, not a crash.
    log.error('EXAS cannot start with this config', { error: error instanceof Error ? error.message : String(error) });
    return 2;
  }
  let stopRequested: (signal: string) => void = () => {};
  let stopping = false;
  const stopped = new Promise<string>((resolve) => (stopRequested = resolve));
  const onStopSignal = (signal: string): void => {
    // A second Ctrl-C / SIGTERM while flushing means "now": skip the rest of the grace period.
    if (stopping) {
      log.warn('second stop signal: exiting without waiting for the flush', { signal });
      forceExit(1);
      return;
    }
    stopping = true;
    stopRequested(signal);
  };
  const onTerm = (): void => onStopSignal('SIGTERM');
  const onInt = (): void => onStopSignal('SIGINT');
  const onHup = (): void => {
    log.info('SIGHUP: reloading rules and re-reading credentials', { rules: config.rules.file, config: config.file });
    void sidecar.rules.reload();
    void reloadCredentials(config, sidecar, log);
  };
  signals.on('SIGTERM', onTerm);
  signals.on('SIGINT', onInt);
  signals.on('SIGHUP', onHup);
  try {
    const rulesText = await readFile(config.rules.file, 'utf8').catch(() => null);
    log.info('EXAS starting', { ...startupLogFields(config, rulesText) });
    await sidecar.start();
    log.info('EXAS running', {
      config: config.file,
      http: sidecar.http?.url ?? null,
      statServer: config.statServer.endpoints.map((endpoint) => endpoint.baseUrl),
      gc: config.gc.baseUrl ?? config.gc.region,
      mode: config.writer.mode,
    });
    started?.(sidecar);
    const signal = await stopped;
    log.info('stop requested', { signal, graceSeconds: config.lifecycle.shutdownGraceSeconds });
    const result = await sidecar.stop();
    if (result.remaining > 0) log.warn('stopped with writes still owed; they are resent after the next start', { remaining: result.remaining });
    return 0;
  } catch (error) {
    log.error('EXAS failed', { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    await sidecar.stop(0).catch(() => undefined);
    return 1;
  } finally {
    signals.off('SIGTERM', onTerm);
    signals.off('SIGINT', onInt);
    signals.off('SIGHUP', onHup);
  }
}

/**
 * SIGHUP: re-reads the config file for rotated secrets (environment variables are read again too, so a
 * `*_FILE` secret rewritten in place is picked up). A config with errors changes nothing; other settings need
 * a restart.
 */
async function reloadCredentials(config: ExasConfig, sidecar: Sidecar, log: Logger): Promise<void> {
  if (config.file === null) return;
  const { config: next, errors } = loadConfigFile(config.file);
  if (next === null) {
    log.error('SIGHUP: config has errors; keeping the current credentials', { errors: errors.map(formatYamlDiagnostic) });
    return;
  }
  sidecar.updateCredentials(next);
}

/** Loads the config and prints its diagnostics; null when it has errors. */
export function loadConfigOrReport(path: string, io: CliIo): ExasConfig | null {
  const { config, errors, warnings } = loadConfigFile(path);
  const sources = new SourceLines();
  // Warnings and errors together, top to bottom: the headline, the source line with a caret, then the hint.
  for (const diagnostic of [...warnings, ...errors].sort((a, b) => a.line - b.line || a.column - b.column)) {
    const headline = paint(io, diagnostic.severity === 'error' ? 'red' : 'yellow', formatYamlDiagnostic({ ...diagnostic, hint: undefined }));
    const source = snippet(sources, diagnostic.file, diagnostic.line, diagnostic.column);
    const hint = diagnostic.hint === undefined ? '' : `  hint: ${diagnostic.hint}\n`;
    io.err(headline + '\n' + (source === '' ? '' : paint(io, 'dim', source) + '\n') + hint);
  }
  return config;
}

export const run: Command = async (args, io) => {
  let values: { config?: string | undefined; check?: boolean | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args,
      options: { config: { type: 'string', short: 'c' }, check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    io.err(`exas run: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.out(RUN_HELP);
    return 0;
  }
  if (values.config === undefined) {
    io.err(`exas run: --config FILE is required\n${USAGE}`);
    return 2;
  }
  const config = loadConfigOrReport(values.config, io);
  if (config === null) return 2;
  // The same checks with and without --check: --check cannot approve what run then rejects.
  const checks = await preflight(config);
  const failed = checks.filter((check) => check.problem !== null);
  for (const check of failed) io.err(paint(io, 'red', `${values.config}: ${check.name}: ${check.problem}`) + '\n');
  if (failed.length > 0) return 2;
  if (values.check === true) {
    io.out(`${values.config}: ok (${checks.length} checks: ${checks.map((check) => check.name.split(':')[0]).join(', ')})\n`);
    return 0;
  }
  setLogLevel(config.log.level);
  return runSidecar(config);
};
