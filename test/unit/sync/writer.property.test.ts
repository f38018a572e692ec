import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WriteOutcome } from '../../../src/gc/ports.ts';
import { setLogSink, type LogSink } from '../../../src/log.ts';
import { createWriter, type Writer } from '../../../src/sync/writer/index.ts';
import { ROUTING_STATUSES, type GcUserState } from '../../../src/vocabulary.ts';
import { FakeBudget, FakeClock, FakeGc, FakeHttpError, FakeTarget, runUntilIdle, type RecordedCall } from './fakes.ts';

let previousSink: LogSink;
beforeAll(() => {
  previousSink = setLogSink(() => undefined);
});
afterAll(() => {
  setLogSink(previousSink);
});

const USERS = ['a', 'b', 'c', 'd', 'e', 'f'];

type Step =
  | { kind: 'set'; user: number; newPresence: boolean; routing: number }
  | { kind: 'advance'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), user: fc.nat(USERS.length - 1), newPresence: fc.boolean(), routing: fc.nat(ROUTING_STATUSES.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 5_000 }) }) },
);

type Outcome = 'ok' | 'retryable' | 'missing' | '429' | '503' | 'timeout';
const outcome = fc.constantFrom<Outcome>('ok', 'ok', 'retryable', 'missing', '429', '503', 'timeout');

function answer(kind: Outcome, call: RecordedCall): WriteOutcome[] | Error | undefined {
  switch (kind) {
    case 'ok':
      return undefined;
    case 'retryable':
      return call.items.map((item, index) =>
        index % 2 === 0 ? { userId: item.userId, ok: true as const } : { userId: item.userId, ok: false as const, retryable: true, message: 'busy' },
      );
    case 'missing':
      return call.items.slice(1).map((item) => ({ userId: item.userId, ok: true as const }));
    case '429':
      return new FakeHttpError(429, 2);
    case '503':
      return new FakeHttpError(503);
    case 'timeout':
      return Object.assign(new Error('request timed out'), { name: 'TimeoutError' });
  }
}

