/**
 * The primary-source keeper (`gc.primarySource`): which users it fixes or reports, from what evidence, what it
 * remembers, and what it never spends requests on. GC is faked at the keeper's two calls (PUT, read).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcNotFoundError, GcPermissionError, GcServerError } from '../../../src/gc/errors.ts';
import { setLogSink, type LogSink } from '../../../src/log.ts';
import { createPrimarySourceKeeper, type PrimarySourceKeeperOptions, type ShownPresence } from '../../../src/sync/primary-source.ts';
import { createFileStore, type AcknowledgedEntry } from '../../../src/sync/store.ts';

const OURS = 'exas-source';
const PURECLOUD = 'purecloud-source';

let previousSink: LogSink;
const logs: Array<Record<string, unknown>> = [];
beforeAll(() => {
  previousSink = setLogSink((line) => logs.push(JSON.parse(line) as Record<string, unknown>));
});
afterAll(() => setLogSink(previousSink));

/** A fake GC: each user's primary source and what its source holds; counts the keeper's requests. */
function fakeGc(users: Record<string, { primary: string; shows: string }>, options: { refuse?: Set<string>; failOnce?: boolean } = {}) {
  const puts: string[] = [];
  const reads: string[][] = [];
  let failOnce = options.failOnce ?? false;
  const acknowledged = new Map<string, string>();
  const keeperOptions = (overrides: Partial<PrimarySourceKeeperOptions> = {}): PrimarySourceKeeperOptions => ({
    mode: 'fix',
    workers: 2,
    checkDelayMs: 0,
    retryDelayMs: 1,
    async setPrimary(userId, sourceId) {
      puts.push(userId);
      if (failOnce) {
        failOnce = false;
        throw new GcServerError('service unavailable', { status: 503 });
      }
      if (options.refuse?.has(userId)) throw new GcPermissionError('Missing permission presence:userPrimarySource:edit', { status: 403 });
      (users[userId] as { primary: string }).primary = sourceId;
    },
    async readShown(userIds) {
      reads.push([...userIds]);
      return new Map(userIds.map((userId) => [userId, shownOf(userId)]));
    },
    acknowledgedPresence: (userId) => acknowledged.get(userId),
    ...overrides,
  });
  /** What GC shows: EXAS's presence where EXAS is primary, else what the other source holds. */
  const shownOf = (userId: string, withSource = true): ShownPresence => {
    const user = users[userId] as { primary: string; shows: string };
    const presence = user.primary === OURS ? (acknowledged.get(userId) ?? 'Offline') : user.shows;
    return withSource ? { presence, sourceId: user.primary, primary: true } : { presence };
  };
  /** Someone else (exas doctor --fix) sets a user's primary source. */
  const setPrimaryElsewhere = async (userId: string, sourceId: string): Promise<void> => void ((users[userId] as { primary: string }).primary = sourceId);
  return { puts, reads, acknowledged, keeperOptions, shownOf, setPrimaryElsewhere };
}

