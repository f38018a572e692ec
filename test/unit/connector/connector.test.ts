import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadRules, type LoadResult } from '../../../src/rules/index.ts';
import { withOperatorSurface, type OperatedConnector } from '../../../src/operator/index.ts';
import { createConnector, type ConnectorOptions, type GcStateReader, type StatePersistence } from '../../../src/sync/connector/index.ts';
import type { AcknowledgedEntries } from '../../../src/sync/store.ts';
import { createRulesHolder } from '../../../src/sync/rules-holder.ts';
import { setLogSink } from '../../../src/log.ts';
import type { GcUserState, RuleRef } from '../../../src/vocabulary.ts';
import { FakeStatSource, FakeWriter, immediateTimers, settle } from './fakes.ts';

const DEFAULT_RULES = readFileSync('exas.rules.yaml', 'utf8');
const READY_ONLY_RULES = 'version: 1\nrules:\n  - name: ready\n    when: { state: Ready, callType: None }\n    presence: OnQueue\n    routingStatus: Idle\n';
const userOf = (agentId: string): string => `user-${agentId}`;

const logLines: Array<Record<string, unknown>> = [];
const previousSink = setLogSink((line) => logLines.push(JSON.parse(line) as Record<string, unknown>));
afterEach(() => {
  logLines.length = 0;
});
void previousSink;

interface Harness {
  source: FakeStatSource;
  writer: FakeWriter;
  connector: OperatedConnector;
  rulesText: { value: string };
  scope: { value: string[] };
  latencies: number[];
  decisions: Array<RuleRef | null>;
  saved: Array<ReadonlyMap<string, GcUserState>>;
  ack(userId: string): void;
}

async function harness(overrides: Partial<ConnectorOptions> & { agents?: string[]; stored?: Map<string, GcUserState>; now?: () => number } = {}): Promise<Harness> {
  const source = new FakeStatSource();
  const writer = new FakeWriter();
  const rulesText = { value: DEFAULT_RULES };
  const scope = { value: overrides.agents ?? ['1001', '1002', '1003'] };
  const rules = createRulesHolder({ file: 'exas.rules.yaml', load: async (file): Promise<LoadResult> => loadRules(rulesText.value, file) });
  await rules.reload();
  const latencies: number[] = [];
  const decisions: Array<RuleRef | null> = [];
  const saved: Array<ReadonlyMap<string, GcUserState>> = [];
  let scheduled: (() => AcknowledgedEntries) | undefined;
  const stored = overrides.stored;
  const store: StatePersistence = {
    load: async () =>
      stored === undefined
        ? { entries: new Map(), status: 'missing' as const }
        : { entries: new Map([...stored].map(([userId, state]) => [userId, { state, version: 1, at: 0 }])), status: 'loaded' as const },
    scheduleSave: (snapshot) => void (scheduled = snapshot),
    flush: async () => {
      if (scheduled === undefined) return;
      const states = new Map<string, GcUserState>();
      scheduled().forEach((entry, userId) => states.set(userId, entry.state));
      saved.push(states);
      scheduled = undefined;
    },
  };
  // The connector with the operator read model on it, as the sidecar builds it.
  const connector = withOperatorSurface(createConnector({
    source,
    writer,
    rules,
    identity: async (agentIds) => new Map(agentIds.map((agentId) => [agentId, userOf(agentId)])),
    scope: async () => [...scope.value],
    store,
    timers: immediateTimers,
    scopeRefreshMs: 0,
    identityRefreshMs: 0,
    progressIntervalMs: 0,
    random: () => 0,
    metrics: { eventToGcLatency: { observe: (seconds) => void latencies.push(seconds) }, decisions: { record: (rule) => void decisions.push(rule) } },
    ...overrides,
  }), { writer, rules, source });
  const ack = (userId: string): void => {
    const { state, version } = writer.acknowledge(userId);
    connector.handleAcknowledged(userId, state, version);
  };
  return { source, writer, connector, rulesText, scope, latencies, decisions, saved, ack };
}

async function started(h: Harness): Promise<Harness> {
  await h.connector.start();
  await h.connector.ready();
  return h;
}

/**
 * Agent 1001 Ready, synced and acknowledged (OnQueue / Idle), a minute ago; GC's bulk read calls `read.during`
 * while it runs (the clock moves 10 ms before and after) and returns the state from before: OnQueue / Idle.
 */
