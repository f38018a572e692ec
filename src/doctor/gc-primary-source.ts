/**
 * EXAS's presence source as the users' primary source (inject mode): injected presence shows in GC only where
 * it is. Read-only, the doctor counts the synced users that have it: what the users show names its source for
 * most (100 users a request); the others are asked one by one (`GET …/primarysource`), paced in the clients'
 * budgets and spread over the clients. With `--fix` it makes it primary for every synced user: one idempotent
 * PUT each (no GET first), paced the same way, with a progress line and an ETA; the users done are kept in a
 * progress file, so an interrupted run continues where it stopped and a second run costs nothing. Users the
 * sidecar has confirmed (saved in its store) are taken as primary without a request, as the sidecar takes them.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import process from 'node:process';
import { GcError, isRetryable, RateLimitedError, type GcClient } from '../gc/index.ts';
import type { Logger } from '../log.ts';
import { createFileStore } from '../sync/store.ts';
import type { Check } from './checklist.ts';
import { plural, type DoctorContext } from './context.ts';
import { formatDuration, progressMeter, type ProgressMeter } from './progress.ts';

const EXAMPLES = 5;
/** Users between two saves of the progress file. */
const SAVE_EVERY = 50;

interface ProgressFile {
  /** The source these users were made primary for (a new source starts over). */
  sourceId: string;
  confirmed: string[];
}

/** Where `--fix` keeps its progress: the option, else beside the store. */
export function progressFilePath(context: DoctorContext): string {
  return context.options.progressFile ?? `${context.config.store.path}.primary-source.json`;
}

async function readProgress(path: string, sourceId: string): Promise<Set<string>> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<ProgressFile>;
    if (parsed.sourceId === sourceId && Array.isArray(parsed.confirmed)) return new Set(parsed.confirmed.filter((id): id is string => typeof id === 'string'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) throw error;
  }
  return new Set();
}

async function writeProgress(path: string, sourceId: string, confirmed: ReadonlySet<string>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  const file: ProgressFile = { sourceId, confirmed: [...confirmed] };
  await writeFile(temporary, JSON.stringify(file), 'utf8');
  await rename(temporary, path);
}

/** The users the sidecar's store says it confirmed for `sourceId` (read only: a bad store is left as it is). */
async function confirmedBySidecar(context: DoctorContext, sourceId: string): Promise<Set<string>> {
  const loaded = await createFileStore(context.config.store.path, { keepCorrupt: false, logger: quietLogger }).load();
  return loaded.primarySource?.sourceId === sourceId ? new Set(loaded.primarySource.users) : new Set();
}

const quietLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quietLogger };

interface RunResult {
  readonly failed: Array<{ userId: string; message: string }>;
  /** Users not reached (the run stopped on a transient error or was interrupted). */
  readonly notReached: number;
}

/** Attempts per user on a transient error (429, 5xx, network) before that client's share stops. */
const ATTEMPTS = 4;

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `work` for each user, users spread round-robin over the clients, one at a time per client (each client
 * paces itself in its own budget). A transient error is tried again (a 429 has paused the client's budget for
 * its Retry-After; 5xx and network errors back off 1, 2, 4 s); still failing, it stops that client's share
 * (the rest count as not reached). A 401 / 403 stops it at once: the next user would get the same answer.
 */
async function perUser(
  clients: readonly GcClient[],
  userIds: readonly string[],
  meter: ProgressMeter,
  signal: AbortSignal | undefined,
  work: (client: GcClient, userId: string) => Promise<void>,
): Promise<RunResult> {
  const failed: Array<{ userId: string; message: string }> = [];
  let notReached = 0;
  await Promise.all(
    clients.map(async (client, clientIndex) => {
      const share = userIds.filter((_, index) => index % clients.length === clientIndex);
      for (let index = 0; index < share.length; index += 1) {
        const userId = share[index] as string;
        if (signal?.aborted) {
          notReached += share.length - index;
          return;
        }
        for (let attempt = 1; ; attempt += 1) {
          try {
            await work(client, userId);
            break;
          } catch (error) {
            if (signal?.aborted) {
              notReached += share.length - index;
              return;
            }
            if (!(error instanceof GcError)) throw error;
            if (isRetryable(error) && attempt < ATTEMPTS) {
              if (!(error instanceof RateLimitedError)) await wait(1000 * 2 ** (attempt - 1), signal);
              continue;
            }
            failed.push({ userId, message: error.message });
            if (isRetryable(error) || error.status === 403 || error.status === 401) {
              notReached += share.length - index - 1;
              return;
            }
            break;
          }
        }
        meter.tick();
      }
    }),
  );
  return { failed, notReached };
}

function budgetPerMinute(clients: readonly GcClient[]): number {
  return clients.reduce((sum, client) => sum + client.budget.limit, 0);
}

