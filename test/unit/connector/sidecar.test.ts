import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../../../src/config/index.ts';
import { createSlidingWindowBudget, type GcWriteTarget, type WriteOutcome } from '../../../src/gc/index.ts';
import { createSidecar } from '../../../src/sidecar/index.ts';
import type { StatePersistence } from '../../../src/sync/connector/index.ts';
import type { AcknowledgedEntries, AcknowledgedEntry } from '../../../src/sync/store.ts';
import { setLogSink } from '../../../src/log.ts';
import type { GcUserState } from '../../../src/vocabulary.ts';
import { FakeStatSource } from './fakes.ts';
import { WebSocketServer } from 'ws';
import type { GcStateReader } from '../../../src/sync/connector/index.ts';

setLogSink(() => {});

/** A GC write target that accepts everything and remembers what each user was last given. */
function recordingTarget(): GcWriteTarget & { readonly users: Map<string, Partial<GcUserState>> } {
  const users = new Map<string, Partial<GcUserState>>();
  const ok = (userId: string): WriteOutcome => ({ userId, ok: true });
  return {
    users,
    name: 'fake',
    budget: createSlidingWindowBudget({ requestsPerMinute: 10_000 }),
    maxBatchSize: 100,
    canSetRoutingStatus: () => true,
    async writePresence(items) {
      for (const item of items) users.set(item.userId, { ...users.get(item.userId), presence: item.presence });
      return items.map((item) => ok(item.userId));
    },
    async writeRoutingStatus(items) {
      for (const item of items) users.set(item.userId, { ...users.get(item.userId), routingStatus: item.routingStatus });
      return items.map((item) => ok(item.userId));
    },
  };
}

function memoryStore(): StatePersistence & { saved: Map<string, AcknowledgedEntry> } {
  let pending: (() => AcknowledgedEntries) | undefined;
  const saved = new Map<string, AcknowledgedEntry>();
  return {
    saved,
    load: async () => ({ entries: new Map(saved), status: saved.size > 0 ? ('loaded' as const) : ('missing' as const) }),
    scheduleSave: (snapshot) => void (pending = snapshot),
    flush: async () => {
      if (pending === undefined) return;
      saved.clear();
      pending().forEach((entry, userId) => saved.set(userId, entry));
      pending = undefined;
    },
  };
}