async function syncedWithSlowRead(): Promise<{ h: Harness; read: { during: () => void } }> {
  let time = 1_000;
  const read = { during: (): void => undefined };
  const gcState: GcStateReader = {
    read: async () => {
      time += 10;
      read.during();
      time += 10;
      return new Map([['user-1001', { presence: 'OnQueue', routingStatus: 'Idle' }]]);
    },
  };
  const h = await harness({ gcState, now: () => time, agents: ['1001'] });
  h.source.set('1001', 'Ready');
  await started(h);
  h.ack('user-1001');
  time += 60_000;
  return { h, read };
}

describe('connector: start and the live flow', () => {
  it('keeps the agent view times exact after 40 days of uptime', async () => {
    let time = Date.UTC(2026, 0, 1) + 41 * 86_400_000 + 17;
    const h = await harness({ now: () => time, agents: ['1001'] });
    h.source.set('1001', 'Ready');
    await started(h);
    const decidedAt = time;
    time += 1_234;
    h.ack('user-1001');
    expect(h.connector.agent('1001')?.timestamps).toMatchObject({ decidedAt, lastWriteAt: decidedAt, acknowledgedAt: decidedAt + 1_234 });
  });

  it('on start every in-scope agent is opened, peeked and set to its mapped state', async () => {
    const h = await harness();
    h.source.set('1001', 'Ready');
    h.source.set('1002', 'NotReady', 'None', 'Meal');
    h.source.set('1003', 'LoggedOff');
    await started(h);
    expect(h.source.calls).toContain('open 1001,1002,1003');
    expect(h.writer.desiredOf('user-1001')).toEqual({ presence: 'OnQueue', routingStatus: 'Idle' });
    expect(h.writer.desiredOf('user-1002')).toEqual({ presence: 'Meal', routingStatus: 'OffQueue' });
    expect(h.writer.desiredOf('user-1003')).toEqual({ presence: 'Offline', routingStatus: 'OffQueue' });
    expect(h.connector.readiness()).toMatchObject({ rulesLoaded: true, statServerConnected: true, gcTokenValid: true, initialResyncDone: false });
    for (const userId of ['user-1001', 'user-1002', 'user-1003']) h.ack(userId);
    expect(h.connector.readiness().initialResyncDone).toBe(true);
    expect(logLines.some((line) => line['msg'] === 'resync done')).toBe(true);
    await h.connector.stop();
  });

  it('a live update sets the new desired state and records event → GC latency on acknowledgement', async () => {
    let clock = 1_000;
    const h = await started(await harness({ now: () => clock }));
    h.source.update('1001', 'Ready', 'Inbound');
    expect(h.writer.desiredOf('user-1001')).toEqual({ presence: 'OnQueue', routingStatus: 'Interacting' });
    expect(h.decisions.at(-1)?.name).toBe('ready-other-call');
    clock += 120;
    h.ack('user-1001');
    expect(h.latencies).toEqual([0.12]);
    await h.connector.stop();
  });

  it('an event that needs no write records no latency', async () => {
    let clock = 1_000;
    const h = await harness({ now: () => clock });
    h.source.set('1001', 'Ready');
    await started(h);
    h.ack('user-1001');
    h.latencies.length = 0;
    h.source.update('1001', 'Ready');
    clock += 5_000;
    h.source.update('1001', 'Ready', 'Internal');
    clock += 40;
    h.ack('user-1001');
    expect(h.latencies).toEqual([0.04]);
    await h.connector.stop();
  });

  it('an agent the source reports unknown is not pushed, and is pushed again once valid', async () => {
    const h = await started(await harness());
    h.source.emit({ kind: 'unknown', agentId: '1002', reason: 'invalid', at: 5 });
    expect(h.writer.desiredOf('user-1002')).toBeUndefined();
    expect(h.connector.agent('1002')).toMatchObject({ syncStatus: 'unknown', unknownReason: 'invalid', snapshot: null });
    expect(h.connector.counters().unknown).toBe(1);
    h.source.update('1002', 'NotReady', 'None', 'Break');
    expect(h.writer.desiredOf('user-1002')).toEqual({ presence: 'Break', routingStatus: 'OffQueue' });
    await h.connector.stop();
  });

  it('GC still showing the last acknowledged state while a newer write is owed is not drift', async () => {
    // Chaos soak: a bulk read right after a rules reload saw the states EXAS had not written over yet and counted
    // thousands of drifts, spending the re-assert cap.
    let time = 1_000;
    const h = await harness({ now: () => time });
    h.source.set('1001', 'Ready');
    await started(h);
    h.ack('user-1001');
    time += 60_000;
    h.source.update('1001', 'NotReady', 'None', 'Break');
    h.connector.observeGc('user-1001', 'presence', 'OnQueue');
    expect(h.connector.counters().driftDetected).toBe(0);
    h.connector.observeGc('user-1001', 'presence', 'Meal');
    expect(h.connector.counters().driftDetected).toBe(1);
    await h.connector.stop();
  });

  it('a foreign write of an older presence is drift once the writer has the newer one acknowledged, even while the routing status write is owed', async () => {
    // Chaos full profile (429 storm + drift): GC acknowledged the new presence, the routing status write waited out
    // a Retry-After, and someone set the old presence again; judged against the connector's ledger (which moves
    // only when both fields are acknowledged) it looked like a write still owed, and GC kept the foreign value.
    let time = 1_000;
    const h = await harness({ now: () => time });
    h.source.set('1001', 'NotReady', 'None', 'Training');
    await started(h);
    h.ack('user-1001');
    time += 60_000;
    h.source.update('1001', 'Ready', 'Internal');
    h.writer.seedAcknowledged('user-1001', { presence: 'OnQueue', routingStatus: 'OffQueue' });
    h.connector.observeGc('user-1001', 'presence', 'Training');
    expect(h.connector.counters().driftDetected).toBe(1);
    await h.connector.stop();
  });

  it('a drift bulk read does not take back a field GC acknowledged while the read ran', async () => {
    // Chaos full profile: a gap read after a token revocation read presence OnQueue, GC then acknowledged Training,
    // and the read's OnQueue was judged drift and seeded; when the agent went back to OnQueue nothing was written.
    let time = 1_000;
    let h: Harness | undefined;
    const gcState: GcStateReader = {
      read: async () => {
        time += 10;
        h!.ack('user-1001');
        time += 10;
        return new Map([['user-1001', { presence: 'OnQueue', routingStatus: 'Idle' }]]);
      },
    };
    h = await harness({ gcState, now: () => time, agents: ['1001'] });
    h.source.set('1001', 'Ready');
    await started(h);
    h.ack('user-1001');
    time += 60_000;
    h.source.update('1001', 'NotReady', 'None', 'Training');
    await h.connector.checkByBulkRead(['user-1001']);
    expect(h.connector.counters().driftDetected).toBe(0);
    await h.connector.stop();
  });

  it('a drift re-assert takes the other field from the writer, not from the ledger that waits for both fields', async () => {
    // Chaos full profile (stat-drops): the re-assert of a routing status seeded the ledger's old presence OnQueue
    // while GC held Busy; when the agent went back to OnQueue the writer thought GC had it and wrote nothing.
    let time = 1_000;
    const h = await harness({ now: () => time });
    h.source.set('1001', 'Ready', 'Inbound');
    await started(h);
    h.ack('user-1001');
    h.source.update('1001', 'NotReady');
    h.writer.seedAcknowledged('user-1001', { presence: 'Busy', routingStatus: 'Interacting' });
    time += 60_000;
    h.source.update('1001', 'Ready', 'Outbound');
    h.connector.observeGc('user-1001', 'routingStatus', 'OffQueue');
    const seeds = h.writer.log.filter((entry) => entry.op === 'seed' && entry.userId === 'user-1001');
    expect(seeds.at(-1)).toMatchObject({ state: { presence: 'Busy', routingStatus: 'OffQueue' } });
    await h.connector.stop();
  });

  it('a change made in GC while the agent was unknown is repaired once the agent is known again', async () => {
    // Chaos (gc-slow + drift + stat-invalid): the notification was ignored while the agent was unknown, EXAS still
    // believed its own last write, and GC kept the foreign value for good.
    const h = await harness();
    h.source.set('1001', 'Ready');
    await started(h);
    h.ack('user-1001');
    h.source.emit({ kind: 'unknown', agentId: '1001', reason: 'invalid', at: 5 });
    h.connector.observeGc('user-1001', 'presence', 'Meal');
    expect(h.writer.log.filter((entry) => entry.op === 'seed' && entry.userId === 'user-1001')).toEqual([]);
    h.source.update('1001', 'Ready');
    expect(h.writer.log.filter((entry) => entry.op === 'seed' && entry.userId === 'user-1001').at(-1)).toMatchObject({ state: { presence: 'Meal', routingStatus: 'Idle' } });
    expect(h.writer.pending()).toContain('user-1001');
    await h.connector.stop();
  });

  it('a change made in GC while the agent was unknown is judged against the writer\'s per-field view, not the lagging ledger', async () => {
    // Chaos full profile (gc-slow + drift + stat-invalid): the ledger still held Meal / OffQueue (it moves when both
    // fields are acknowledged), GC had acknowledged presence OnQueue, and a foreign write of Meal / OffQueue while
    // the agent was unknown looked like no change: GC kept it for good.
    const h = await harness();
    h.source.set('1001', 'NotReady', 'None', 'Meal');
    await started(h);
    h.ack('user-1001');
    h.source.update('1001', 'Ready', 'Outbound');
    h.writer.seedAcknowledged('user-1001', { presence: 'OnQueue', routingStatus: 'OffQueue' }); // presence acknowledged only
    h.source.emit({ kind: 'unknown', agentId: '1001', reason: 'invalid', at: 5 });
    h.connector.observeGc('user-1001', 'presence', 'Meal');
    h.connector.observeGc('user-1001', 'routingStatus', 'OffQueue');
    h.source.update('1001', 'Ready', 'Outbound');
    expect(h.writer.log.filter((entry) => entry.op === 'seed' && entry.userId === 'user-1001').at(-1)).toMatchObject({ state: { presence: 'Meal', routingStatus: 'OffQueue' } });
    expect(h.writer.pending()).toContain('user-1001');
    await h.connector.stop();
  });

  it('a bulk read begun before a drift notification does not take back the drift (the re-assert still goes)', async () => {
    // Chaos full profile (gc-slow + drift + stat-invalid): a GC-recovery read began, someone changed users in GC,
    // the re-asserts were queued, and the read's older values (EXAS's own) were seeded over them: never sent.
    const { h, read } = await syncedWithSlowRead();
    read.during = () => h.connector.observeGc('user-1001', 'presence', 'Meal');
    await h.connector.resync('gc-recovered');
    expect(h.connector.counters().driftRepaired).toBe(1);
    expect(h.writer.log.filter((entry) => entry.op === 'seed' && entry.userId === 'user-1001').at(-1)).toMatchObject({ state: { presence: 'Meal' } });
    expect(h.writer.pending()).toContain('user-1001');
    await h.connector.stop();
  });

  it('a bulk read begun before a change GC reported while the agent was unknown does not take that change back', async () => {
    // Chaos full profile (gc-slow + drift + stat-invalid): the change was remembered while the agent was unknown and
    // handed to the writer when it was known again, then a GC-recovery read begun earlier seeded the older value.
    const { h, read } = await syncedWithSlowRead();
    h.source.emit({ kind: 'unknown', agentId: '1001', reason: 'invalid', at: 5 });
    read.during = () => {
      h.connector.observeGc('user-1001', 'presence', 'Meal');
      h.source.update('1001', 'Ready');
    };
    await h.connector.resync('gc-recovered');
    expect(h.writer.log.filter((entry) => entry.op === 'seed' && entry.userId === 'user-1001').at(-1)).toMatchObject({ state: { presence: 'Meal' } });
    expect(h.writer.pending()).toContain('user-1001');
    await h.connector.stop();
  });

  it('an unmatched decision leaves the user unchanged and is counted', async () => {
    const h = await harness();
    h.rulesText.value = READY_ONLY_RULES;
    await h.connector.reload();
    await started(h);
    h.source.update('1001', 'Ready');
    h.source.update('1001', 'NotReady');
    expect(h.writer.desiredOf('user-1001')).toEqual({ presence: 'OnQueue', routingStatus: 'Idle' });
    expect(h.connector.counters().unmatched).toBe(1);
    expect(h.connector.agent('1001')?.decision).toMatchObject({ unmatched: true, rule: null });
    await h.connector.stop();
  });

  it('AfterCallWork as the first event keeps the stored presence, but never Available', async () => {
    const stored = new Map<string, GcUserState>([
      ['user-1001', { presence: 'Meal', routingStatus: 'OffQueue' }],
      ['user-1002', { presence: 'Available', routingStatus: 'OffQueue' }],
    ]);
    const h = await harness({ stored, keepFallback: 'Busy' });
    h.source.set('1001', 'AfterCallWork');
    h.source.set('1002', 'AfterCallWork');
    h.source.set('1003', 'AfterCallWork');
    await started(h);
    expect(h.writer.desiredOf('user-1001')).toEqual({ presence: 'Meal', routingStatus: 'Interacting' });
    expect(h.writer.desiredOf('user-1002')).toEqual({ presence: 'Busy', routingStatus: 'Interacting' });
    expect(h.writer.desiredOf('user-1003')).toEqual({ presence: 'Busy', routingStatus: 'Interacting' });
    await h.connector.stop();
  });

  it('AfterCallWork after Ready keeps OnQueue', async () => {
    const h = await started(await harness());
    h.source.update('1001', 'Ready', 'Inbound');
    h.source.update('1001', 'AfterCallWork');
    expect(h.writer.desiredOf('user-1001')).toEqual({ presence: 'OnQueue', routingStatus: 'Interacting' });
    await h.connector.stop();
  });
});

