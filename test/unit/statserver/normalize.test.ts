import { describe, expect, it } from 'vitest';
import examples from './fixtures/examples.json' with { type: 'json' };
import {
  DEFAULT_NORMALIZER_OPTIONS,
  foldAgentSnapshot,
  parseAgentStatus,
  type FoldResult,
} from '../../../src/statserver/normalize.ts';
import { readServiceState, readStatisticItems } from '../../../src/statserver/messages.ts';

type Expected = { state: string; callType: string; reason: string | null };

/** What each example step means in DESIGN.md's vocabulary (its `_scenario` text). */
const EXPECTED_BY_STEP: Record<number, Expected> = {
  1: { state: 'Ready', callType: 'None', reason: null },
  2: { state: 'NotReady', callType: 'None', reason: 'Break' },
  3: { state: 'Ready', callType: 'Inbound', reason: null },
  4: { state: 'AfterCallWork', callType: 'None', reason: null },
  5: { state: 'Ready', callType: 'Internal', reason: null },
  6: { state: 'LoggedOff', callType: 'None', reason: null },
};

function snapshotOf(result: FoldResult): Expected {
  if (result.kind !== 'snapshot') throw new Error(`expected a snapshot, got unknown ${result.reason}: ${result.detail}`);
  const { state, callType, reason } = result.snapshot;
  return { state, callType, reason };
}

describe('normalizer on the Statistics API v3 examples (examples.json cometdUpdates)', () => {
  for (const update of examples.statisticsApiV3.cometdUpdates) {
    it(`step ${update._step}: ${update._scenario}`, () => {
      const { items, skipped } = readStatisticItems(update.data, 'auto', 0);
      expect(skipped).toBe(0);
      expect(items).toHaveLength(2);
      const [currentState, reasons] = items;
      const result = foldAgentSnapshot(
        'jdoe',
        { value: currentState!.value, at: currentState!.at },
        { value: reasons!.value, at: reasons!.at },
      );
      expect(snapshotOf(result)).toEqual(EXPECTED_BY_STEP[update._step]);
      expect(result.kind === 'snapshot' && result.snapshot.at).toBe(update.data.statistics[0]!.timestamp);
    });
  }

  it('the wrapped form {data: {statistics}} reads the same items', () => {
    const update = examples.statisticsApiV3.cometdUpdates[0]!;
    expect(readStatisticItems({ data: update.data }, 'auto', 0).items).toHaveLength(2);
  });

  it('the subscription response envelope reads its statistic items', () => {
    const response = examples.statisticsApiV3.createSubscription.response_envelope_documented;
    const { items } = readStatisticItems(response, 'auto', 0);
    expect(items.map((item) => item.statisticId)).toEqual(['stat-currentstate-jdoe']);
    expect(items[0]!.subscriptionId).toBeNull();
  });

  it('service state messages read Available and Unavailable, direct or wrapped', () => {
    const states = examples.statisticsApiV3.cometd.serviceStateExamples.map((message) => readServiceState(message.data));
    expect(states).toEqual(['Available', 'Unavailable']);
    expect(readServiceState({ data: { serviceState: 'Unavailable' } })).toBe('Unavailable');
    expect(readServiceState('garbage')).toBeNull();
  });
});

describe('normalizer on the PSDK EventInfo examples (examples.json psdkEventInfo)', () => {
  const events = examples.psdkEventInfo.events;
  const steps = [...new Set(events.map((event) => event._step))];
  for (const step of steps) {
    const pair = events.filter((event) => event._step === step);
    it(`step ${step}: ${pair[0]!._scenario}`, () => {
      const current = pair.find((event) => event.ReferenceId === 1001)!;
      const reasons = pair.find((event) => event.ReferenceId === 1002)!;
      const at = current.StateValue.Time * 1000;
      const result = foldAgentSnapshot('jdoe', { value: current.StateValue, at }, { value: reasons.StateValue, at });
      expect(snapshotOf(result)).toEqual(EXPECTED_BY_STEP[step]);
    });
  }
});