describe('primary-source keeper', () => {
  it('fixes the users a read shows with another primary source: one PUT each, no read of its own', async () => {
    const gc = fakeGc({ a: { primary: PURECLOUD, shows: 'Offline' }, b: { primary: OURS, shows: 'Offline' }, c: { primary: PURECLOUD, shows: 'Offline' } });
    const keeper = createPrimarySourceKeeper(gc.keeperOptions());
    keeper.observeShown(new Map(['a', 'b', 'c'].map((userId) => [userId, gc.shownOf(userId)])));
    keeper.loadSaved(undefined);
    keeper.sourceReady(OURS);
    await keeper.idle();
    expect(gc.puts.sort()).toEqual(['a', 'c']);
    expect(gc.reads).toEqual([]);
    expect(keeper.stats()).toMatchObject({ confirmed: 3, fixed: 2, notPrimary: 0, pending: 0 });
    expect(logs.some((line) => line['msg'] === "EXAS's presence source made primary" && line['fixed'] === 2)).toBe(true);
    // Acknowledged writes of confirmed users cost nothing.
    for (const userId of ['a', 'b', 'c']) keeper.noteAcknowledged(userId);
    await keeper.idle();
    expect(gc.reads).toEqual([]);
    expect(gc.puts).toHaveLength(2);
  });

  it('a standby (canWrite false) queues the users to fix and sends no PUT until it may write (high availability)', async () => {
    const gc = fakeGc({ a: { primary: PURECLOUD, shows: 'Offline' }, b: { primary: OURS, shows: 'Offline' }, c: { primary: PURECLOUD, shows: 'Offline' } });
    let leading = false;
    const keeper = createPrimarySourceKeeper(gc.keeperOptions({ canWrite: () => leading }));
    keeper.loadSaved(undefined);
    keeper.sourceReady(OURS);
    keeper.observeShown(new Map(['a', 'b', 'c'].map((userId) => [userId, gc.shownOf(userId)])));
    await keeper.idle();
    expect(gc.puts).toEqual([]);
    expect(keeper.stats()).toMatchObject({ confirmed: 1, fixed: 0, pending: 2 });
    leading = true;
    keeper.writingAllowed();
    await keeper.idle();
    expect(gc.puts.sort()).toEqual(['a', 'c']);
    expect(keeper.stats()).toMatchObject({ confirmed: 3, fixed: 2, pending: 0 });
  });

  it('checks a user with no evidence once, after an acknowledged write; a read without sources is judged by the acknowledged presence', async () => {
    const gc = fakeGc({ a: { primary: PURECLOUD, shows: 'Offline' }, b: { primary: OURS, shows: 'Offline' } });
    const keeper = createPrimarySourceKeeper(gc.keeperOptions({ readShown: async (userIds) => (gc.reads.push([...userIds]), new Map(userIds.map((userId) => [userId, gc.shownOf(userId, false)]))) }));
    keeper.loadSaved(undefined);
    keeper.sourceReady(OURS);
    // A read without sources says nothing on its own.
    keeper.observeShown(new Map([['a', { presence: 'Offline' }], ['b', { presence: 'Offline' }]]));
    await keeper.idle();
    expect(gc.puts).toEqual([]);
    gc.acknowledged.set('a', 'Meeting');
    gc.acknowledged.set('b', 'Meeting');
    keeper.noteAcknowledged('a');
    keeper.noteAcknowledged('b');
    await keeper.idle();
    expect(gc.reads).toEqual([['a', 'b']]);
    expect(gc.puts).toEqual(['a']);
    expect(keeper.stats()).toMatchObject({ confirmed: 2, fixed: 1 });
    keeper.noteAcknowledged('a');
    keeper.noteAcknowledged('b');
    await keeper.idle();
    expect(gc.reads).toHaveLength(1);
  });

  it('remembers confirmed users for its source only: another source id checks them again', async () => {
    const gc = fakeGc({ a: { primary: OURS, shows: 'Offline' } });
    const same = createPrimarySourceKeeper(gc.keeperOptions());
    same.loadSaved({ sourceId: OURS, users: ['a'] });
    same.sourceReady(OURS);
    same.noteAcknowledged('a');
    await same.idle();
    expect(same.stats().confirmed).toBe(1);
    expect(gc.reads).toEqual([]);
    const other = createPrimarySourceKeeper(gc.keeperOptions());
    other.loadSaved({ sourceId: 'an-older-source', users: ['a'] });
    other.sourceReady(OURS);
    expect(other.stats().confirmed).toBe(0);
    gc.acknowledged.set('a', 'Offline');
    other.noteAcknowledged('a');
    await other.idle();
    expect(gc.reads).toEqual([['a']]);
    expect(other.stats().confirmed).toBe(1);
  });

  it('check mode reports and changes nothing', async () => {
    const gc = fakeGc({ a: { primary: PURECLOUD, shows: 'Offline' }, b: { primary: PURECLOUD, shows: 'Offline' } });
    const keeper = createPrimarySourceKeeper(gc.keeperOptions({ mode: 'check' }));
    keeper.loadSaved(undefined);
    keeper.sourceReady(OURS);
    keeper.observeShown(new Map(['a', 'b'].map((userId) => [userId, gc.shownOf(userId)])));
    await keeper.idle();
    expect(gc.puts).toEqual([]);
    expect(keeper.notPrimaryCount()).toBe(2);
    await keeper.stop();
  });

  it('check mode reads the reported users again later: readiness recovers once someone made them primary', async () => {
    const gc = fakeGc({ a: { primary: PURECLOUD, shows: 'Offline' } });
    const keeper = createPrimarySourceKeeper(gc.keeperOptions({ mode: 'check', recheckMs: 5 }));
    keeper.loadSaved(undefined);
    keeper.sourceReady(OURS);
    keeper.observeShown(new Map([['a', gc.shownOf('a')]]));
    await keeper.idle();
    expect(keeper.notPrimaryCount()).toBe(1);
    gc.acknowledged.set('a', 'Offline');
    await gc.setPrimaryElsewhere('a', OURS);
    await new Promise<void>((resolve) => {
      const poll = (): void => void (keeper.notPrimaryCount() === 0 ? resolve() : setImmediate(poll));
      poll();
    });
    expect(gc.reads.length).toBeGreaterThanOrEqual(1);
    expect(gc.puts).toEqual([]);
    await keeper.stop();
  });

  it('a 403 stops the batch (every user would be refused) and names the permission; one more try after recheckMs; a transient failure is retried', async () => {
    const gc = fakeGc({ a: { primary: PURECLOUD, shows: 'Offline' }, b: { primary: PURECLOUD, shows: 'Offline' }, c: { primary: PURECLOUD, shows: 'Offline' } }, { refuse: new Set(['b', 'c']), failOnce: true });
    const keeper = createPrimarySourceKeeper(gc.keeperOptions({ workers: 1, recheckMs: 60_000 }));
    keeper.loadSaved(undefined);
    keeper.sourceReady(OURS);
    keeper.observeShown(new Map(['a', 'b', 'c'].map((userId) => [userId, gc.shownOf(userId)])));
    // The batch ends with the refusal logged; the next try waits recheckMs (a minute), past this test.
    await new Promise<void>((resolve) => {
      const poll = (): void => void (logs.some((line) => String(line['msg']).includes('lacks a permission')) ? resolve() : setImmediate(poll));
      poll();
    });
    // a: 503, then done; b: 403, and c is not tried (it would be refused the same).
    expect(gc.puts).toEqual(['a', 'a', 'b']);
    expect(keeper.stats()).toMatchObject({ fixed: 1, notPrimary: 2, confirmed: 1, pending: 2 });
    expect(logs.some((line) => line['level'] === 'error' && String(line['remedy']).includes('presence:userPrimarySource:edit') && line['waiting'] === 2)).toBe(true);
    await keeper.stop();
    expect(gc.puts).toHaveLength(3);
  });

  it('a PUT GC refuses for one user (404: deleted) is reported and the others go on', async () => {
    const gc = fakeGc({ a: { primary: PURECLOUD, shows: 'Offline' }, b: { primary: PURECLOUD, shows: 'Offline' } });
    const keeper = createPrimarySourceKeeper(
      gc.keeperOptions({
        workers: 1,
        setPrimary: async (userId) => {
          gc.puts.push(userId);
          if (userId === 'a') throw new GcNotFoundError('User a not found', { status: 404 });
        },
      }),
    );
    keeper.loadSaved(undefined);
    keeper.sourceReady(OURS);
    keeper.observeShown(new Map(['a', 'b'].map((userId) => [userId, gc.shownOf(userId)])));
    await keeper.idle();
    expect(gc.puts).toEqual(['a', 'b']);
    expect(keeper.stats()).toMatchObject({ fixed: 1, notPrimary: 1, pending: 0 });
  });

  it('fixes a confirmed user again when a read shows another primary source, but not twice within refixAfterMs', async () => {
    let clock = 0;
    const gc = fakeGc({ a: { primary: PURECLOUD, shows: 'Offline' } });
    const keeper = createPrimarySourceKeeper(gc.keeperOptions({ now: () => clock, refixAfterMs: 1000 }));
    keeper.loadSaved({ sourceId: OURS, users: ['a'] });
    keeper.sourceReady(OURS);
    keeper.observeShown(new Map([['a', gc.shownOf('a')]]));
    await keeper.idle();
    expect(gc.puts).toEqual(['a']);
    gc.puts.length = 0;
    // Someone sets PURECLOUD back at once: not fought within the window.
    keeper.observeShown(new Map([['a', { presence: 'Offline', sourceId: PURECLOUD, primary: true }]]));
    await keeper.idle();
    expect(gc.puts).toEqual([]);
    clock = 2000;
    keeper.observeShown(new Map([['a', { presence: 'Offline', sourceId: PURECLOUD, primary: true }]]));
    await keeper.idle();
    expect(gc.puts).toEqual(['a']);
  });
});