describe('connector: start-up while dependencies are down', () => {
  it('retries identity and statistics with backoff, reports not ready meanwhile, and never throws', async () => {
    let identityFailures = 2;
    const h = await harness({
      identity: async (agentIds) => {
        if (identityFailures > 0) {
          identityFailures -= 1;
          throw new Error('GC unreachable');
        }
        return new Map(agentIds.map((agentId) => [agentId, userOf(agentId)]));
      },
    });
    h.source.failOpen = 1;
    h.source.set('1001', 'Ready');
    await h.connector.start();
    expect(h.connector.readiness().gcTokenValid).toBe(false);
    await h.connector.ready();
    expect(identityFailures).toBe(0);
    expect(h.writer.desiredOf('user-1001')).toEqual({ presence: 'OnQueue', routingStatus: 'Idle' });
    expect(logLines.filter((line) => String(line['msg']).endsWith('failed; retrying'))).toHaveLength(3);
    await h.connector.stop();
  });
});

describe('connector: resync', () => {
  it('reads GC state in bulk on start and lets the writer send only users whose GC state differs', async () => {
    const reads: string[][] = [];
    const gcState: GcStateReader = {
      read: async (userIds) => {
        reads.push([...userIds]);
        return new Map([
          ['user-1001', { presence: 'OnQueue', routingStatus: 'Idle' }],
          ['user-1002', { presence: 'Available', routingStatus: 'NotResponding' }],
        ]);
      },
    };
    const stored = new Map<string, GcUserState>([
      ['user-1001', { presence: 'OnQueue', routingStatus: 'Idle' }],
      ['user-1002', { presence: 'Busy', routingStatus: 'OffQueue' }],
    ]);
    const h = await harness({ gcState, stored });
    h.source.set('1001', 'Ready');
    h.source.set('1002', 'NotReady');
    await started(h);
    expect(reads).toEqual([['user-1001', 'user-1002', 'user-1003']]);
    // 1001: store and GC agree with the mapping → nothing to send. 1002: GC drifted from the store → resend.
    expect(h.writer.pending()).toEqual(['user-1002']);
    expect(h.writer.log.filter((entry) => entry.op === 'seed' && entry.userId === 'user-1002').at(-1)?.state).toEqual({
      presence: 'Available',
      routingStatus: 'Idle',
    });
    await h.connector.stop();
  });

  it('watches GC notifications before the start-up bulk read, and reads anyway when the watch fails', async () => {
    // Drift made between the start-up read and the first subscription was never repaired: watch first, then read.
    for (const watchFails of [false, true]) {
      const order: string[] = [];
      const gcState: GcStateReader = {
        read: async (userIds) => {
          order.push(`read ${userIds.join(',')}`);
          return new Map();
        },
      };
      const watchBeforeRead = async (): Promise<void> => {
        order.push('watch');
        if (watchFails) throw new Error('channels not set up within 15 s');
      };
      const h = await harness({ gcState, watchBeforeRead, agents: ['1001'] });
      h.source.set('1001', 'Ready');
      await started(h);
      expect(order).toEqual(['watch', 'read user-1001']);
      expect(h.writer.desiredOf('user-1001')).toEqual({ presence: 'OnQueue', routingStatus: 'Idle' });
      expect(logLines.some((line) => line['msg'] === 'drift watch not in place before the start-up read of GC state; reading anyway')).toBe(watchFails);
      await h.connector.stop();
    }
  });

  it('a user whose write GC acknowledged while the start-up bulk read ran keeps that state: the read may predate the write', async () => {
    let time = 1_000;
    let h: Harness | undefined;
    const gcState: GcStateReader = {
      read: async () => {
        // EXAS's write of user-1001 (from an observation that came first) is acknowledged while the read is on its
        // way; the read still holds the state from before it.
        time += 10;
        h!.writer.setDesired('user-1001', { presence: 'OnQueue', routingStatus: 'Idle' });
        h!.ack('user-1001');
        time += 10;
        return new Map([
          ['user-1001', { presence: 'Offline', routingStatus: 'OffQueue' }],
          ['user-1002', { presence: 'Offline', routingStatus: 'OffQueue' }],
        ]);
      },
    };
    h = await harness({ gcState, now: () => time });
    h.source.set('1001', 'Ready');
    h.source.set('1002', 'Ready');
    await started(h);
    expect(h.writer.log.filter((entry) => entry.op === 'seed').map((entry) => entry.userId)).toEqual(['user-1002']);
    // 1001 is not written again; 1002, which GC holds as Offline, is.
    expect(h.writer.pending()).toEqual(['user-1002']);
    await h.connector.stop();
  });

  it('a field GC did not newly acknowledge while the start-up bulk read ran is taken from the read, even when the other field was', async () => {
    // Chaos (SIGKILL mid-batch): GC applied routing Communicating just before the kill, the store still said
    // Interacting; the restart wrote presence OnQueue while the read ran, so the whole user was skipped and GC
    // kept Communicating for good.
    let time = 1_000;
    let h: Harness | undefined;
    const gcState: GcStateReader = {
      read: async () => {
        time += 10;
        h!.writer.setDesired('user-1001', { presence: 'OnQueue', routingStatus: 'Interacting' });
        h!.ack('user-1001');
        time += 10;
        return new Map([['user-1001', { presence: 'Busy', routingStatus: 'Communicating' }]]);
      },
    };
    h = await harness({ gcState, now: () => time, agents: ['1001'], stored: new Map([['user-1001', { presence: 'Busy', routingStatus: 'Interacting' }]]) });
    h.source.set('1001', 'Ready', 'Outbound');
    await started(h);
    const seeds = h.writer.log.filter((entry) => entry.op === 'seed' && entry.userId === 'user-1001');
    expect(seeds.at(-1)).toMatchObject({ state: { presence: 'OnQueue', routingStatus: 'Communicating' } });
    expect(h.writer.pending()).toEqual(['user-1001']);
    await h.connector.stop();
  });

  it('a presence GC acknowledged while the start-up bulk read ran is not taken back from the read, though the routing status is still pending', async () => {
    // Presence first: the presence write is acknowledged during the read, the routing status is not yet; seeding
    // the read's older presence would make the writer send the presence again.
    let time = 1_000;
    let h: Harness | undefined;
    const gcState: GcStateReader = {
      read: async () => {
        time += 10;
        h!.writer.setDesired('user-1001', { presence: 'OnQueue', routingStatus: 'Idle' });
        h!.connector.handleFieldAcknowledged('user-1001', 'presence');
        time += 10;
        return new Map([['user-1001', { presence: 'Offline', routingStatus: 'OffQueue' }]]);
      },
    };
    h = await harness({ gcState, now: () => time, agents: ['1001'], stored: new Map([['user-1001', { presence: 'OnQueue', routingStatus: 'OffQueue' }]]) });
    h.source.set('1001', 'Ready');
    await started(h);
    const seeds = h.writer.log.filter((entry) => entry.op === 'seed' && entry.userId === 'user-1001');
    expect(seeds.at(-1)).toMatchObject({ state: { presence: 'OnQueue', routingStatus: 'OffQueue' } });
    await h.connector.stop();
  });

  it('after a Stat Server reconnect peeks every agent and converges to the current Engage states', async () => {
    const h = await started(await harness());
    h.source.connection({ state: 'disconnected', endpoint: 'primary', at: 1 });
    h.source.set('1001', 'NotReady', 'None', 'Training');
    h.source.connection({ state: 'connected', endpoint: 'backup', at: 2 });
    await settle();
    expect(h.source.calls).toContain('peek *');
    expect(h.writer.desiredOf('user-1001')).toEqual({ presence: 'Training', routingStatus: 'OffQueue' });
    expect(logLines.some((line) => line['msg'] === 'resync started' && line['reason'] === 'statserver-reconnect')).toBe(true);
    await h.connector.stop();
  });

  it('ends an outage on a write GC took for one field only, so readiness does not stay "GC unreachable"', async () => {
    const h = await harness();
    h.source.set('1001', 'Ready');
    await started(h);
    for (let i = 0; i < 3; i += 1) h.connector.handleFailed('user-1001', 'GcServerError: 503', true);
    expect(h.connector.readiness().gcReachable).toBe(false);
    h.connector.handleFieldAcknowledged('user-1001', 'presence');
    expect(h.connector.readiness().gcReachable).toBe(true);
    await h.connector.stop();
  });

  it('after a GC outage (writes failing, then succeeding) resyncs with a bulk read', async () => {
    let reads = 0;
    const h = await harness({ gcState: { read: async () => (reads += 1, new Map()) } });
    h.source.set('1001', 'Ready');
    await started(h);
    expect(reads).toBe(1);
    for (let i = 0; i < 3; i += 1) h.connector.handleFailed('user-1001', 'GcServerError: 503', true);
    // An outage is "GC unreachable", not a bad token.
    expect(h.connector.readiness()).toMatchObject({ gcReachable: false, gcTokenValid: true });
    h.ack('user-1001');
    await settle();
    expect(reads).toBe(2);
    expect(h.connector.readiness()).toMatchObject({ gcReachable: true, gcTokenValid: true });
    await h.connector.stop();
  });
});