/** A DNAction-depth tree with the given DNs and actions (codes or names). */
function tree(dns: Array<{ dnId?: string; actions: Array<{ action: string | number; reasons?: unknown }> }>, placeId = 'Place_1') {
  return {
    agentId: 'a1',
    loginId: '6001',
    status: 4,
    time: 1718000000,
    place: {
      placeId,
      status: 4,
      time: 1718000000,
      dnStatuses: dns.map((dn, index) => ({ dnId: dn.dnId ?? `60${index}`, status: 4, time: 1718000000, actions: dn.actions })),
    },
  };
}

function fold(value: unknown, options = DEFAULT_NORMALIZER_OPTIONS): FoldResult {
  return foldAgentSnapshot('a1', undefined, { value, at: 5 }, options);
}

describe('state from DN actions', () => {
  it('NotReady with reason Meal on an internal call is NotReady / Internal / Meal (the call is the top status)', () => {
    const value = tree([{ actions: [{ action: 'NotReadyForNextCall', reasons: { ReasonCode: 'Meal' } }, { action: 'CallInternal' }] }]);
    expect(snapshotOf(fold(value))).toEqual({ state: 'NotReady', callType: 'Internal', reason: 'Meal' });
  });

  it('LoggedOut outranks AfterCallWork outranks NotReady outranks Ready across DNs', () => {
    const value = tree([
      { actions: [{ action: 'WaitForNextCall' }] },
      { actions: [{ action: 'NotReadyForNextCall', reasons: { ReasonCode: 'Chat' } }] },
      { actions: [{ action: 'AfterCallWork', reasons: { ReasonCode: 'Wrap' } }] },
    ]);
    expect(snapshotOf(fold(value))).toEqual({ state: 'AfterCallWork', callType: 'None', reason: 'Wrap' });
    const loggedOut = tree([{ actions: [{ action: 'AfterCallWork' }] }, { actions: [{ action: 23 }] }]);
    expect(snapshotOf(fold(loggedOut))).toEqual({ state: 'LoggedOff', callType: 'None', reason: null });
  });

  it('integer action codes map like names (8 + 22 → NotReady / Inbound)', () => {
    const value = tree([{ actions: [{ action: 8, reasons: { ReasonCode: 'Break' } }, { action: 22 }] }]);
    expect(snapshotOf(fold(value))).toEqual({ state: 'NotReady', callType: 'Inbound', reason: 'Break' });
    expect(snapshotOf(fold(tree([{ actions: [{ action: '9' }] }])))).toMatchObject({ state: 'AfterCallWork' });
  });

  it('ringing, dialing, on hold and unknown calls are Unknown unless the DN gives the type', () => {
    for (const action of ['CallRinging', 'CallDialing', 'CallOnHold', 'CallUnknown', 7, 6, 13, 18]) {
      expect(snapshotOf(fold(tree([{ actions: [{ action: 'WaitForNextCall' }, { action }] }]))).callType).toBe('Unknown');
    }
    const held = tree([{ actions: [{ action: 'WaitForNextCall' }, { action: 'CallOnHold' }, { action: 'CallOutbound' }] }]);
    expect(snapshotOf(fold(held)).callType).toBe('Outbound');
  });

  it('OffHook alone is not a call', () => {
    expect(snapshotOf(fold(tree([{ actions: [{ action: 'WaitForNextCall' }, { action: 'OffHook' }] }]))).callType).toBe('None');
  });

  it('a consult call is Consult; across DNs the higher-priority call type wins', () => {
    expect(snapshotOf(fold(tree([{ actions: [{ action: 4 }, { action: 19 }] }]))).callType).toBe('Consult');
    const twoCalls = tree([{ actions: [{ action: 4 }, { action: 'CallInternal' }] }, { actions: [{ action: 4 }, { action: 'CallInbound' }] }]);
    expect(snapshotOf(fold(twoCalls)).callType).toBe('Inbound');
  });

  it('neutral actions (Monitored, LoggedIn) are ignored, not unknown', () => {
    const value = tree([{ actions: [{ action: 'Monitored' }, { action: 'WaitForNextCall' }] }]);
    expect(snapshotOf(fold(value)).state).toBe('Ready');
  });

  it('an empty place id, no place or no DNs is LoggedOff', () => {
    expect(snapshotOf(fold(tree([{ actions: [{ action: 4 }] }], ''))).state).toBe('LoggedOff');
    expect(snapshotOf(fold({ agentId: 'a1', status: 23 })).state).toBe('LoggedOff');
    expect(snapshotOf(fold(tree([]))).state).toBe('LoggedOff');
  });

  it('the reason key is configurable and numeric reason values become strings', () => {
    const value = tree([{ actions: [{ action: 8, reasons: { ReasonCode: 'Break', AuxCode: 30 } }] }]);
    expect(snapshotOf(fold(value, { ...DEFAULT_NORMALIZER_OPTIONS, reasonKey: 'AuxCode' })).reason).toBe('30');
  });

  it('a reasons list given as [{key, value}] pairs is read too', () => {
    const value = tree([{ actions: [{ action: 8, reasons: [{ key: 'ReasonCode', value: 'Training' }] }] }]);
    expect(snapshotOf(fold(value)).reason).toBe('Training');
  });

  it('the reasons field name is configurable', () => {
    const value = tree([{ actions: [{ action: 8, extensions: { ReasonCode: 'Meeting' } } as never] }]);
    expect(snapshotOf(fold(value)).reason).toBeNull();
    expect(snapshotOf(fold(value, { ...DEFAULT_NORMALIZER_OPTIONS, reasonsFields: ['reasons', 'extensions'] })).reason).toBe('Meeting');
  });

  it('extra action codes can be configured for a deployment', () => {
    const value = tree([{ actions: [{ action: 1 }, { action: 4 }] }]);
    expect(fold(value)).toMatchObject({ kind: 'unknown', reason: 'unknown-code' });
    expect(snapshotOf(fold(value, { ...DEFAULT_NORMALIZER_OPTIONS, extraActionCodes: { '1': 'Monitored' } })).state).toBe('Ready');
  });
});