describe('writer properties', () => {
  it('converges every user to its last desired state, never sends an older version after a newer one, and writes presence first', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 80 }),
        fc.array(outcome, { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 30 }),
        fc.integer({ min: 0, max: 300 }),
        async (steps, outcomes, targetCount, maxBatchSize, budgetLimit, latencyMs) => {
          const clock = new FakeClock();
          const gc = new FakeGc();
          let chaos = true;
          let writer: Writer | undefined;
          const problems: string[] = [];
          const lastSentVersion = new Map<string, number>();
          // Presence requests of each user GC answered with anything but success since its last successful one.
          const presenceFailuresSinceOk = new Map<string, number>();
          const onWrite = (endpoint: 'presence' | 'routing', items: ReadonlyArray<{ userId: string; value: string }>): void => {
            for (const item of items) {
              if (endpoint === 'routing') {
                // Presence first: when a routing-status request is assembled, GC holds the user's desired presence,
                // unless that presence write failed three times (then routing may go, and presence keeps retrying).
                const desiredPresence = writer!.get(item.userId)?.desired?.presence;
                const failures = presenceFailuresSinceOk.get(item.userId) ?? 0;
                if (gc.presence.get(item.userId) !== desiredPresence && failures < 3) {
                  problems.push(`${item.userId} routing ${item.value} sent before presence ${desiredPresence} was acknowledged`);
                }
              }
              const view = writer!.get(item.userId);
              const desired = view?.desired;
              const current = endpoint === 'presence' ? desired?.presence : desired?.routingStatus;
              // Only the newest desired state is ever sent.
              if (current !== item.value) problems.push(`${item.userId} sent ${item.value}, newest desired is ${current}`);
              const previous = lastSentVersion.get(item.userId) ?? 0;
              if (view !== undefined && view.version < previous) problems.push(`${item.userId} sent v${view.version} after v${previous}`);
              lastSentVersion.set(item.userId, Math.max(previous, view?.version ?? 0));
            }
          };
          const targets = Array.from(
            { length: targetCount },
            (_, index) =>
              new FakeTarget(clock, {
                name: `t${index}`,
                gc,
                maxBatchSize,
                latencyMs,
                onWrite,
                budget: new FakeBudget(clock, budgetLimit),
                respond: (call, callIndex) => {
                  const reply = chaos ? answer(outcomes[callIndex % outcomes.length]!, call) : undefined;
                  if (call.endpoint === 'presence') {
                    const succeeded = new Set(
                      reply === undefined ? call.items.map((item) => item.userId) : reply instanceof Error ? [] : reply.filter((o) => o.ok).map((o) => o.userId),
                    );
                    for (const { userId } of call.items) {
                      presenceFailuresSinceOk.set(userId, succeeded.has(userId) ? 0 : (presenceFailuresSinceOk.get(userId) ?? 0) + 1);
                    }
                  }
                  return reply;
                },
              }),
          );
          writer = createWriter({
            targets,
            now: clock.now,
            timers: clock.timers,
            random: () => 0.3,
            baseRetryDelayMs: 500,
            maxRetryDelayMs: 8_000,
          });
          writer.start();
          const last = new Map<string, GcUserState>();
          let presenceCounter = 0;
          for (const item of steps) {
            if (item.kind === 'advance') {
              await clock.advance(item.ms);
              continue;
            }
            const userId = USERS[item.user]!;
            const previous = last.get(userId);
            const presence = item.newPresence || previous === undefined ? `P${++presenceCounter}` : previous.presence;
            const desired = { presence, routingStatus: ROUTING_STATUSES[item.routing]! };
            writer.setDesired(userId, desired);
            last.set(userId, desired);
          }
          chaos = false;
          await runUntilIdle(clock, writer);
          expect(problems).toEqual([]);
          // At most one request open per user and field at once (FakeGc keys open requests by endpoint and user).
          expect(gc.violations).toEqual([]);
          // Presence first: no user ever has a presence and a routing-status request open at once.
          expect(gc.userOverlaps).toEqual([]);
          for (const [userId, desired] of last) {
            expect(writer.get(userId)!.acknowledged).toEqual(desired);
            expect(gc.presence.get(userId)).toBe(desired.presence);
            expect(writer.get(userId)!.acknowledgedVersion).toBe(writer.get(userId)!.version);
            // GC may still hold an older routing status only when the newest desired one equalled what was acknowledged.
            if (gc.routing.has(userId)) expect(gc.routing.get(userId)).toBe(desired.routingStatus);
          }
          for (const target of targets) expect(target.budget.maxInAnyWindow()).toBeLessThanOrEqual(budgetLimit);
          await writer.stop();
        },
      ),
      { numRuns: 150 },
    );
  });

  it('leaves no user stuck: after a non-retryable rejection a user is either converged or reported failed', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 60 }),
        fc.array(fc.constantFrom('ok', 'reject', '503'), { minLength: 1, maxLength: 10 }),
        async (steps, outcomes) => {
          const clock = new FakeClock();
          let chaos = true;
          const target = new FakeTarget(clock, {
            maxBatchSize: 3,
            latencyMs: 50,
            respond: (call, callIndex) => {
              if (!chaos) return undefined;
              const kind = outcomes[callIndex % outcomes.length];
              if (kind === '503') return new FakeHttpError(503);
              if (kind === 'reject') return call.items.map((item) => ({ userId: item.userId, ok: false as const, retryable: false, message: 'rejected' }));
              return undefined;
            },
          });
          const failedUsers = new Set<string>();
          const writer = createWriter({
            targets: [target],
            now: clock.now,
            timers: clock.timers,
            random: () => 0.9,
            onFailed: (userId, _error, retryable) => {
              if (!retryable) failedUsers.add(userId);
            },
          });
          writer.start();
          const last = new Map<string, GcUserState>();
          let presenceCounter = 0;
          for (const item of steps) {
            if (item.kind === 'advance') {
              await clock.advance(item.ms);
              continue;
            }
            const userId = USERS[item.user]!;
            const desired = { presence: `P${++presenceCounter}`, routingStatus: ROUTING_STATUSES[item.routing]! };
            writer.setDesired(userId, desired);
            last.set(userId, desired);
          }
          chaos = false;
          await runUntilIdle(clock, writer);
          expect(writer.stats()).toMatchObject({ pendingUsers: 0, inFlightUsers: 0, queueLength: 0 });
          for (const [userId, desired] of last) {
            const view = writer.get(userId)!;
            if (view.failed) {
              expect(failedUsers.has(userId)).toBe(true);
              expect(view.lastError).toBe('rejected');
            } else {
              expect(view.acknowledged).toEqual(desired);
            }
          }
          await writer.stop();
        },
      ),
      { numRuns: 100 },
    );
  });
});
