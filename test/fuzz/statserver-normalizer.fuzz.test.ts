/**
 * Fuzz target: the Stat Server normalizer and the envelopes around it. Whatever a Statistics API update, a
 * peek answer or a bridge frame carries, the readers never throw; a fold is a snapshot in DESIGN.md vocabulary
 * or "unknown" with a reason; and an action code EXAS cannot name makes the agent unknown, never a guess.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_NORMALIZER_OPTIONS,
  foldAgentSnapshot,
  parseAgentStatus,
  readBridgeMessages,
  readServiceState,
  readStatisticItems,
  type FoldResult,
  type UnknownKind,
} from '../../src/statserver/index.ts';
import { DN_ACTION_CODES } from '../../src/statserver/dn-actions.ts';
import { CALL_TYPES, ENGAGE_STATES } from '../../src/vocabulary.ts';
import { FUZZ_TIMEOUT_MS, fuzzParameters } from './profile.ts';

const UNKNOWN_KINDS: readonly UnknownKind[] = ['unparsable', 'unknown-code', 'no-state', 'invalid', 'incomplete', 'closed'];
const KNOWN_CODES = Object.keys(DN_ACTION_CODES).map(Number);
const ACTION_NAMES = [...Object.values(DN_ACTION_CODES), 'Monitored', 'NotMonitored', 'LoggedIn', 'OnHook', 'AgentLogin', 'AgentLogout'];
/** Codes the DnActions table does not evidence (statserver/README.md §2): EXAS must not guess their meaning. */
const UNKNOWN_CODES = [0, 1, 2, 3, 10, 11, 12, 14, 15, 24, 25, 99, -1, 2 ** 31];

/** A key in the renderings Stat Server payloads come in (camelCase API, PascalCase PSDK, odd case). */
const spelled = (name: string): fc.Arbitrary<string> =>
  fc.constantFrom(name, name.charAt(0).toUpperCase() + name.slice(1), name.toUpperCase(), name.toLowerCase());

/** An `AgentStatus`-shaped tree whose leaves are sometimes wrong in type, so every branch of the reader runs. */
function agentTree(action: fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> {
  const json = fc.jsonValue({ maxDepth: 2 });
  const reasons = fc.oneof(
    fc.dictionary(fc.constantFrom('ReasonCode', 'reasonCode', 'Reason', 'x'), fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.double(), fc.constant(null), json)),
    fc.array(fc.record({ key: fc.oneof(fc.constantFrom('ReasonCode', 'Other'), json), value: json }), { maxLength: 3 }),
    json,
  );
  const actionObject = fc.oneof(
    fc.tuple(spelled('action'), action, spelled('reasons'), reasons).map(([k, v, rk, rv]) => ({ [k]: v, [rk]: rv })),
    json,
  );
  const dn = fc.oneof(
    fc.record(
      {
        dnId: fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), json),
        status: fc.oneof(action, json),
        actions: fc.oneof(fc.array(actionObject, { maxLength: 4 }), json),
      },
      { requiredKeys: [] },
    ),
    json,
  );
  const place = fc.oneof(
    fc.record({ placeId: fc.oneof(fc.string({ maxLength: 6 }), fc.constant(''), fc.constant(null), json), dnStatuses: fc.oneof(fc.array(dn, { maxLength: 3 }), json) }, { requiredKeys: [] }),
    json,
  );
  return fc.record(
    {
      agentId: fc.oneof(fc.string({ maxLength: 6 }), json),
      status: fc.oneof(action, json),
      time: fc.oneof(fc.integer(), fc.double(), fc.constant(1_764_500_000), json),
      place,
    },
    { requiredKeys: [] },
  );
}

const anyAction = fc.oneof(fc.constantFrom(...ACTION_NAMES), fc.constantFrom(...KNOWN_CODES), fc.integer({ min: -5, max: 40 }), fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }));
const payload = fc.oneof(agentTree(anyAction), fc.jsonValue(), fc.anything());
const reading = fc.option(fc.record({ value: payload, at: fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.double()) }), { nil: undefined });

function checkFold(result: FoldResult, agentId: string): void {
  if (result.kind === 'snapshot') {
    expect(result.snapshot.agentId).toBe(agentId);
    expect(ENGAGE_STATES).toContain(result.snapshot.state);
    expect(CALL_TYPES).toContain(result.snapshot.callType);
    expect(result.snapshot.reason === null || (typeof result.snapshot.reason === 'string' && result.snapshot.reason !== '')).toBe(true);
    if (result.snapshot.state === 'LoggedOff') expect([result.snapshot.callType, result.snapshot.reason]).toEqual(['None', null]);
  } else {
    expect(result.kind).toBe('unknown');
    expect(UNKNOWN_KINDS).toContain(result.reason);
    expect(typeof result.detail).toBe('string');
  }
}