/**
 * What the users' shown presence says about their primary source (`GET /api/v2/users?id=…&expand=presence`,
 * 100 users a request, spread over the clients): shown from EXAS's source → primary; shown from another source
 * that GC marks primary → not primary. Users GC says neither of are left out (asked one by one).
 */
async function shownSourceEvidence(
  clients: readonly GcClient[],
  userIds: readonly string[],
  sourceId: string,
  signal: AbortSignal | undefined,
): Promise<Map<string, 'primary' | 'not-primary'>> {
  const out = new Map<string, 'primary' | 'not-primary'>();
  const chunks: string[][] = [];
  for (let index = 0; index < userIds.length; index += 100) chunks.push(userIds.slice(index, index + 100));
  await Promise.all(
    clients.map(async (client, clientIndex) => {
      for (let index = clientIndex; index < chunks.length; index += clients.length) {
        const users = await client.getUsersByIds(chunks[index] as string[], { expand: ['presence'], chunkSize: 100, ...(signal ? { signal } : {}) });
        for (const user of users) {
          const shown = user.presence?.sourceId;
          if (shown === sourceId) out.set(user.id, 'primary');
          else if (shown !== undefined && user.presence?.primary === true) out.set(user.id, 'not-primary');
        }
      }
    }),
  );
  return out;
}

/** The primary-source check (read-only) or migration (`--fix`). */
export async function checkPrimarySource(context: DoctorContext): Promise<Check[]> {
  const { config } = context;
  if (config.writer.mode !== 'inject' || context.clients.length === 0) return [];
  if (context.users === null) {
    return [{ id: 'gc.primary-source', group: 'gc', status: 'skip', summary: 'primary source: not checked (the synced users are not known: see identity above)' }];
  }
  const userIds = [...new Set(context.users.values())];
  const agentOf = new Map([...context.users.entries()].map(([agentId, userId]) => [userId, agentId]));
  /** Examples name the Engage agent (what operators know) and its GC user. */
  const example = (userId: string): string => `agent ${agentOf.get(userId) ?? '?'} (user ${userId})`;
  const name = config.gc.presenceSourceName;
  if (context.options.fix) return fixPrimarySource(context, userIds);
  const perMinute = budgetPerMinute(context.clients);
  const sidecarCost = (count: number): string => `${plural(count, 'request')}, about ${formatDuration((count / perMinute) * 60)} of the GC budget`;

  let notPrimary: string[];
  let failed: RunResult['failed'] = [];
  let notReached = 0;
  let askedOneByOne = 0;
  let knownFromStore = 0;
  if (context.sourceId === null) {
    // No source yet: nobody has it as primary, and no request can say more.
    notPrimary = userIds;
  } else {
    const sourceId = context.sourceId;
    const confirmed = await confirmedBySidecar(context, sourceId);
    knownFromStore = userIds.filter((userId) => confirmed.has(userId)).length;
    // Evidence first, as the sidecar gathers it: what each user shows names its source, 100 users a request.
    let evidence: Map<string, 'primary' | 'not-primary'>;
    try {
      evidence = await shownSourceEvidence(context.clients, userIds.filter((userId) => !confirmed.has(userId)), sourceId, context.options.signal);
    } catch (error) {
      if (!(error instanceof GcError)) throw error;
      evidence = new Map();
    }
    for (const userId of confirmed) evidence.set(userId, 'primary');
    notPrimary = userIds.filter((userId) => evidence.get(userId) === 'not-primary');
    const unknown = userIds.filter((userId) => !evidence.has(userId));
    askedOneByOne = unknown.length;
    const meter = progressMeter('primary source (reading)', unknown.length, perMinute, context.options.progress, { now: context.now });
    const result = await perUser(context.clients, unknown, meter, context.options.signal, async (client, userId) => {
      const primary = await client.getPrimarySource(userId, context.options.signal);
      if (primary?.sourceId !== sourceId) notPrimary.push(userId);
    });
    if (unknown.length > 0) meter.finish();
    ({ failed, notReached } = result);
  }
  const checked = userIds.length - failed.length - notReached;
  const primary = checked - notPrimary.length;
  const data = {
    users: userIds.length,
    primary,
    notPrimary: notPrimary.length,
    failed: failed.length,
    notReached,
    mode: config.gc.primarySource,
    knownFromStore,
    askedOneByOne,
    examples: notPrimary.slice(0, EXAMPLES).map((userId) => agentOf.get(userId) ?? userId),
  };
  if (failed.length > 0 || notReached > 0) {
    return [
      {
        id: 'gc.primary-source',
        group: 'gc',
        status: 'fail',
        summary: `primary source: ${plural(failed.length + notReached, 'user')} could not be checked (${primary} of ${checked} checked have '${name}' primary)`,
        details: failed.slice(0, EXAMPLES).map((failure) => `${example(failure.userId)}: ${failure.message}`),
        remedy: 'fix the GC access above first, then run the doctor again',
        data,
      },
    ];
  }
  if (notPrimary.length === 0) {
    return [{ id: 'gc.primary-source', group: 'gc', status: 'pass', summary: `'${name}' is the primary presence source of all ${plural(userIds.length, 'synced user')}`, data }];
  }
  const what = `${notPrimary.length} of ${plural(userIds.length, 'synced user')} do not have '${name}' as primary presence source${context.sourceId === null ? ' (it does not exist yet)' : ''}`;
  if (config.gc.primarySource === 'fix') {
    return [
      {
        id: 'gc.primary-source',
        group: 'gc',
        status: 'warn',
        summary: `${what}: the sidecar makes it primary for them at start (gc.primarySource: fix; ${sidecarCost(notPrimary.length)})`,
        details: notPrimary.slice(0, 3).map((userId) => `e.g. ${example(userId)}`),
        remedy: 'nothing to do, or run exas doctor --fix to migrate now, paced, before going live',
        data,
      },
    ];
  }
  return [
    {
      id: 'gc.primary-source',
      group: 'gc',
      status: 'fail',
      summary: `${what}: their presence from EXAS will not show in GC (gc.primarySource: ${config.gc.primarySource})`,
      details: notPrimary.slice(0, 3).map((userId) => `e.g. ${example(userId)}`),
      remedy: `run exas doctor --fix (${sidecarCost(notPrimary.length)}), or set gc.primarySource: fix`,
      data,
    },
  ];
}