describe('store: primary-source confirmations', () => {
  let root: string;
  beforeAll(async () => {
    root = await fs.mkdtemp(join(os.tmpdir(), 'exas-primary-'));
  });
  afterAll(() => fs.rm(root, { recursive: true, force: true }));

  const entries = new Map<string, AcknowledgedEntry>([['u1', { state: { presence: 'Meeting', routingStatus: 'OffQueue' }, version: 1, at: 5 }]]);

  it('saves and loads them beside the acknowledged states, in chunks for many users', async () => {
    const path = join(root, 'with.json');
    const users = Array.from({ length: 4_321 }, (_, index) => `user-${index}`);
    await createFileStore(path).save({ forEach: (visit) => entries.forEach(visit), primarySource: { sourceId: OURS, users: new Set(users) } });
    const loaded = await createFileStore(path).load();
    expect(loaded.status).toBe('loaded');
    expect(loaded.entries).toEqual(entries);
    expect(loaded.primarySource).toEqual({ sourceId: OURS, users });
  });

  it('a store without them loads with nobody confirmed; a malformed list is dropped, the acknowledged states kept', async () => {
    const without = join(root, 'without.json');
    await createFileStore(without).save(entries);
    expect((await createFileStore(without).load()).primarySource).toBeUndefined();
    const bad = join(root, 'bad.json');
    const text = await fs.readFile(without, 'utf8');
    await fs.writeFile(bad, text.replace(/}\s*$/, ',"primarySource":{"sourceId":"x","users":[1,2]}}'));
    const loaded = await createFileStore(bad).load();
    expect(loaded.status).toBe('loaded');
    expect(loaded.entries).toEqual(entries);
    expect(loaded.primarySource).toBeUndefined();
  });
});