describe('connector: rules reload', () => {
  it('a good file recomputes every agent; a bad file is rejected and the last good rules stay live', async () => {
    const h = await harness();
    h.source.set('1001', 'NotReady', 'None', 'Break');
    await started(h);
    const custom = DEFAULT_RULES.replace(/presence: Break\n/, 'presence: Busy\n');
    h.rulesText.value = custom;
    const good = await h.connector.reload();
    expect(good.ok).toBe(true);
    expect(h.writer.desiredOf('user-1001')).toEqual({ presence: 'Busy', routingStatus: 'OffQueue' });
    h.rulesText.value = 'rules: [';
    const bad = await h.connector.reload();
    expect(bad.ok).toBe(false);
    expect(h.connector.rules()?.hash).toBe((good as { hash: string }).hash);
    expect(h.connector.metricsSnapshot().rules).toMatchObject({ reloadSuccess: false, reloads: { success: 2, failure: 1 } });
    await h.connector.stop();
  });
});

describe('connector: scope changes', () => {
  it('agents entering scope are opened and synced; agents leaving are closed and left alone in GC', async () => {
    const h = await harness({ agents: ['1001', '1002'] });
    h.source.set('1001', 'Ready');
    h.source.set('1002', 'Ready');
    h.source.set('1003', 'NotReady', 'None', 'Meeting');
    await started(h);
    h.scope.value = ['1001', '1003'];
    await h.connector.refreshScope();
    expect(h.source.calls).toContain('close 1002');
    expect(h.source.calls).toContain('open 1003');
    expect(h.writer.log.some((entry) => entry.op === 'forget' && entry.userId === 'user-1002')).toBe(true);
    expect(h.writer.desiredOf('user-1003')).toEqual({ presence: 'Meeting', routingStatus: 'OffQueue' });
    expect(h.connector.agent('1002')).toBeUndefined();
    const setsFor1002 = h.writer.log.filter((entry) => entry.userId === 'user-1002' && entry.op === 'set').length;
    h.source.update('1002', 'LoggedOff');
    expect(h.writer.log.filter((entry) => entry.userId === 'user-1002' && entry.op === 'set')).toHaveLength(setsFor1002);
    expect(h.connector.syncedUsers().sort()).toEqual(['user-1001', 'user-1003']);
    await h.connector.stop();
  });
});