describe('Stat Server normalizer fuzz', () => {
  it(
    'parseAgentStatus and foldAgentSnapshot never throw on any payload and answer in the vocabulary or "unknown"',
    () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 8 }), reading, reading, (agentId, currentState, reasons) => {
          if (currentState) {
            const parsed = parseAgentStatus(currentState.value);
            if (!parsed.ok) expect(UNKNOWN_KINDS).toContain(parsed.kind);
          }
          const result = foldAgentSnapshot(agentId, currentState, reasons);
          checkFold(result, agentId);
          // Pure: the same readings give the same answer.
          expect(foldAgentSnapshot(agentId, currentState, reasons)).toEqual(result);
        }),
        fuzzParameters(3000, 9201),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'an action code the DnActions table does not evidence makes the agent unknown, never a guessed state',
    () => {
      const wellFormed = fc.record({
        agentId: fc.constant('1001'),
        status: fc.constantFrom(...KNOWN_CODES),
        place: fc.record({
          placeId: fc.constant('Place_1001'),
          dnStatuses: fc.array(
            fc.record({ dnId: fc.constant('7001'), status: fc.constantFrom(...KNOWN_CODES), actions: fc.array(fc.record({ action: fc.constantFrom(...KNOWN_CODES, ...ACTION_NAMES) }), { maxLength: 3 }) }),
            { minLength: 1, maxLength: 3 },
          ),
        }),
      });
      fc.assert(
        fc.property(wellFormed, fc.constantFrom(...UNKNOWN_CODES), fc.nat(), fc.nat(), (tree, code, dnPick, actionPick) => {
          const dns = tree.place.dnStatuses;
          const dn = dns[dnPick % dns.length]!;
          dn.actions.splice(actionPick % (dn.actions.length + 1), 0, { action: code });
          const result = foldAgentSnapshot('1001', undefined, { value: tree, at: 1_764_500_000_000 });
          expect(result).toMatchObject({ kind: 'unknown', reason: 'unknown-code' });
        }),
        fuzzParameters(500, 9202),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'Statistics API envelopes (updates, peeks, service state) of any shape are read without a throw',
    () => {
      const item = fc.record(
        { statisticId: fc.oneof(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })), subscriptionId: fc.jsonValue({ maxDepth: 1 }), objectId: fc.jsonValue({ maxDepth: 1 }), timestamp: fc.oneof(fc.double(), fc.integer(), fc.jsonValue({ maxDepth: 1 })), value: payload, valid: fc.jsonValue({ maxDepth: 0 }), state: fc.constantFrom('Invalid', 'Valid', 1) },
        { requiredKeys: [] },
      );
      const message = fc.oneof(fc.record({ statistics: fc.oneof(fc.array(item, { maxLength: 4 }), fc.jsonValue()) }), fc.record({ data: fc.oneof(fc.record({ statistics: fc.array(item, { maxLength: 4 }) }), fc.jsonValue()) }), fc.anything());
      fc.assert(
        fc.property(message, fc.constantFrom('ms' as const, 's' as const, 'auto' as const), (body, unit) => {
          const { items, skipped } = readStatisticItems(body, unit, 1_764_500_000_000);
          expect(Number.isInteger(skipped) && skipped >= 0).toBe(true);
          for (const read of items) {
            expect(typeof read.statisticId).toBe('string');
            expect(typeof read.at).toBe('number');
            expect(typeof read.invalid).toBe('boolean');
          }
          expect([null, 'Available', 'Unavailable', 'Unknown']).toContain(readServiceState(body));
        }),
        fuzzParameters(2000, 9203),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'bridge frames of any text or JSON are read into known message kinds, malformed parts as garbage',
    () => {
      const bridgeMessage = fc.record(
        {
          message: fc.oneof(fc.constantFrom('EventInfo', 'EventStatisticInvalid', 'EventStatisticValid', 'SnapshotBegin', 'SnapshotEnd', 'PeekDone', 'Disconnected', 'Other'), fc.jsonValue({ maxDepth: 0 })),
          Statistic: fc.oneof(fc.constantFrom('CurrentState', 'CurrentStateReason', 'CurrentStateReasons'), fc.jsonValue({ maxDepth: 0 })),
          ObjectId: fc.oneof(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 0 })),
          StateValue: payload,
          Timestamp: fc.oneof(fc.double(), fc.jsonValue({ maxDepth: 0 })),
          id: fc.jsonValue({ maxDepth: 0 }),
          reason: fc.jsonValue({ maxDepth: 0 }),
        },
        { requiredKeys: [] },
      );
      const frame = fc.oneof(
        fc.string({ maxLength: 200, unit: 'binary' }),
        fc.oneof(bridgeMessage, fc.array(bridgeMessage, { maxLength: 4 }), fc.jsonValue()).map((value) => JSON.stringify(value) ?? 'null'),
      );
      const kinds = ['info', 'invalid', 'valid', 'snapshot-begin', 'snapshot-end', 'peek-done', 'disconnected', 'garbage'];
      fc.assert(
        fc.property(frame, (text) => {
          const messages = readBridgeMessages(text, DEFAULT_NORMALIZER_OPTIONS.timestampUnit, 1_764_500_000_000);
          // One message per array element (an empty array is an empty frame), one for anything else.
          if (text.trim() !== '[]') expect(messages.length).toBeGreaterThan(0);
          for (const read of messages) {
            expect(kinds).toContain(read.kind);
            if ('agentId' in read) expect(read.agentId).not.toBe('');
          }
        }),
        fuzzParameters(2000, 9204),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
