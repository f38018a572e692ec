import { Buffer } from 'node:buffer';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogSink, type LogSink } from '../../../src/log.ts';
import {
  createFileStore,
  STORE_FORMAT,
  STORE_SCHEMA_VERSION,
  StoreWriteError,
  type AcknowledgedEntry,
  type StoreFileSystem,
} from '../../../src/sync/store.ts';
import { createWriter } from '../../../src/sync/writer/index.ts';
import { FakeClock, FakeTarget, runUntilIdle } from './fakes.ts';

let root: string;
let previousSink: LogSink;
let counter = 0;
const logLines: string[] = [];

beforeAll(async () => {
  root = await fs.mkdtemp(join(os.tmpdir(), 'exas-store-'));
  previousSink = setLogSink((line) => logLines.push(line));
});
afterAll(async () => {
  setLogSink(previousSink);
  await fs.rm(root, { recursive: true, force: true });
});

async function freshDirectory(): Promise<string> {
  counter += 1;
  const directory = join(root, `case-${counter}`);
  await fs.mkdir(directory, { recursive: true });
  return directory;
}

function sampleEntries(count: number): Map<string, AcknowledgedEntry> {
  const entries = new Map<string, AcknowledgedEntry>();
  for (let i = 0; i < count; i += 1) {
    entries.set(`user-${i}`, {
      state: { presence: i % 2 === 0 ? 'OnQueue' : 'Break', routingStatus: i % 2 === 0 ? 'Idle' : 'OffQueue' },
      version: i + 1,
      at: 1_767_225_600_000 + i,
    });
  }
  return entries;
}

/** The real file system, with `open` returning handles that fail as the test says. */
function failingFileSystem(failure: 'half-write' | 'sync' | 'rename'): StoreFileSystem {
  return {
    readFile: (path) => fs.readFile(path, 'utf8'),
    open: async (path, flags) => {
      const handle = await fs.open(path, flags);
      return {
        writeFile: async (data) => {
          if (failure === 'half-write') {
            await handle.writeFile(data.slice(0, Math.floor(data.length / 2)));
            throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
          }
          await handle.writeFile(data);
        },
        sync: async () => {
          if (failure === 'sync') throw Object.assign(new Error('I/O error'), { code: 'EIO' });
          await handle.sync();
        },
        close: () => handle.close(),
      };
    },
    rename: async (from, to) => {
      if (failure === 'rename') throw Object.assign(new Error('cross-device link'), { code: 'EXDEV' });
      await fs.rename(from, to);
    },
    unlink: (path) => fs.unlink(path),
    mkdir: async (path) => {
      await fs.mkdir(path, { recursive: true });
    },
  };
}