describe('connector: drift', () => {
  it('re-asserts the mapped state when someone changes presence in GC, and stops after 3 in 5 minutes', async () => {
    let clock = 0;
    const h = await harness({ now: () => clock });
    h.source.set('1001', 'Ready');
    await started(h);
    h.ack('user-1001');
    clock = 60_000;
    for (let i = 0; i < 4; i += 1) {
      h.connector.observeGc('user-1001', 'presence', 'Meal');
      h.ack('user-1001');
      clock += 1_000;
    }
    const seeds = h.writer.log.filter((entry) => entry.op === 'seed' && entry.state?.presence === 'Meal');
    expect(seeds).toHaveLength(3);
    expect(h.connector.counters()).toMatchObject({ driftDetected: 4, driftRepaired: 3, driftCapped: 1 });
    const driftLines = logLines.filter((line) => String(line['msg']).startsWith('drift'));
    expect(driftLines).toHaveLength(4);
    expect(driftLines[0]).toMatchObject({ agentId: '1001', userId: 'user-1001', part: 'presence', expected: 'OnQueue', observed: 'Meal' });
    await h.connector.stop();
  });

  it('ignores the echo of its own earlier write and notifications that agree', async () => {
    let clock = 0;
    const h = await harness({ now: () => clock });
    h.source.set('1001', 'NotReady');
    await started(h);
    clock = 1_000;
    h.source.update('1001', 'Ready');
    h.connector.observeGc('user-1001', 'presence', 'Busy');
    h.connector.observeGc('user-1001', 'presence', 'OnQueue');
    h.connector.observeGc('user-1001', 'routingStatus', 'Idle');
    expect(h.connector.counters().driftDetected).toBe(0);
    await h.connector.stop();
  });

  it('a user whose agent state is unknown is not defended against changes in GC', async () => {
    const h = await harness();
    h.source.set('1001', 'Ready');
    await started(h);
    h.source.emit({ kind: 'unknown', agentId: '1001', reason: 'invalid', at: 9 });
    h.connector.observeGc('user-1001', 'presence', 'Meal');
    expect(h.connector.counters().driftDetected).toBe(0);
    expect(h.writer.log.some((entry) => entry.op === 'seed')).toBe(false);
    await h.connector.stop();
  });

  it('with policy report, drift is logged and counted but not re-asserted', async () => {
    const h = await harness({ drift: { policy: 'report', maxReasserts: 3, windowMs: 300_000, echoWindowMs: 30_000 } });
    h.source.set('1001', 'Ready');
    await started(h);
    h.connector.observeGc('user-1001', 'routingStatus', 'OffQueue');
    expect(h.writer.log.some((entry) => entry.op === 'seed')).toBe(false);
    expect(h.connector.metricsSnapshot().drift).toEqual({ detected: 1, repaired: 0 });
    await h.connector.stop();
  });
});