async function fixPrimarySource(context: DoctorContext, userIds: readonly string[]): Promise<Check[]> {
  const name = context.config.gc.presenceSourceName;
  const sourceId = context.sourceId;
  if (sourceId === null) {
    return [{ id: 'gc.primary-source', group: 'gc', status: 'fail', summary: `primary source: '${name}' could not be created, nothing was changed`, remedy: 'fix the presence source above first' }];
  }
  const path = progressFilePath(context);
  const confirmed = await readProgress(path, sourceId);
  const bySidecar = await confirmedBySidecar(context, sourceId);
  const todo = userIds.filter((userId) => !confirmed.has(userId) && !bySidecar.has(userId));
  const earlier = userIds.length - todo.length;
  const meter = progressMeter('primary source (--fix)', todo.length, budgetPerMinute(context.clients), context.options.progress, { now: context.now });
  let unsaved = 0;
  let saving: Promise<void> = Promise.resolve();
  let result: RunResult;
  try {
    result = await perUser(context.clients, todo, meter, context.options.signal, async (client, userId) => {
      // The PUT is idempotent: no GET first (one request per user instead of two).
      await client.setPrimarySource(userId, sourceId, context.options.signal);
      confirmed.add(userId);
      unsaved += 1;
      if (unsaved >= SAVE_EVERY) {
        unsaved = 0;
        saving = saving.then(() => writeProgress(path, sourceId, confirmed));
        await saving;
      }
    });
  } finally {
    // Saved whatever happened (Ctrl-C included): the next run continues from here.
    await saving.catch(() => undefined);
    await writeProgress(path, sourceId, confirmed);
  }
  if (todo.length > 0) meter.finish();
  const made = todo.length - result.failed.length - result.notReached;
  const data = { users: userIds.length, madePrimary: made, confirmedEarlier: earlier, failed: result.failed.length, notReached: result.notReached, progressFile: path };
  if (context.options.signal?.aborted) {
    return [
      {
        id: 'gc.primary-source',
        group: 'gc',
        status: 'fail',
        summary: `primary source: interrupted after ${made} of ${plural(todo.length, 'user')} (${earlier} done before: an earlier run or the sidecar)`,
        remedy: `run exas doctor --fix again: it continues from ${path}`,
        data,
      },
    ];
  }
  if (result.failed.length > 0 || result.notReached > 0) {
    return [
      {
        id: 'gc.primary-source',
        group: 'gc',
        status: 'fail',
        summary: `primary source: ${plural(result.failed.length + result.notReached, 'user')} not made primary (${made} done now, ${earlier} earlier)`,
        details: result.failed.slice(0, EXAMPLES).map((failure) => `${failure.userId}: ${failure.message}`),
        remedy: `fix the cause above and run exas doctor --fix again (it continues from ${path})`,
        data,
      },
    ];
  }
  return [
    {
      id: 'gc.primary-source',
      group: 'gc',
      status: 'pass',
      summary: `'${name}' is the primary presence source of all ${plural(userIds.length, 'synced user')} (${made} made primary now, ${earlier} before: an earlier run or the sidecar)`,
      data,
    },
  ];
}

