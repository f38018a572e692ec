import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadRules, type RulesProgram } from '../../../src/rules/index.ts';
import { desiredFor, resolveKeep } from '../../../src/sync/desired-state.ts';
import { createDriftGuard } from '../../../src/sync/drift.ts';
import { askInOrder } from '../../helpers/drift-asks.ts';
import { diffScope, parseScopeText } from '../../../src/sync/scope.ts';
import { parseUserTopic, planWatch, topicsFor } from '../../../src/sync/watch-plan.ts';
import { createResyncTracker } from '../../../src/sync/resync.ts';
import { createGcHealth } from '../../../src/sync/gc-health.ts';
import type { AgentSnapshot } from '../../../src/vocabulary.ts';

function program(text = readFileSync('exas.rules.yaml', 'utf8')): RulesProgram {
  const { program, errors } = loadRules(text, 'exas.rules.yaml');
  if (program === null) throw new Error(JSON.stringify(errors));
  return program;
}

const snap = (state: AgentSnapshot['state'], callType: AgentSnapshot['callType'] = 'None', reason: string | null = null): AgentSnapshot => ({
  agentId: '1001',
  state,
  callType,
  reason,
  at: 0,
});

describe('desired state of one agent', () => {
  const rules = program();

  it('NotReady with reason Break and no call maps to Break / OffQueue', () => {
    expect(desiredFor(snap('NotReady', 'None', 'Break'), rules, {}, 'Busy')).toMatchObject({
      kind: 'set',
      desired: { presence: 'Break', routingStatus: 'OffQueue' },
    });
  });

  it('AfterCallWork keeps the presence EXAS last asked for (OnQueue after Ready)', () => {
    const outcome = desiredFor(snap('AfterCallWork'), rules, { desired: 'OnQueue', acknowledged: 'Busy' }, 'Busy');
    expect(outcome).toMatchObject({ kind: 'set', desired: { presence: 'OnQueue', routingStatus: 'Interacting' }, keptFrom: 'desired' });
  });

  it('keep with nothing desired yet resolves to the acknowledged presence', () => {
    expect(resolveKeep({ acknowledged: 'Meal' }, 'Busy')).toEqual({ presence: 'Meal', from: 'acknowledged' });
  });

  it('keep never resolves to Available: the fallback is used instead', () => {
    const outcome = desiredFor(snap('AfterCallWork'), rules, { acknowledged: 'Available' }, 'Busy');
    expect(outcome).toMatchObject({ kind: 'set', desired: { presence: 'Busy', routingStatus: 'Interacting' }, keptFrom: 'fallback' });
  });

  it('keep as the first event after start uses the configured fallback', () => {
    expect(desiredFor(snap('AfterCallWork'), rules, {}, 'Away')).toMatchObject({ desired: { presence: 'Away' }, keptFrom: 'fallback' });
  });

  it('an unmatched decision leaves the user unchanged', () => {
    const narrow = program('version: 1\nrules:\n  - name: ready\n    when: { state: Ready, callType: None }\n    presence: OnQueue\n    routingStatus: Idle\n');
    expect(desiredFor(snap('NotReady'), narrow, {}, 'Busy')).toMatchObject({ kind: 'unmatched' });
  });
});

