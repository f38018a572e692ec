/**
 * @module
 * `exas demo` (`npm start`): starts the Stat Server emulator, the GC emulator and the sidecar in one process
 * with the default rules and a simulated crowd, prints the URLs, and keeps syncing until Ctrl-C / SIGTERM.
 * stdout carries the URLs and one machine-readable `EXAS demo ready: …` line; logs and progress go to stderr.
 */
import process from 'node:process';
import { parseArgs } from 'node:util';
import { DEMO_DEFAULTS, formatProgress, readyLine, startDemo, type DemoOptions, type RunningDemo } from '../demo/index.ts';
import type { CliIo, Command } from './io.ts';
import { DEMO_EXAMPLES } from './help.ts';

const USAGE =
  'usage: exas demo [--port P] [--stat-port P] [--gc-port P] [--agents N] [--events-per-second R] [--budget N]\n' +
  '                 [--rules FILE] [--no-watch] [--seed S] [--log-level debug|info|warn|error] [--progress-seconds S] [--lenient] [--fresh-org]\n' +
  `defaults: --port ${DEMO_DEFAULTS.port} (0: a free port), emulators on free ports, --agents ${DEMO_DEFAULTS.agents},\n` +
  `          --events-per-second ${DEMO_DEFAULTS.eventsPerSecond}, --budget ${DEMO_DEFAULTS.budget} requests/min per GC client, --rules ${DEMO_DEFAULTS.rulesFile}\n` +
  '--lenient: both emulators as kind as the first build (GC: no primary-source or permission checks; Stat Server: per-statistic errors, no request-line limit)\n' +
  "--fresh-org: start from a new GC org (PURECLOUD primary for every user): watch EXAS make its presence source primary first\n";

/** `exas demo --help`: the usage with defaults, then what it does and examples. */
export const DEMO_HELP = USAGE + DEMO_EXAMPLES;

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;

/** Parsed `exas demo` flags. */
export interface DemoArgs {
  readonly options: DemoOptions;
  /** Seconds between progress lines on stderr (0: none). */
  readonly progressSeconds: number;
}

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function number(value: string | undefined, flag: string, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0 || (integer && !Number.isInteger(parsed))) {
    throw new UsageError(`--${flag} must be ${integer ? 'an integer' : 'a number'} ≥ 0, got '${value}'`);
  }
  return parsed;
}

/** Parses the flags; throws a UsageError on a bad one. Returns null for --help. */
export function parseDemoArgs(args: string[]): DemoArgs | null {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        port: { type: 'string', short: 'p' },
        'stat-port': { type: 'string' },
        'gc-port': { type: 'string' },
        agents: { type: 'string' },
        'events-per-second': { type: 'string' },
        budget: { type: 'string' },
        rules: { type: 'string' },
        'no-watch': { type: 'boolean' },
        seed: { type: 'string' },
        'log-level': { type: 'string' },
        'progress-seconds': { type: 'string' },
        lenient: { type: 'boolean' },
        'fresh-org': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help === true) return null;
  const logLevel = values['log-level'];
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${logLevel}'`);
  }
  const options: DemoOptions = {
    port: number(values.port, 'port', true),
    statPort: number(values['stat-port'], 'stat-port', true),
    gcPort: number(values['gc-port'], 'gc-port', true),
    agents: number(values.agents, 'agents', true),
    eventsPerSecond: number(values['events-per-second'], 'events-per-second', false),
    budget: number(values.budget, 'budget', true),
    rulesFile: values.rules,
    watchRules: values['no-watch'] === true ? false : undefined,
    seed: number(values.seed, 'seed', true),
    logLevel: logLevel as DemoOptions['logLevel'],
    lenient: values.lenient === true ? true : undefined,
    freshOrg: values['fresh-org'] === true ? true : undefined,
  };
  return { options, progressSeconds: number(values['progress-seconds'], 'progress-seconds', false) ?? 10 };
}

/** Resolves on the first SIGINT or SIGTERM. */
function stopSignal(): Promise<string> {
  return new Promise((resolve) => {
    const onInt = (): void => done('SIGINT');
    const onTerm = (): void => done('SIGTERM');
    const done = (signal: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(signal);
    };
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

/** What the demo prints on stdout once it listens. */
export function demoBanner(demo: RunningDemo): string {
  const { urls, options } = demo;
  return [
    `EXAS demo: ${options.agents} simulated agents, ${options.eventsPerSecond} events/s, GC budget ${options.budget} requests/min per client, rules ${options.rulesFile}`,
    `  sidecar      ${urls.sidecar}/   (status page; /metrics, /readyz, /agents/{agentId}, POST /dry-run)`,
    `  Stat Server  ${urls.statServer}/statistics/v3   (control: ${urls.statServer}/emulator/agents, /emulator/simulation, /emulator/faults)`,
    `  GC           ${urls.gc}/api/v2   (control: ${urls.gc}/emulator/users, /emulator/faults, /emulator/stats)`,
    'Press Ctrl-C to stop.',
    readyLine(urls),
    '',
  ].join('\n');
}

/**
 * The command with an injectable stop (tests): runs until `stop` settles, then stops the demo and returns 0.
 * `onReady` sees the running demo once the ready line is printed.
 */
export async function runDemo(args: string[], io: CliIo, stop: Promise<unknown>, onReady?: (demo: RunningDemo) => void): Promise<number> {
  let parsed: DemoArgs | null;
  try {
    parsed = parseDemoArgs(args);
  } catch (error) {
    io.err(`exas demo: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (parsed === null) {
    io.out(DEMO_HELP);
    return 0;
  }
  let demo: RunningDemo;
  try {
    demo = await startDemo(parsed.options);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const hint = code === 'EADDRINUSE' ? ' (port in use: pass --port 0 for a free one)' : '';
    io.err(`exas demo: ${error instanceof Error ? error.message : String(error)}${hint}\n`);
    return 1;
  }
  io.out(demoBanner(demo));
  onReady?.(demo);
  const timer = parsed.progressSeconds > 0 ? setInterval(() => io.err(formatProgress(demo.progress()) + '\n'), parsed.progressSeconds * 1000) : undefined;
  try {
    await stop;
  } finally {
    if (timer !== undefined) clearInterval(timer);
    io.err('exas demo: stopping\n');
    await demo.stop();
  }
  return 0;
}

export const demo: Command = (args, io) => runDemo(args, io, stopSignal());
