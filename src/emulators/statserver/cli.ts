/**
 * `exas emulate statserver --port P [--agents N] [--events-per-second R] [--backup-port B] [--seed S] [--lenient]`:
 * runs the Stat Server emulator until Ctrl-C. Prints the URLs (stdout) once listening. Strict like the real
 * Statistics API unless `--lenient` (per-statistic errors with partial opens, no request-line limit).
 */
import process from 'node:process';
import { parseArgs } from 'node:util';
import type { CliIo, Command } from '../../cli/io.ts';
import { startStatServerEmulator } from './index.ts';

const USAGE =
  'usage: exas emulate statserver [--port P] [--host H] [--agents N] [--events-per-second R] [--backup-port B] [--seed S] [--api-key K] [--token T] [--lenient]\n' +
  '\nexamples:\n  exas emulate statserver --port 9002 --agents 500 --events-per-second 5\n  exas emulate statserver --port 0 --backup-port 0 --api-key k1\n';

function integer(value: string | undefined, name: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`--${name} must be a number >= 0, got '${value}'`);
  return parsed;
}

export const emulateStatServer: Command = (args, io) =>
  runStatServerEmulator(
    args,
    io,
    new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    }),
  );

/** The command with an injectable stop (tests); serves until `stop` settles, then closes and returns 0. */
export async function runStatServerEmulator(args: string[], io: CliIo, stop: Promise<void>): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        agents: { type: 'string' },
        'events-per-second': { type: 'string' },
        'backup-port': { type: 'string' },
        seed: { type: 'string' },
        'api-key': { type: 'string' },
        token: { type: 'string' },
        lenient: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const values = parsed.values;
  if (values.help === true) {
    io.out(USAGE);
    return 0;
  }
  let emulator;
  try {
    const backupPort = integer(values['backup-port'], 'backup-port', undefined);
    emulator = await startStatServerEmulator({
      host: values.host ?? '127.0.0.1',
      port: integer(values.port, 'port', 0) ?? 0,
      agents: integer(values.agents, 'agents', 100) ?? 100,
      eventsPerSecond: integer(values['events-per-second'], 'events-per-second', 5) ?? 5,
      seed: integer(values.seed, 'seed', 1) ?? 1,
      ...(backupPort !== undefined ? { backupPort } : {}),
      ...(values['api-key'] !== undefined ? { apiKey: values['api-key'] } : {}),
      ...(values.token !== undefined ? { bearerToken: values.token } : {}),
      lenient: values.lenient === true,
    });
  } catch (error) {
    io.err(`exas emulate statserver: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  io.out(`statserver emulator: ${emulator.url}/statistics/v3 (control: ${emulator.url}/emulator/agents)${values.lenient === true ? ' [lenient]' : ''}\n`);
  if (emulator.backupUrl !== null) io.out(`statserver emulator backup: ${emulator.backupUrl}/statistics/v3\n`);
  await stop;
  await emulator.close();
  return 0;
}
