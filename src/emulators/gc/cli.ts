/**
 * `exas emulate gc [--port P] [--host H] [--budget N] [--users FILE | --users-count N] [--clients FILE]
 * [--max-batch N] [--heartbeat-ms N] [--authority A] [--lenient] [--primary-source-for NAME] [--off-queue-unless-on-queue]`:
 * runs the GC emulator until
 * Ctrl-C and prints its URL (stdout) once listening.
 */
import { readFile } from 'node:fs/promises';
import process from 'node:process';
import { parseArgs } from 'node:util';
import type { Command } from '../../cli/io.ts';
import { DEFAULT_CLIENT, startGcEmulator, type GcEmulatorOptions } from './index.ts';
import { parsePermissionsBody } from './permissions.ts';
import { loadUsersFile } from './users.ts';

const USAGE =
  'usage: exas emulate gc [--port P] [--host H] [--budget N] [--users FILE | --users-count N] [--clients FILE]\n' +
  '                       [--max-batch N] [--heartbeat-ms N] [--authority A] [--lenient] [--primary-source-for NAME]\n' +
  '                       [--off-queue-unless-on-queue]\n' +
  '--lenient: kinder than GC where GC is strict (e.g. the source written last shows, whatever the primary source;\n' +
  '           no permission checks; bodies up to 1 MiB; any sourceId in routing-status inject events)\n' +
  '--off-queue-unless-on-queue: GC\'s native rule on injected state too (routing status Off Queue unless On Queue)\n' +
  'permissions: each client gets what EXAS needs; PUT /emulator/clients/{clientId}/permissions {"permissions":[...]} replaces them\n' +
  '--primary-source-for NAME: start with a presence source NAME that is every user\'s primary source\n' +
  `default credentials: ${DEFAULT_CLIENT.clientId} / ${DEFAULT_CLIENT.clientSecret}; --clients FILE adds pairs: [{"clientId","clientSecret","permissions"?}]\n` +
  '\nexamples:\n  exas emulate gc --port 9001 --budget 300 --users-count 500\n  exas emulate gc --port 0 --users users.json --primary-source-for EXAS\n  exas emulate gc --port 0 --lenient    # as kind as the first build\n';

function count(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new Error(`--${name} must be an integer ≥ 0, got '${value}'`);
  return parsed;
}

async function loadClients(path: string): Promise<Array<{ clientId: string; clientSecret: string; permissions?: readonly string[] }>> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (!Array.isArray(parsed)) throw new Error(`${path}: expected a JSON array of {"clientId","clientSecret","permissions"?}`);
  return parsed.map((entry: unknown, index) => {
    const record = entry as { clientId?: unknown; clientSecret?: unknown; permissions?: unknown } | null;
    if (typeof record?.clientId !== 'string' || typeof record.clientSecret !== 'string') {
      throw new Error(`${path}[${index}]: needs string clientId and clientSecret`);
    }
    if (record.permissions === undefined) return { clientId: record.clientId, clientSecret: record.clientSecret };
    const permissions = parsePermissionsBody({ permissions: record.permissions });
    if (typeof permissions === 'string') throw new Error(`${path}[${index}]: ${permissions}`);
    return { clientId: record.clientId, clientSecret: record.clientSecret, permissions };
  });
}

export const emulateGc: Command = async (args, io) => {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        budget: { type: 'string' },
        users: { type: 'string' },
        'users-count': { type: 'string' },
        clients: { type: 'string' },
        'max-batch': { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        authority: { type: 'string' },
        lenient: { type: 'boolean' },
        'off-queue-unless-on-queue': { type: 'boolean' },
        'primary-source-for': { type: 'string' },
        // Accepted for old scripts: enforcing primary sources is the default now.
        'enforce-primary-source': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    io.out(USAGE);
    return 0;
  }
  let emulator;
  try {
    if (values.users !== undefined && values['users-count'] !== undefined) throw new Error('give --users FILE or --users-count N, not both');
    const options: GcEmulatorOptions = { host: values.host ?? '127.0.0.1', port: count(values.port, 'port') ?? 0 };
    const budget = count(values.budget, 'budget');
    if (budget !== undefined) options.budget = budget;
    if (values.users !== undefined) options.users = await loadUsersFile(values.users);
    options.usersCount = count(values['users-count'], 'users-count') ?? 10;
    if (values.clients !== undefined) options.clients = [DEFAULT_CLIENT, ...(await loadClients(values.clients))];
    const maxBatch = count(values['max-batch'], 'max-batch');
    if (maxBatch !== undefined) options.maxBatchSize = maxBatch;
    const heartbeat = count(values['heartbeat-ms'], 'heartbeat-ms');
    if (heartbeat !== undefined) options.heartbeatMs = heartbeat;
    if (values.authority !== undefined) options.authority = values.authority;
    if (values.lenient === true) options.lenient = true;
    if (values['off-queue-unless-on-queue'] === true) options.offQueueUnlessOnQueue = true;
    if (values['enforce-primary-source'] === true) options.enforcePrimarySource = true;
    if (values['primary-source-for'] !== undefined) options.primarySourceFor = values['primary-source-for'];
    emulator = await startGcEmulator(options);
  } catch (error) {
    io.err(`exas emulate gc: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  io.out(`gc emulator: ${emulator.url} (users: ${emulator.userIds().length}; control: ${emulator.url}/emulator/users)\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await emulator.close();
  return 0;
};