describe('drift guard', () => {
  function guard(policy: 're-assert' | 'report' = 're-assert') {
    let now = 0;
    const drift = createDriftGuard({ policy, maxReasserts: 3, windowMs: 300_000, echoWindowMs: 30_000, now: () => now });
    return { drift, ask: askInOrder(drift, () => now), advance: (ms: number) => (now += ms) };
  }
  const desired = { presence: 'OnQueue', routingStatus: 'Idle' } as const;

  it('a notification equal to the desired state is in sync', () => {
    expect(guard().drift.judge('u1', 'presence', 'OnQueue', desired).kind).toBe('in-sync');
  });

  it('ignores the late echo of a state EXAS asked for a moment ago', () => {
    const { drift, ask, advance } = guard();
    ask('u1', { presence: 'Busy', routingStatus: 'OffQueue' });
    ask('u1', desired);
    advance(2_000);
    expect(drift.judge('u1', 'presence', 'Busy', desired).kind).toBe('echo');
    expect(drift.stats().detected).toBe(0);
  });

  it('remembers the last four asked states as echoes; a fifth-newest one is someone else again', () => {
    const { drift, ask, advance } = guard();
    const asked = ['Meal', 'Break', 'Training', 'Meeting', 'Busy'].map((presence) => ({ presence, routingStatus: 'OffQueue' }) as const);
    for (const state of asked) ask('u1', state);
    ask('u1', desired);
    advance(1_000);
    const verdicts = asked.map((state) => drift.judge('u1', 'presence', state.presence, desired).kind);
    expect(verdicts).toEqual(['drift', 'drift', 'echo', 'echo', 'echo']);
  });

  it('forgets users whose changes left the echo window, with the same verdicts as if it remembered them', () => {
    const { drift, ask, advance } = guard();
    const onBreak = { presence: 'Break', routingStatus: 'OffQueue' } as const;
    for (let user = 0; user < 1_000; user += 1) {
      ask(`u${user}`, onBreak);
      ask(`u${user}`, desired);
    }
    expect(drift.stats().remembered).toBe(1_000);
    // Within the echo window the older value is still an echo.
    advance(29_000);
    expect(drift.judge('u1', 'presence', 'Break', desired).kind).toBe('echo');
    advance(2_000);
    // A user's only ask is not remembered (it is the desired state itself); the sweep dropped the rest.
    ask('late', desired);
    expect(drift.stats().remembered).toBe(0);
    // Outside it, the older value is someone else's change, counted against the cap as before.
    expect(drift.judge('u2', 'presence', 'Break', desired)).toMatchObject({ kind: 'drift', action: 're-assert' });
    // A user re-asserted lately is kept until the cap's window has passed; an ask after one outside the echo
    // window is again the only one that matters.
    advance(60_000);
    ask('late', onBreak);
    expect(drift.stats().remembered).toBe(1);
    ask('late', desired);
    expect(drift.stats().remembered).toBe(2);
    advance(241_000);
    ask('late', onBreak);
    expect(drift.stats().remembered).toBe(0);
  });

  it("remembers nobody for a resync's single asks, and still knows an echo of the ask before a change", () => {
    const { drift, ask, advance } = guard();
    const onBreak = { presence: 'Break', routingStatus: 'OffQueue' } as const;
    for (let user = 0; user < 1_000; user += 1) ask(`u${user}`, onBreak);
    expect(drift.stats().remembered).toBe(0);
    advance(5_000);
    ask('u7', desired);
    expect(drift.stats().remembered).toBe(1);
    expect(drift.judge('u7', 'presence', 'Break', desired).kind).toBe('echo');
    expect(drift.judge('u8', 'presence', 'Meal', onBreak)).toMatchObject({ kind: 'drift', action: 're-assert' });
  });

  it('once GC acknowledged the current state, an older value EXAS once asked for is someone else again', () => {
    const { drift, ask, advance } = guard();
    ask('u1', { presence: 'Meal', routingStatus: 'OffQueue' });
    ask('u1', desired);
    drift.noteSettled('u1');
    advance(11_000);
    expect(drift.judge('u1', 'presence', 'Meal', desired)).toMatchObject({ kind: 'drift', action: 're-assert' });
  });

  it('a change someone else made is drift and is re-asserted', () => {
    const { drift } = guard();
    expect(drift.judge('u1', 'presence', 'Meal', desired)).toEqual({ kind: 'drift', action: 're-assert', expected: 'OnQueue', observed: 'Meal' });
  });

  it('caps re-asserts at 3 per user in 5 minutes, then only reports, then re-asserts again after the window', () => {
    const { drift, ask, advance } = guard();
    const actions = [];
    for (let i = 0; i < 5; i += 1) {
      const verdict = drift.judge('u1', 'presence', 'Meal', desired);
      actions.push(verdict.kind === 'drift' ? verdict.action : verdict.kind);
      advance(10_000);
    }
    expect(actions).toEqual(['re-assert', 're-assert', 're-assert', 'capped', 'capped']);
    expect(drift.judge('u2', 'presence', 'Meal', desired)).toMatchObject({ action: 're-assert' });
    advance(300_000);
    expect(drift.judge('u1', 'presence', 'Meal', desired)).toMatchObject({ action: 're-assert' });
  });

  it('one foreign change of both presence and routing status counts once against the cap', () => {
    const { drift, ask, advance } = guard();
    const actions = [];
    for (let change = 0; change < 4; change += 1) {
      for (const [part, observed] of [['presence', 'Meal'], ['routingStatus', 'OffQueue']] as const) {
        const verdict = drift.judge('u1', part, observed, desired);
        actions.push(verdict.kind === 'drift' ? verdict.action : verdict.kind);
        advance(50);
      }
      advance(10_000);
    }
    expect(actions).toEqual(['re-assert', 're-assert', 're-assert', 're-assert', 're-assert', 're-assert', 'capped', 'capped']);
  });

  it('with policy report, drift is reported and never re-asserted', () => {
    expect(guard('report').drift.judge('u1', 'routingStatus', 'OffQueue', desired)).toMatchObject({ kind: 'drift', action: 'report' });
  });

  it('a user EXAS has no desired state for is not defended', () => {
    expect(guard().drift.judge('u1', 'presence', 'Meal', undefined).kind).toBe('untracked');
  });
});