describe('garbage and unknown values mark the agent unknown, never crash', () => {
  const cases: Array<[string, unknown, string]> = [
    ['a string', 'hello', 'unparsable'],
    ['a number', 42, 'unparsable'],
    ['an array', [1, 2], 'unparsable'],
    ['a place that is a string', { status: 4, place: 'x' }, 'unparsable'],
    ['dnStatuses that is an object', { place: { placeId: 'p', dnStatuses: {} } }, 'unparsable'],
    ['a DN that is null', { place: { placeId: 'p', dnStatuses: [null] } }, 'unparsable'],
    ['actions that is a number', { place: { placeId: 'p', dnStatuses: [{ dnId: '1', actions: 3 }] } }, 'unparsable'],
    ['an unknown integer action code', tree([{ actions: [{ action: 11 }] }]), 'unknown-code'],
    ['an unknown action name', tree([{ actions: [{ action: 'Teleporting' }] }]), 'unknown-code'],
    ['an action that is an object', tree([{ actions: [{ action: { x: 1 } as never }] }]), 'unknown-code'],
    ['no state action on any DN', tree([{ actions: [{ action: 'CallInbound' }] }]), 'no-state'],
  ];
  for (const [name, value, kind] of cases) {
    it(`${name} → unknown (${kind})`, () => {
      expect(fold(value)).toMatchObject({ kind: 'unknown', agentId: 'a1', reason: kind });
    });
  }

  it('parseAgentStatus never throws on random JSON', () => {
    const values: unknown[] = [undefined, null, true, {}, { place: null }, { place: { dnStatuses: [{ actions: [null] }] } }, Symbol.for('x')];
    for (const value of values) expect(() => parseAgentStatus(value)).not.toThrow();
  });
});