describe('sidecar built from config with injected parts', () => {
  it('syncs Stat Server states to the GC targets, and stop flushes and saves the store', async () => {
    const { config, errors } = loadConfig('scope:\n  source: list\n  agents: ["1001", "1002"]\nrules:\n  watch: false\n', `${process.cwd()}/exas.yaml`, {
      env: { EXAS_GC_CLIENT_ID: 'id', EXAS_GC_CLIENT_SECRET: 'secret' },
    });
    expect(errors).toEqual([]);
    const source = new FakeStatSource();
    source.set('1001', 'Ready', 'Inbound');
    source.set('1002', 'NotReady', 'None', 'Break');
    const target = recordingTarget();
    const store = memoryStore();
    const sidecar = createSidecar(config!, {
      source,
      targets: [target],
      identity: async (agentIds) => new Map(agentIds.map((agentId) => [agentId, `user-${agentId}`])),
      store,
      http: false,
    });
    await sidecar.start();
    await sidecar.connector.ready();
    await sidecar.writer.onIdle();
    expect(Object.fromEntries(target.users)).toEqual({
      'user-1001': { presence: 'OnQueue', routingStatus: 'Interacting' },
      'user-1002': { presence: 'Break', routingStatus: 'OffQueue' },
    });
    expect(sidecar.connector.readiness()).toMatchObject({ rulesLoaded: true, gcTokenValid: true, statServerConnected: true });

    source.update('1001', 'LoggedOff');
    const result = await sidecar.stop(1_000);
    expect(result.remaining).toBe(0);
    expect(target.users.get('user-1001')).toEqual({ presence: 'Offline', routingStatus: 'OffQueue' });
    expect(store.saved.get('user-1001')?.state).toEqual({ presence: 'Offline', routingStatus: 'OffQueue' });
    expect([...store.saved.keys()].sort()).toEqual(['user-1001', 'user-1002']);
    expect(source.calls).toContain('stop');
  });

  it('subscribes the GC notification channels before the start-up bulk read of GC state', async () => {
    // Drift made between the read and the first subscription was never repaired: the read now waits for the watch.
    const sockets = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => sockets.once('listening', resolve));
    const { port } = sockets.address() as { port: number };
    const order: string[] = [];
    const { config } = loadConfig('scope:\n  source: list\n  agents: ["1001"]\nrules:\n  watch: false\n', `${process.cwd()}/exas.yaml`, {
      env: { EXAS_GC_CLIENT_ID: 'id', EXAS_GC_CLIENT_SECRET: 'secret' },
    });
    const gcState: GcStateReader = {
      read: async (userIds) => {
        order.push(`read ${userIds.join(',')}`);
        return new Map();
      },
    };
    const source = new FakeStatSource();
    source.set('1001', 'Ready');
    const sidecar = createSidecar(config!, {
      source,
      targets: [recordingTarget()],
      identity: async (agentIds) => new Map(agentIds.map((agentId) => [agentId, `user-${agentId}`])),
      gcState,
      store: memoryStore(),
      http: false,
      channels: {
        clients: 1,
        create: async () => ({ id: 'channel-1', connectUri: `ws://127.0.0.1:${port}/` }),
        subscribe: async (_client, _channel, topics) => void order.push(`subscribe ${topics.join(',')}`),
      },
    });
    try {
      await sidecar.start();
      await sidecar.connector.ready();
      expect(order).toEqual(['subscribe v2.users.user-1001.presence,v2.users.user-1001.routingStatus', 'read user-1001']);
    } finally {
      await sidecar.stop(1_000);
      await new Promise((resolve) => sockets.close(resolve));
    }
  });
});

describe('rules file watch', () => {
  it('editing the rules file reloads it and the writer sends only the users whose mapping changed', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'exas-rules-'));
    const rulesFile = join(directory, 'exas.rules.yaml');
    copyFileSync(resolve('exas.rules.yaml'), rulesFile);
    // The edit breaks the file's own tests (they expect Break): reloads would refuse it with testOnReload on.
    const { config } = loadConfig('scope:\n  source: list\n  agents: ["1001", "1002"]\nrules:\n  file: exas.rules.yaml\n  testOnReload: false\n', join(directory, 'exas.yaml'), {
      env: { EXAS_GC_CLIENT_ID: 'id', EXAS_GC_CLIENT_SECRET: 'secret' },
    });
    const source = new FakeStatSource();
    source.set('1001', 'NotReady', 'None', 'Break');
    source.set('1002', 'Ready');
    const target = recordingTarget();
    const writes: string[] = [];
    const counting: GcWriteTarget = {
      ...target,
      writePresence: async (items) => {
        writes.push(...items.map((item) => `${item.userId}=${item.presence}`));
        return target.writePresence(items);
      },
    };
    const sidecar = createSidecar(config!, { source, targets: [counting], identity: async (ids) => new Map(ids.map((id) => [id, `user-${id}`])), store: memoryStore(), http: false });
    await sidecar.start();
    await sidecar.connector.ready();
    await sidecar.writer.onIdle();
    writes.length = 0;
    const reloaded = new Promise<string>((done) => sidecar.rules.onChange((program) => done(program.hash)));
    writeFileSync(rulesFile, readFileSync(rulesFile, 'utf8').replace(/presence: Break\n/, 'presence: Busy\n'));
    const hash = await reloaded;
    await sidecar.writer.onIdle();
    expect(hash).toBe(sidecar.connector.rules()?.hash);
    expect(writes).toEqual(['user-1001=Busy']);
    await sidecar.stop(1_000);
    rmSync(directory, { recursive: true, force: true });
  });
});