describe('acknowledged-state store', () => {
  it('round-trips the acknowledged state of every user with its version', async () => {
    const path = join(await freshDirectory(), 'acknowledged.json');
    const store = createFileStore(path);
    const entries = sampleEntries(1000);
    await store.save(entries);
    const loaded = await createFileStore(path).load();
    expect(loaded.status).toBe('loaded');
    expect(loaded.entries).toEqual(entries);
    const document = JSON.parse(await fs.readFile(path, 'utf8')) as Record<string, unknown>;
    expect(document).toMatchObject({ format: STORE_FORMAT, schemaVersion: STORE_SCHEMA_VERSION });
    expect(store.stats()).toMatchObject({ saves: 1, saveFailures: 0, lastSaveEntries: 1000 });
  });

  it('writes a snapshot spanning several chunks as one JSON document of every user, as it was when the save began', async () => {
    const path = join(await freshDirectory(), 'acknowledged.json');
    const entries = sampleEntries(4_501);
    entries.set('user "quoted" \\ ü', { state: { presence: 'Meal', routingStatus: 'OffQueue' }, version: 7, at: 1 });
    let writes = 0;
    const fileSystem: StoreFileSystem = {
      ...failingFileSystem('rename'),
      rename: (from, to) => fs.rename(from, to),
      open: async (file, flags) => {
        const handle = await fs.open(file, flags);
        return {
          writeFile: async (data) => {
            // Changes made while the chunks are being written belong to the next snapshot.
            if ((writes += 1) === 1) {
              entries.delete('user-0');
              entries.set('late', { state: { presence: 'Busy', routingStatus: 'OffQueue' }, version: 1, at: 2 });
            }
            await handle.writeFile(data);
          },
          sync: () => handle.sync(),
          close: () => handle.close(),
        };
      },
    };
    const store = createFileStore(path, { fileSystem });
    await store.save(entries);
    expect(writes).toBeGreaterThan(2);
    const text = await fs.readFile(path, 'utf8');
    expect(store.stats().lastSaveBytes).toBe(Buffer.byteLength(text));
    const document = JSON.parse(text) as { users: Record<string, unknown> };
    expect(Object.keys(document.users)).toHaveLength(4_502);
    expect(document.users['user-0']).toEqual(['OnQueue', 'Idle', 1, 1_767_225_600_000]);
    expect(document.users['user "quoted" \\ ü']).toEqual(['Meal', 'OffQueue', 7, 1]);
    expect(document.users['late']).toBeUndefined();
    entries.set('user-0', sampleEntries(1).get('user-0')!);
    entries.delete('late');
    expect((await createFileStore(path).load()).entries).toEqual(entries);
  });

  it('reports a missing file as missing with an empty map', async () => {
    const loaded = await createFileStore(join(await freshDirectory(), 'none.json')).load();
    expect(loaded).toEqual({ entries: new Map(), status: 'missing' });
  });

  it('creates the directory it saves into', async () => {
    const path = join(await freshDirectory(), 'nested', 'deeper', 'acknowledged.json');
    await createFileStore(path).save(sampleEntries(2));
    expect((await createFileStore(path).load()).entries.size).toBe(2);
  });

  for (const failure of ['half-write', 'sync', 'rename'] as const) {
    it(`leaves the previous snapshot intact when a save fails (${failure})`, async () => {
      const directory = await freshDirectory();
      const path = join(directory, 'acknowledged.json');
      const before = sampleEntries(50);
      await createFileStore(path).save(before);
      const original = await fs.readFile(path, 'utf8');
      const store = createFileStore(path, { fileSystem: failingFileSystem(failure) });
      await expect(store.save(sampleEntries(500))).rejects.toBeInstanceOf(StoreWriteError);
      expect(await fs.readFile(path, 'utf8')).toBe(original);
      expect((await createFileStore(path).load()).entries).toEqual(before);
      expect(await fs.readdir(directory)).toEqual(['acknowledged.json']);
      expect(store.stats().saveFailures).toBe(1);
    });
  }

  const corruptFiles: Array<[string, string]> = [
    ['garbage bytes', '\u0000\u0001not json at all'],
    ['a truncated snapshot', `{"format":"${STORE_FORMAT}","schemaVersion":1,"savedAt":"x","users":{"u1":["OnQueue","Id`],
    ['an empty file', ''],
    ['another JSON document', '{"hello":"world"}'],
    ['a bad routing status', `{"format":"${STORE_FORMAT}","schemaVersion":1,"savedAt":"x","users":{"u1":["OnQueue","ON_QUEUE",1,1]}}`],
    ['a presence of keep', `{"format":"${STORE_FORMAT}","schemaVersion":1,"savedAt":"x","users":{"u1":["keep","Idle",1,1]}}`],
    ['a negative version', `{"format":"${STORE_FORMAT}","schemaVersion":1,"savedAt":"x","users":{"u1":["Busy","OffQueue",-1,1]}}`],
  ];
  for (const [what, content] of corruptFiles) {
    it(`reports ${what} as corrupt with an empty map, without throwing, and keeps it aside`, async () => {
      const path = join(await freshDirectory(), 'acknowledged.json');
      await fs.writeFile(path, content);
      const loaded = await createFileStore(path).load();
      expect(loaded.status).toBe('corrupt');
      expect(loaded.entries.size).toBe(0);
      expect(loaded.detail).toBeTruthy();
      expect(await fs.readFile(`${path}.corrupt`, 'utf8')).toBe(content);
    });
  }

  it('reports an unreadable path as corrupt rather than crashing', async () => {
    const path = join(await freshDirectory(), 'acknowledged.json');
    await fs.mkdir(path);
    const loaded = await createFileStore(path).load();
    expect(loaded.status).toBe('corrupt');
    expect(loaded.entries.size).toBe(0);
  });

  it('reports a snapshot of another schema version as incompatible, and the next save replaces it', async () => {
    const path = join(await freshDirectory(), 'acknowledged.json');
    await fs.writeFile(path, JSON.stringify({ format: STORE_FORMAT, schemaVersion: STORE_SCHEMA_VERSION + 1, savedAt: 'x', users: { u1: { new: 'shape' } } }));
    const store = createFileStore(path);
    const loaded = await store.load();
    expect(loaded.status).toBe('incompatible');
    expect(loaded.entries.size).toBe(0);
    expect(loaded.detail).toMatch(/schema version 2/);
    await store.save(sampleEntries(3));
    const reloaded = await store.load();
    expect(reloaded.status).toBe('loaded');
    expect(reloaded.entries.size).toBe(3);
  });

  it('debounces scheduled saves into one write of the newest snapshot', async () => {
    const clock = new FakeClock();
    const path = join(await freshDirectory(), 'acknowledged.json');
    const store = createFileStore(path, { debounceMs: 1000, timers: clock.timers, now: clock.now });
    const entries = new Map<string, AcknowledgedEntry>();
    for (const [userId, entry] of sampleEntries(20)) {
      entries.set(userId, entry);
      store.scheduleSave(() => entries);
    }
    expect(existsSync(path)).toBe(false);
    expect(clock.pendingTimers).toBe(1);
    await store.flush();
    expect(store.stats().saves).toBe(1);
    expect((await createFileStore(path).load()).entries.size).toBe(20);
    await store.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('retries a failed scheduled save without throwing', async () => {
    const clock = new FakeClock();
    const path = join(await freshDirectory(), 'acknowledged.json');
    let failNext = true;
    const real = failingFileSystem('sync');
    const fileSystem: StoreFileSystem = {
      ...real,
      rename: async (from, to) => {
        if (failNext) {
          failNext = false;
          throw Object.assign(new Error('busy'), { code: 'EBUSY' });
        }
        await fs.rename(from, to);
      },
      open: async (file, flags) => {
        const handle = await fs.open(file, flags);
        return { writeFile: (data) => handle.writeFile(data), sync: () => handle.sync(), close: () => handle.close() };
      },
    };
    const store = createFileStore(path, { debounceMs: 500, timers: clock.timers, fileSystem });
    store.scheduleSave(() => sampleEntries(4));
    await clock.advance(500);
    await store.flush();
    expect(store.stats()).toMatchObject({ saveFailures: 1, saves: 1 });
    expect((await createFileStore(path).load()).entries.size).toBe(4);
    await store.close();
  });

  it('lets a restart resend only what changed: the writer seeded from the store sends nothing for unchanged users', async () => {
    const path = join(await freshDirectory(), 'acknowledged.json');
    const clock = new FakeClock();
    const firstStore = createFileStore(path, { timers: clock.timers, now: clock.now });
    // What the connector does: every acknowledgement goes into the entries the store saves.
    const entries = new Map<string, AcknowledgedEntry>();
    const firstTarget = new FakeTarget(clock);
    const first = createWriter({
      targets: [firstTarget],
      now: clock.now,
      timers: clock.timers,
      onAcknowledged: (userId, state, version) => {
        entries.set(userId, { state, version, at: clock.now() });
        firstStore.scheduleSave(() => entries);
      },
    });
    first.start();
    for (let i = 0; i < 10; i += 1) first.setDesired(`u${i}`, { presence: 'OnQueue', routingStatus: 'Idle' });
    await runUntilIdle(clock, first);
    await first.stop();
    await firstStore.flush();

    const loaded = await createFileStore(path).load();
    expect(loaded.status).toBe('loaded');
    const secondTarget = new FakeTarget(clock);
    const second = createWriter({ targets: [secondTarget], now: clock.now, timers: clock.timers });
    for (const [userId, entry] of loaded.entries) second.seedAcknowledged(userId, entry.state, entry.version);
    second.start();
    for (let i = 0; i < 10; i += 1) second.setDesired(`u${i}`, { presence: 'OnQueue', routingStatus: i === 3 ? 'Interacting' : 'Idle' });
    await runUntilIdle(clock, second);
    expect(secondTarget.calls).toHaveLength(1);
    expect(secondTarget.calls[0]).toMatchObject({ endpoint: 'routing', items: [{ userId: 'u3', value: 'Interacting' }] });
    await second.stop();
  });
});