describe('folding the two statistics', () => {
  const ready = tree([{ actions: [{ action: 4 }] }]);
  const dnStatusOnly = { agentId: 'a1', status: 22, place: { placeId: 'p', dnStatuses: [{ dnId: '1', status: 22 }] } };
  const loggedOut = { agentId: 'a1', status: 23, place: { placeId: '', dnStatuses: [] } };

  it('a DNStatus-only tree during a call cannot give the state: incomplete until the actions arrive', () => {
    expect(foldAgentSnapshot('a1', { value: dnStatusOnly, at: 1 }, undefined)).toMatchObject({ kind: 'unknown', reason: 'incomplete' });
    expect(foldAgentSnapshot('a1', undefined, undefined)).toMatchObject({ kind: 'unknown', reason: 'incomplete' });
  });

  it('a newer LoggedOut CurrentState wins over older actions', () => {
    const result = foldAgentSnapshot('a1', { value: loggedOut, at: 10 }, { value: ready, at: 5 });
    expect(snapshotOf(result).state).toBe('LoggedOff');
  });

  it('actions from a CurrentState opened at DNAction depth are used when newer', () => {
    const notReady = tree([{ actions: [{ action: 8, reasons: { ReasonCode: 'Meal' } }] }]);
    const result = foldAgentSnapshot('a1', { value: notReady, at: 10 }, { value: ready, at: 5 });
    expect(snapshotOf(result)).toEqual({ state: 'NotReady', callType: 'None', reason: 'Meal' });
  });

  it('the snapshot time is the newest of the two readings', () => {
    const result = foldAgentSnapshot('a1', { value: dnStatusOnly, at: 10 }, { value: ready, at: 20 });
    expect(result.kind === 'snapshot' && result.snapshot.at).toBe(20);
  });

  it('timestamps in seconds are read as seconds (auto unit)', () => {
    const { items } = readStatisticItems({ statistics: [{ statisticId: 's', timestamp: 1718000000, value: ready }] }, 'auto', 0);
    expect(items[0]!.at).toBe(1718000000000);
  });

  it('an item with a null value is read as invalid', () => {
    const { items } = readStatisticItems({ statistics: [{ statisticId: 's', value: null }, { statisticId: 't', value: ready, valid: false }] }, 'auto', 7);
    expect(items.map((item) => item.invalid)).toEqual([true, true]);
    expect(items[0]!.at).toBe(7);
  });

  it('items without a statisticId are skipped and counted', () => {
    expect(readStatisticItems({ statistics: [{ value: ready }, 3] }, 'auto', 0)).toMatchObject({ items: [], skipped: 2 });
  });
});

describe('bridge messages (PSDK EventInfo JSON)', async () => {
  const { readBridgeMessages } = await import('../../../src/statserver/bridge-messages.ts');
  it('every psdkEventInfo example, with ObjectId and Statistic added, folds like its Statistics API twin', () => {
    const events = examples.psdkEventInfo.events.map((event) => ({
      ...event,
      ObjectId: 'jdoe',
      Statistic: event.ReferenceId === 1001 ? 'CurrentState' : 'CurrentStateReason',
    }));
    const messages = readBridgeMessages(JSON.stringify(events), 'auto', 0);
    for (const step of Object.keys(EXPECTED_BY_STEP).map(Number)) {
      const pair = messages.filter((_, index) => events[index]!._step === step);
      const current = pair.find((message) => message.kind === 'info' && message.role === 'currentState');
      const reasons = pair.find((message) => message.kind === 'info' && message.role === 'reasons');
      if (current?.kind !== 'info' || reasons?.kind !== 'info') throw new Error('expected two EventInfo messages');
      expect(current.at).toBe(events.find((event) => event._step === step)!.StateValue.Time * 1000);
      expect(snapshotOf(foldAgentSnapshot('jdoe', current, reasons))).toEqual(EXPECTED_BY_STEP[step]);
    }
  });

  it('reads invalid/valid, snapshot markers, peek answers, and reports garbage', () => {
    const frame = JSON.stringify([
      { message: 'EventStatisticInvalid', ObjectId: 'a', Statistic: 'CurrentStateReasons' },
      { message: 'EventStatisticValid', ObjectId: 'a', Statistic: 'CurrentState' },
      { message: 'SnapshotBegin' },
      { message: 'SnapshotEnd' },
      { message: 'PeekDone', id: 'p1' },
      { message: 'Disconnected', reason: 'Stat Server gone' },
      { message: 'EventInfo', Statistic: 'Other', ObjectId: 'a' },
      { message: 'EventInfo', Statistic: 'CurrentState' },
      'x',
    ]);
    expect(readBridgeMessages(frame, 'auto', 9).map((message) => message.kind)).toEqual([
      'invalid', 'valid', 'snapshot-begin', 'snapshot-end', 'peek-done', 'disconnected', 'garbage', 'garbage', 'garbage',
    ]);
    expect(readBridgeMessages('{', 'auto', 0)).toEqual([{ kind: 'garbage', detail: 'frame is not JSON' }]);
  });
});