describe('connector: operator surface', () => {
  it('pause and resume reach the writer; agent views, summary and metrics describe the agents', async () => {
    const h = await harness();
    h.source.set('1001', 'Ready');
    h.source.set('1002', 'NotReady');
    await started(h);
    h.ack('user-1001');
    h.connector.pause();
    expect(h.connector.readiness().paused).toBe(true);
    h.connector.resume();
    expect(h.writer.paused).toBe(false);
    expect(h.connector.agent('1001')).toMatchObject({
      userId: 'user-1001',
      syncStatus: 'in-sync',
      desired: { presence: 'OnQueue', routingStatus: 'Idle' },
      acknowledged: { presence: 'OnQueue', routingStatus: 'Idle' },
      decision: { rule: { name: 'ready-idle' } },
    });
    expect(h.connector.agents({ status: 'pending', offset: 0, limit: 10 }).items.map((a) => a.agentId)).toEqual(['1002']);
    const summary = h.connector.summary();
    expect(summary.agents).toEqual({ total: 3, bySyncStatus: { 'in-sync': 1, pending: 1, unknown: 1, error: 0 } });
    expect(summary.recentChanges.map((c) => c.agentId).sort()).toEqual(['1001', '1002']);
    expect(h.connector.metrics().agents.byEngageState).toEqual({ Ready: 1, NotReady: 1, Unknown: 1 });
    expect([...(h.connector.liveAgents?.() ?? [])].map((a) => a.agentId)).toEqual(['1001', '1002']);
    await h.connector.stop();
  });

  it('saves acknowledged states to the store', async () => {
    const h = await harness();
    h.source.set('1001', 'Ready');
    await started(h);
    h.ack('user-1001');
    await h.connector.saveStore();
    expect([...h.saved[0]!.entries()]).toEqual([['user-1001', { presence: 'OnQueue', routingStatus: 'Idle' }]]);
    await h.connector.stop();
  });

  it('stop unsubscribes: later Stat Server updates are ignored', async () => {
    const h = await harness();
    h.source.set('1001', 'Ready');
    await started(h);
    await h.connector.stop();
    const before = h.writer.log.length;
    h.source.update('1001', 'LoggedOff');
    expect(h.writer.log).toHaveLength(before);
    expect(h.source.calls).toContain('stop');
  });
});