describe('scope', () => {
  it('says which agents entered and which left', () => {
    expect(diffScope(new Set(['1', '2', '3']), ['2', '3', '4'])).toEqual({ entered: ['4'], left: ['1'] });
  });

  it('reads one agent id a line, skipping comments, blanks and repeats', () => {
    expect(parseScopeText('# agents\n1001\n\n1002 # second\n1001\r\n')).toEqual(['1001', '1002']);
  });
});

describe('notification watch plan', () => {
  const users = (n: number) => Array.from({ length: n }, (_, i) => `u${i}`);

  it('puts two topics per user on a channel, up to 500 users a channel', () => {
    const plan = planWatch(users(1200), { clients: 1, channelsPerClient: 20, topicsPerChannel: 1000 });
    expect(plan.channels.map((c) => c.userIds.length)).toEqual([500, 500, 200]);
    expect(plan.bulkRead).toEqual([]);
    expect(topicsFor('u1')).toEqual(['v2.users.u1.presence', 'v2.users.u1.routingStatus']);
  });

  it('sends users beyond every channel of every client to bulk reads', () => {
    const plan = planWatch(users(25), { clients: 2, channelsPerClient: 2, topicsPerChannel: 10 });
    expect(plan.channels).toHaveLength(4);
    expect(plan.bulkRead).toHaveLength(5);
  });

  it('keeps watched users on their channel when scope changes', () => {
    const limits = { clients: 1, channelsPerClient: 3, topicsPerChannel: 4 };
    const first = planWatch(['a', 'b', 'c', 'd'], limits);
    const second = planWatch(['b', 'c', 'd', 'e'], limits, first);
    expect(second.channels[0]?.userIds).toEqual(['b', 'e']);
    expect(second.channels[1]?.userIds).toEqual(['c', 'd']);
  });

  it('reads the user and the part from a topic name', () => {
    expect(parseUserTopic('v2.users.abc-1.routingStatus')).toEqual({ userId: 'abc-1', part: 'routingStatus' });
    expect(parseUserTopic('channel.metadata')).toBeUndefined();
  });
});

describe('resync progress', () => {
  it('counts users settled until every one is, then completes once', () => {
    const pending = new Set(['u1', 'u2', 'u3', 'u4']);
    const tracker = createResyncTracker((id) => pending.has(id), () => 0);
    tracker.begin('start', ['u1', 'u2', 'u3', 'u4']);
    pending.delete('u1');
    expect(tracker.check()).toMatchObject({ settled: 1, total: 4, ratio: 0.25, done: false });
    expect(tracker.initialDone).toBe(false);
    pending.clear();
    expect(tracker.check()).toMatchObject({ settled: 4, done: true });
    expect(tracker.completed).toBe(1);
    expect(tracker.initialDone).toBe(true);
    expect(tracker.inProgress).toBe(false);
  });
});

describe('GC outage detection', () => {
  it('three retryable failures in a row mark GC down; the next success ends the outage once', () => {
    const health = createGcHealth(3);
    health.failure(true);
    health.failure(false);
    health.failure(true);
    expect(health.down).toBe(false);
    health.failure(true);
    expect(health.down).toBe(true);
    expect(health.success()).toBe(true);
    expect(health.success()).toBe(false);
    expect(health.outages).toBe(1);
  });
});

describe('impact preview of GC writes', () => {
  it('inject mode sends only the parts that differ, in the inject endpoints shapes', async () => {
    const { previewWrites } = await import('../../../src/sync/gc-adapters.ts');
    const preview = previewWrites('inject', () => undefined, () => 0);
    const requests = preview([{ userId: 'u1', from: { presence: 'OnQueue', routingStatus: 'Idle' }, to: { presence: 'OnQueue', routingStatus: 'Interacting' } }]);
    expect(requests).toEqual([
      {
        method: 'POST',
        path: '/api/v2/events/users/routingstatus',
        body: { userRoutingStatusEvents: [{ eventId: '<generated>', eventDateTime: '1970-01-01T00:00:00.000Z', agentId: 'u1', status: 'Interacting', sourceId: '<EXAS presence source id>' }] },
      },
    ]);
  });

  it('per-user mode cannot PUT Interacting, so it previews only the presence PATCH', async () => {
    const { previewWrites } = await import('../../../src/sync/gc-adapters.ts');
    const preview = previewWrites('per-user', () => undefined);
    const requests = preview([{ userId: 'u1', from: undefined, to: { presence: 'Busy', routingStatus: 'Interacting' } }]);
    expect(requests.map((request) => `${request.method} ${request.path}`)).toEqual(['PATCH /api/v2/users/u1/presences/purecloud']);
  });
});
