import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { setLogSink, type LogSink } from '../../../src/log.ts';
import { createWriter, type WriterOptions } from '../../../src/sync/writer/index.ts';
import { createSlidingWindowBudget, GcNetworkError, NOT_SET_UP, PACED_BURST_SHARE, type GcWriteTarget, type WriteOutcome } from '../../../src/gc/index.ts';
import type { GcUserState } from '../../../src/vocabulary.ts';
import { FakeBudget, FakeClock, FakeGc, FakeHttpError, FakeTarget, runUntilIdle, settle, type FakeTargetOptions } from './fakes.ts';

const READY: GcUserState = { presence: 'OnQueue', routingStatus: 'Idle' };
const BUSY: GcUserState = { presence: 'Busy', routingStatus: 'OffQueue' };
const ON_CALL: GcUserState = { presence: 'OnQueue', routingStatus: 'Interacting' };
const AWAY: GcUserState = { presence: 'Away', routingStatus: 'OffQueue' };

const logLines: Array<Record<string, unknown>> = [];
let previousSink: LogSink;
beforeAll(() => {
  previousSink = setLogSink((line) => logLines.push(JSON.parse(line) as Record<string, unknown>));
});
afterAll(() => {
  setLogSink(previousSink);
});
beforeEach(() => {
  logLines.length = 0;
});

function setup(targetOptions: FakeTargetOptions = {}, writerOptions: Partial<WriterOptions> = {}) {
  const clock = new FakeClock();
  const target = new FakeTarget(clock, targetOptions);
  const acknowledged: Array<{ userId: string; state: GcUserState; version: number }> = [];
  const failed: Array<{ userId: string; error: string; retryable: boolean }> = [];
  const writer = createWriter({
    targets: [target],
    now: clock.now,
    timers: clock.timers,
    random: () => 0.5,
    onAcknowledged: (userId, state, version) => acknowledged.push({ userId, state, version }),
    onFailed: (userId, error, retryable) => failed.push({ userId, error, retryable }),
    ...writerOptions,
  });
  return { clock, target, writer, acknowledged, failed };
}

describe('writer: what is sent', () => {
  it('coalesces ten updates of one user into one request carrying the last', async () => {
    const { clock, target, writer } = setup();
    writer.start();
    const presences = ['Busy', 'Break', 'Meal', 'Meeting', 'Training', 'Busy', 'Break', 'Meal', 'Meeting', 'Training'];
    let version = 0;
    for (const presence of presences) version = writer.setDesired('u1', { presence, routingStatus: 'OffQueue' });
    await runUntilIdle(clock, writer);
    expect(target.calls).toHaveLength(2);
    expect(target.calls[0]).toMatchObject({ endpoint: 'presence', items: [{ userId: 'u1', value: 'Training' }] });
    expect(target.calls[1]).toMatchObject({ endpoint: 'routing', items: [{ userId: 'u1', value: 'OffQueue' }] });
    expect(version).toBe(10);
    expect(writer.get('u1')).toMatchObject({ acknowledged: { presence: 'Training', routingStatus: 'OffQueue' }, acknowledgedVersion: 10 });
    expect(writer.stats().coalesced).toBeGreaterThanOrEqual(9);
  });

  it('skips a desired state equal to the acknowledged one', async () => {
    const { clock, target, writer } = setup();
    writer.seedAcknowledged('u1', READY, 4);
    writer.start();
    const version = writer.setDesired('u1', READY);
    await runUntilIdle(clock, writer);
    expect(target.calls).toHaveLength(0);
    expect(version).toBe(5);
    expect(writer.get('u1')).toMatchObject({ acknowledgedVersion: 5, inFlight: false });
    expect(writer.stats()).toMatchObject({ noOpsSkipped: 1, pendingUsers: 0 });
  });

  it('sends a user whose presence is acknowledged but routing status differs only in a routing-status request', async () => {
    const { clock, target, writer } = setup();
    writer.seedAcknowledged('u1', READY);
    writer.start();
    writer.setDesired('u1', ON_CALL);
    await runUntilIdle(clock, writer);
    expect(target.calls.map((call) => call.endpoint)).toEqual(['routing']);
    expect(target.calls[0]!.items).toEqual([{ userId: 'u1', value: 'Interacting' }]);
  });

  it('sends a user whose routing status is acknowledged but presence differs only in a presence request', async () => {
    const { clock, target, writer } = setup();
    writer.seedAcknowledged('u1', { presence: 'Busy', routingStatus: 'OffQueue' });
    writer.start();
    writer.setDesired('u1', { presence: 'Break', routingStatus: 'OffQueue' });
    await runUntilIdle(clock, writer);
    expect(target.calls.map((call) => call.endpoint)).toEqual(['presence']);
  });

  it('writes presence before routing status when both differ', async () => {
    const { clock, target, writer } = setup();
    writer.seedAcknowledged('u1', BUSY);
    writer.start();
    writer.setDesired('u1', READY);
    await runUntilIdle(clock, writer);
    expect(target.calls.map((call) => call.endpoint)).toEqual(['presence', 'routing']);
  });

  it('rejects a desired presence of keep', () => {
    const { writer } = setup();
    expect(() => writer.setDesired('u1', { presence: 'keep', routingStatus: 'Interacting' })).toThrow(/keep/);
  });

  it('never puts more users in a request than batchSize or the target allows', async () => {
    const { clock, target, writer } = setup({ maxBatchSize: 50 }, { batchSize: 30 });
    writer.start();
    for (let i = 0; i < 500; i += 1) writer.setDesired(`u${i}`, READY);
    await runUntilIdle(clock, writer);
    expect(Math.max(...target.calls.map((call) => call.items.length))).toBe(30);
    const presenceUsers = new Set(target.calls.filter((call) => call.endpoint === 'presence').flatMap((call) => call.items.map((item) => item.userId)));
    expect(presenceUsers.size).toBe(500);
    expect(writer.stats().presenceBatchesSent).toBe(Math.ceil(500 / 30));

    const small = setup({ maxBatchSize: 1 }, { batchSize: 100 });
    small.writer.start();
    for (let i = 0; i < 5; i += 1) small.writer.setDesired(`u${i}`, BUSY);
    await runUntilIdle(small.clock, small.writer);
    expect(small.target.calls.every((call) => call.items.length === 1)).toBe(true);
    expect(small.target.calls).toHaveLength(10);
  });

  it('writes only presence when no target can set the routing status, counts it and does not retry', async () => {
    const { clock, target, writer, acknowledged } = setup({
      maxBatchSize: 1,
      canSetRoutingStatus: (status) => status === 'OffQueue' || status === 'Idle',
    });
    writer.start();
    writer.setDesired('u1', ON_CALL);
    writer.setDesired('u2', ON_CALL);
    await runUntilIdle(clock, writer);
    expect(target.calls.map((call) => call.endpoint)).toEqual(['presence', 'presence']);
    expect(writer.stats()).toMatchObject({ routingStatusNotMirrorable: 2, pendingUsers: 0, failures: 0 });
    expect(acknowledged.map((entry) => entry.userId).sort()).toEqual(['u1', 'u2']);
    expect(logLines.filter((line) => String(line['msg']).includes('cannot be mirrored'))).toHaveLength(1);
    writer.setDesired('u1', READY);
    await runUntilIdle(clock, writer);
    expect(target.calls.at(-1)).toMatchObject({ endpoint: 'routing', items: [{ userId: 'u1', value: 'Idle' }] });
  });
});

describe('writer: pacing, fairness and the pool', () => {
  it('serves users oldest change first under a tight budget, so no user starves behind a hot one', async () => {
    const clock = new FakeClock();
    const target = new FakeTarget(clock, { maxBatchSize: 1, budget: new FakeBudget(clock, 2), latencyMs: 10 });
    const writer = createWriter({ targets: [target], now: clock.now, timers: clock.timers, maxInFlightPerTarget: 1 });
    for (let i = 0; i < 5; i += 1) {
      writer.seedAcknowledged(`u${i}`, { presence: 'Busy', routingStatus: 'OffQueue' });
      writer.setDesired(`u${i}`, { presence: 'Break', routingStatus: 'OffQueue' }, clock.now() - 1000 + i);
    }
    writer.seedAcknowledged('hot', { presence: 'Busy', routingStatus: 'OffQueue' });
    writer.start();
    // The hot user changes every second, which never makes its pending change older than the others'.
    const presences = ['Meal', 'Break'];
    for (let second = 0; second < 300; second += 1) {
      writer.setDesired('hot', { presence: presences[second % 2]!, routingStatus: 'OffQueue' });
      await clock.advance(1000);
    }
    const order = target.calls.map((call) => call.items[0]!.userId);
    expect(order.slice(0, 6)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'hot']);
    expect(order.length).toBeGreaterThanOrEqual(9);
    expect(target.budget.maxInAnyWindow()).toBeLessThanOrEqual(2);
    await writer.stop();
  });

  it('serves many users in order of their oldest change even when they change again meanwhile', async () => {
    const { clock, target, writer } = setup({ maxBatchSize: 10, budget: undefined }, { batchSize: 10, maxInFlightPerTarget: 1 });
    for (let i = 0; i < 100; i += 1) writer.setDesired(`u${i}`, BUSY, clock.now() + i);
    // Later changes of the first users do not move them back in line (their oldest change is still pending).
    for (let i = 0; i < 10; i += 1) writer.setDesired(`u${i}`, { presence: 'Meal', routingStatus: 'OffQueue' }, clock.now() + 1000);
    writer.start();
    await runUntilIdle(clock, writer);
    const presenceCalls = target.calls.filter((call) => call.endpoint === 'presence');
    expect(presenceCalls[0]!.items.map((item) => item.userId)).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`));
    expect(presenceCalls[0]!.items[0]!.value).toBe('Meal');
  });

  it('a full resync of 1,000 users with both fields changed costs exactly 2N / 100 = 20 requests, each full', async () => {
    const { clock, target, writer, acknowledged } = setup();
    for (let i = 0; i < 1000; i += 1) writer.seedAcknowledged(`u${i}`, { presence: 'Offline', routingStatus: 'OffQueue' });
    writer.start();
    for (let i = 0; i < 1000; i += 1) writer.setDesired(`u${i}`, ON_CALL);
    await runUntilIdle(clock, writer);
    expect(target.calls).toHaveLength(20);
    expect(target.calls.every((call) => call.items.length === 100)).toBe(true);
    expect(writer.stats()).toMatchObject({ presenceBatchesSent: 10, routingStatusBatchesSent: 10, retries: 0 });
    expect(target.gc.violations).toEqual([]);
    // Presence first: each user's routing status left only once GC had answered its presence request.
    expect(target.gc.userOverlaps).toEqual([]);
    const presenceAnsweredAt = new Map<string, number>();
    for (const call of target.calls) {
      for (const { userId } of call.items) {
        if (call.endpoint === 'presence') presenceAnsweredAt.set(userId, call.at + 100);
        else expect(call.at).toBeGreaterThanOrEqual(presenceAnsweredAt.get(userId)!);
      }
    }
    expect(new Set(acknowledged.map((entry) => entry.userId)).size).toBe(1000);
    for (let i = 0; i < 1000; i += 1) expect(writer.get(`u${i}`)!.acknowledged).toEqual(ON_CALL);
  });

  it('never lets a 60 s window hold more requests than the budget, and is never rate limited by its own pacing', async () => {
    const clock = new FakeClock();
    const budget = new FakeBudget(clock, 20);
    let limited = 0;
    const target = new FakeTarget(clock, {
      maxBatchSize: 5,
      budget,
      respond: () => {
        // Like the emulator: a 21st request within 60 s would be a 429.
        if (budget.maxInAnyWindow() > 20) limited += 1;
        return undefined;
      },
    });
    const writer = createWriter({ targets: [target], now: clock.now, timers: clock.timers, batchSize: 5 });
    writer.start();
    for (let i = 0; i < 200; i += 1) writer.setDesired(`u${i}`, READY);
    await runUntilIdle(clock, writer);
    expect(target.calls).toHaveLength(80);
    expect(budget.maxInAnyWindow()).toBeLessThanOrEqual(20);
    expect(limited).toBe(0);
    expect(writer.stats().rateLimited).toBe(0);
  });

  it('builds each batch when its slot comes, so updates made while waiting are coalesced into it', async () => {
    const clock = new FakeClock();
    const budget = new FakeBudget(clock, 1);
    const target = new FakeTarget(clock, { budget, latencyMs: 0 });
    const writer = createWriter({ targets: [target], now: clock.now, timers: clock.timers });
    writer.start();
    writer.setDesired('u1', BUSY);
    await clock.advance(1);
    expect(target.calls).toHaveLength(1);
    // The routing write for u1 and u2's whole state wait for the next minute's slot.
    writer.setDesired('u2', BUSY);
    writer.setDesired('u1', { presence: 'Meal', routingStatus: 'OffQueue' });
    writer.setDesired('u2', { presence: 'Break', routingStatus: 'OffQueue' });
    await clock.advance(60_000);
    expect(target.calls[1]).toMatchObject({ endpoint: 'presence' });
    expect(target.calls[1]!.items).toEqual([
      { userId: 'u1', value: 'Meal' },
      { userId: 'u2', value: 'Break' },
    ]);
    await writer.stop();
  });

  it('spreads batches over a pool of targets and never sends one field of a user on two targets at once', async () => {
    const clock = new FakeClock();
    const gc = new FakeGc();
    const targets = [0, 1, 2].map(
      (index) => new FakeTarget(clock, { name: `t${index}`, gc, maxBatchSize: 10, budget: new FakeBudget(clock, 10), latencyMs: 200 }),
    );
    const writer = createWriter({ targets, now: clock.now, timers: clock.timers, batchSize: 10 });
    writer.start();
    for (let i = 0; i < 300; i += 1) writer.setDesired(`u${i}`, READY);
    await runUntilIdle(clock, writer);
    const perTarget = targets.map((target) => target.calls.length);
    expect(perTarget.reduce((a, b) => a + b, 0)).toBe(60);
    for (const count of perTarget) expect(count).toBe(20);
    for (const target of targets) expect(target.budget.maxInAnyWindow()).toBeLessThanOrEqual(10);
    expect(gc.violations).toEqual([]);
    for (let i = 0; i < 300; i += 1) expect(gc.presence.get(`u${i}`)).toBe('OnQueue');
  });

  it('with several paced clients, spreads batches over the pool instead of sending them in lockstep', async () => {
    // Four clients drained by a resync share one refill schedule: without the pool's spacing each slot sent a
    // presence batch, a routing-status batch and two stragglers at the same moment, so a presence batch left
    // only every ~200 ms (p99 ~190 ms from change to first request). Spaced, one leaves about every 100 ms.
    const clock = new FakeClock();
    const changedAt = new Map<string, number>();
    const latencies: number[] = [];
    const targets: GcWriteTarget[] = [0, 1, 2, 3].map((index) => {
      const budget = createSlidingWindowBudget({ requestsPerMinute: 300, headroom: 0, burstShare: PACED_BURST_SHARE, now: clock.now });
      const write = async (items: ReadonlyArray<{ userId: string }>): Promise<WriteOutcome[]> => {
        await budget.take();
        for (const { userId } of items) {
          const changed = changedAt.get(userId);
          if (changed === undefined) continue;
          latencies.push(clock.now() - changed);
          changedAt.delete(userId);
        }
        await new Promise<void>((resolve) => clock.timers.setTimeout(resolve, 5));
        return items.map((item) => ({ userId: item.userId, ok: true as const }));
      };
      return { name: `t${index}`, budget, maxBatchSize: 100, canSetRoutingStatus: () => true, writePresence: write, writeRoutingStatus: write };
    });
    for (const target of targets) while (target.budget.available() > 0) await target.budget.take();
    const writer = createWriter({ targets, now: clock.now, timers: clock.timers });
    for (let user = 0; user < 500; user += 1) writer.seedAcknowledged(`u${user}`, READY, 0);
    writer.start();
    const onBreak = new Set<number>();
    for (let change = 0; change < 1_000; change += 1) {
      const user = (change * 7919) % 500;
      if (onBreak.has(user)) onBreak.delete(user);
      else onBreak.add(user);
      if (!changedAt.has(`u${user}`)) changedAt.set(`u${user}`, clock.now());
      writer.setDesired(`u${user}`, onBreak.has(user) ? BUSY : READY);
      await clock.advance(10); // 100 changes/s, every one changing both fields
    }
    await writer.stop();
    latencies.sort((a, b) => a - b);
    expect(latencies.length).toBeGreaterThan(900);
    expect(latencies[Math.floor(latencies.length * 0.99)]).toBeLessThanOrEqual(130);
  });

  it('sends the users of a rate-limited target through another target of the pool meanwhile', async () => {
    const clock = new FakeClock();
    const gc = new FakeGc();
    let limitedOnce = false;
    const first = new FakeTarget(clock, {
      name: 'first',
      gc,
      respond: () => {
        if (limitedOnce) return undefined;
        limitedOnce = true;
        return new FakeHttpError(429, 120);
      },
    });
    const second = new FakeTarget(clock, { name: 'second', gc });
    const writer = createWriter({ targets: [first, second], now: clock.now, timers: clock.timers, maxInFlightPerTarget: 1 });
    writer.start();
    writer.setDesired('u1', BUSY);
    const startedAt = clock.now();
    await runUntilIdle(clock, writer);
    expect(first.budget.pauses).toHaveLength(1);
    expect(second.calls.map((call) => call.endpoint)).toContain('presence');
    expect(clock.now() - startedAt).toBeLessThan(120_000);
    expect(gc.presence.get('u1')).toBe('Busy');
  });

  it('sends a routing status only through a target that can set it', async () => {
    const clock = new FakeClock();
    const gc = new FakeGc();
    const perUser = new FakeTarget(clock, { name: 'per-user', gc, maxBatchSize: 1, canSetRoutingStatus: (status) => status === 'OffQueue' || status === 'Idle' });
    const inject = new FakeTarget(clock, { name: 'inject', gc, budget: new FakeBudget(clock, 1) });
    const writer = createWriter({ targets: [perUser, inject], now: clock.now, timers: clock.timers });
    writer.seedAcknowledged('u1', READY);
    writer.start();
    writer.setDesired('u1', ON_CALL);
    await runUntilIdle(clock, writer);
    expect(perUser.calls).toHaveLength(0);
    expect(inject.calls).toMatchObject([{ endpoint: 'routing', items: [{ userId: 'u1', value: 'Interacting' }] }]);
    expect(writer.stats().routingStatusNotMirrorable).toBe(0);
  });

  it('pause stops new requests and resume continues them', async () => {
    const { clock, target, writer } = setup();
    writer.start();
    writer.pause();
    expect(writer.paused).toBe(true);
    writer.setDesired('u1', READY);
    await clock.advance(10_000);
    expect(target.calls).toHaveLength(0);
    expect(writer.stats().pendingUsers).toBe(1);
    writer.resume();
    expect(writer.paused).toBe(false);
    await runUntilIdle(clock, writer);
    expect(target.calls).toHaveLength(2);
  });
});

describe('writer: presence first, per user', () => {
  it('sends a routing status (Ready/Idle → NotReady/Communicating) only after GC acknowledged the presence', async () => {
    const { clock, target, writer } = setup({ latencyMs: 1000 });
    writer.seedAcknowledged('u1', READY);
    writer.start();
    const startedAt = clock.now();
    writer.setDesired('u1', { presence: 'Busy', routingStatus: 'Communicating' });
    await clock.advance(999);
    // The presence request is open: the routing status waits for it (GC may otherwise reset it when presence leaves On Queue).
    expect(target.calls.map((call) => `${call.endpoint}:${call.items[0]!.value}`)).toEqual(['presence:Busy']);
    expect(writer.stats()).toMatchObject({ pendingUsers: 1, inFlightUsers: 1 });
    await runUntilIdle(clock, writer);
    expect(target.calls.map((call) => `${call.endpoint}:${call.items[0]!.value}`)).toEqual(['presence:Busy', 'routing:Communicating']);
    expect(target.calls[1]!.at).toBeGreaterThanOrEqual(startedAt + 1000);
    expect(target.gc.userOverlaps).toEqual([]);
    expect(writer.get('u1')!.acknowledged).toEqual({ presence: 'Busy', routingStatus: 'Communicating' });
  });

  it('leaves a user out of a routing-status batch while its presence still waits for a budget slot', async () => {
    const clock = new FakeClock();
    const budget = new FakeBudget(clock, 1);
    const target = new FakeTarget(clock, { budget, latencyMs: 0, maxBatchSize: 2 });
    const writer = createWriter({ targets: [target], now: clock.now, timers: clock.timers });
    writer.seedAcknowledged('u0', READY);
    writer.seedAcknowledged('u1', BUSY);
    writer.start();
    // u0 changed first and needs only a routing-status write; u1 needs both.
    writer.setDesired('u0', ON_CALL);
    writer.setDesired('u1', READY);
    await runUntilIdle(clock, writer);
    // Were fields independent, the first request would carry both users' routing status (u1's ahead of its presence).
    expect(target.calls.map((call) => `${call.endpoint}:${call.items.map((item) => item.userId).join(',')}`)).toEqual([
      'routing:u0',
      'presence:u1',
      'routing:u1',
    ]);
    expect(budget.maxInAnyWindow()).toBe(1);
    await writer.stop();
  });

  it('lets a presence change wait while the same user\'s routing-status request is open, then writes presence, then routing', async () => {
    const { clock, target, writer } = setup({ latencyMs: 1000 });
    writer.seedAcknowledged('u1', BUSY);
    writer.start();
    writer.setDesired('u1', READY);
    await clock.advance(1500);
    expect(target.calls.map((call) => `${call.endpoint}:${call.items[0]!.value}`)).toEqual(['presence:OnQueue', 'routing:Idle']);
    // The agent goes Not Ready while the routing-status request is still open.
    writer.setDesired('u1', BUSY);
    await clock.advance(100);
    expect(target.calls).toHaveLength(2);
    await runUntilIdle(clock, writer);
    expect(target.calls.map((call) => `${call.endpoint}:${call.items[0]!.value}`)).toEqual([
      'presence:OnQueue',
      'routing:Idle',
      'presence:Busy',
      'routing:OffQueue',
    ]);
    expect(target.gc.userOverlaps).toEqual([]);
    expect(writer.get('u1')!.acknowledged).toEqual(BUSY);
  });

  it('reports each field as GC acknowledges it, presence a round trip before the whole state', async () => {
    const fields: string[] = [];
    const { clock, writer } = setup(
      { latencyMs: 1000 },
      {
        onFieldAcknowledged: (userId, field, value) => fields.push(`${userId} ${field}=${value}`),
        onAcknowledged: (userId, state) => fields.push(`${userId} both=${state.presence}/${state.routingStatus}`),
      },
    );
    writer.seedAcknowledged('u1', READY);
    writer.start();
    writer.setDesired('u1', BUSY);
    await clock.advance(1500);
    expect(fields).toEqual(['u1 presence=Busy']);
    await runUntilIdle(clock, writer);
    expect(fields).toEqual(['u1 presence=Busy', 'u1 routingStatus=OffQueue', 'u1 both=Busy/OffQueue']);
  });

  it('still writes the routing status of a user whose presence GC rejects for good', async () => {
    const { clock, target, writer, failed } = setup({
      respond: (call) =>
        call.endpoint === 'presence'
          ? call.items.map((item) =>
              item.userId === 'bad'
                ? { userId: item.userId, ok: false as const, retryable: false, code: 'bad.request', message: 'unknown presence' }
                : { userId: item.userId, ok: true as const },
            )
          : undefined,
    });
    writer.seedAcknowledged('bad', READY);
    writer.seedAcknowledged('good', READY);
    writer.start();
    writer.setDesired('bad', { presence: 'Busy', routingStatus: 'OffQueue' });
    writer.setDesired('good', { presence: 'Busy', routingStatus: 'OffQueue' });
    await runUntilIdle(clock, writer);
    expect(failed).toEqual([{ userId: 'bad', error: 'bad.request: unknown presence', retryable: false }]);
    expect(target.calls.map((call) => call.endpoint)).toEqual(['presence', 'routing']);
    expect(target.calls[1]!.items).toEqual([
      { userId: 'bad', value: 'OffQueue' },
      { userId: 'good', value: 'OffQueue' },
    ]);
    expect(target.gc.routing.get('bad')).toBe('OffQueue');
    expect(writer.get('bad')).toMatchObject({ failed: true, acknowledged: { presence: 'OnQueue', routingStatus: 'OffQueue' } });
    expect(writer.stats()).toMatchObject({ failedUsers: 1, pendingUsers: 0, inFlightUsers: 0 });
  });

  it('lets the routing status go after three failed presence attempts, while presence keeps retrying', async () => {
    let presenceFails = true;
    const { clock, target, writer } = setup(
      {
        latencyMs: 0,
        respond: (call) =>
          call.endpoint === 'presence' && presenceFails
            ? call.items.map((item) => ({ userId: item.userId, ok: false as const, retryable: true, message: 'busy' }))
            : undefined,
      },
      { baseRetryDelayMs: 1000, maxRetryDelayMs: 10_000 },
    );
    writer.seedAcknowledged('u1', READY);
    writer.start();
    writer.setDesired('u1', { presence: 'Busy', routingStatus: 'OffQueue' });
    await clock.advance(20_000);
    const endpoints = target.calls.map((call) => call.endpoint);
    expect(endpoints.slice(0, 4)).toEqual(['presence', 'presence', 'presence', 'routing']);
    expect(endpoints.filter((endpoint) => endpoint === 'routing')).toHaveLength(1);
    expect(target.gc.routing.get('u1')).toBe('OffQueue');
    expect(target.gc.userOverlaps).toEqual([]);
    presenceFails = false;
    await runUntilIdle(clock, writer);
    expect(writer.get('u1')!.acknowledged).toEqual({ presence: 'Busy', routingStatus: 'OffQueue' });
  });
});

describe('writer: failures', () => {
  it('honours 429 Retry-After: pauses that target budget and retries the users after it', async () => {
    let first = true;
    const { clock, target, writer, acknowledged } = setup({
      respond: () => {
        if (!first) return undefined;
        first = false;
        return new FakeHttpError(429, 30);
      },
    });
    // Only presence differs, so every request is a presence one.
    for (const userId of ['u1', 'u2']) writer.seedAcknowledged(userId, AWAY);
    writer.start();
    writer.setDesired('u1', BUSY);
    writer.setDesired('u2', BUSY);
    const startedAt = clock.now();
    await runUntilIdle(clock, writer);
    expect(target.budget.pauses).toEqual([{ at: startedAt + 100, seconds: 30 }]);
    expect(target.calls[1]!.at).toBeGreaterThanOrEqual(startedAt + 100 + 30_000);
    expect(target.calls[1]!.items.map((item) => item.userId)).toEqual(['u1', 'u2']);
    expect(writer.stats()).toMatchObject({ rateLimited: 1, failures: 0 });
    expect(acknowledged.map((entry) => entry.userId).sort()).toEqual(['u1', 'u2']);
  });

  it('retries a 5xx with capped exponential backoff', async () => {
    let failuresLeft = 8;
    const { clock, target, writer } = setup(
      { latencyMs: 0, respond: () => (failuresLeft-- > 0 ? new FakeHttpError(503) : undefined) },
      { baseRetryDelayMs: 1000, maxRetryDelayMs: 10_000 },
    );
    writer.seedAcknowledged('u1', AWAY);
    writer.start();
    writer.setDesired('u1', BUSY);
    await runUntilIdle(clock, writer);
    const presenceAttempts = target.calls.filter((call) => call.endpoint === 'presence').map((call) => call.at);
    const gaps = presenceAttempts.slice(1).map((at, index) => at - presenceAttempts[index]!);
    // random() = 0.5 → three quarters of the cap: 750, 1500, 3000, 6000, then capped at 7500.
    expect(gaps).toEqual([750, 1500, 3000, 6000, 7500, 7500, 7500, 7500]);
    expect(writer.stats()).toMatchObject({ retries: 8, failures: 8, permanentFailures: 0 });
    expect(writer.get('u1')).toMatchObject({ acknowledged: BUSY });
  });

  it('requests that fail together in one GC outage grow the client backoff once, not once per request', async () => {
    let failures = 2;
    const { clock, target, writer } = setup({ respond: () => (failures-- > 0 ? new FakeHttpError(503) : undefined) });
    // u1 needs only a presence write and u2 only a routing-status write, so the two requests leave together.
    writer.seedAcknowledged('u1', AWAY);
    writer.seedAcknowledged('u2', { presence: 'Busy', routingStatus: 'Idle' });
    writer.start();
    writer.setDesired('u1', BUSY);
    writer.setDesired('u2', BUSY);
    await runUntilIdle(clock, writer);
    // The presence and routing-status requests left together and failed together: one pause of the client.
    expect(target.calls.slice(0, 2).map((call) => call.endpoint)).toEqual(['presence', 'routing']);
    expect(target.budget.pauses).toHaveLength(1);
    expect(writer.get('u1')!.acknowledged).toEqual(BUSY);
    expect(writer.get('u2')!.acknowledged).toEqual(BUSY);
  });

  /** u1 through five rounds of a GC outage (its own backoff now over 10 s, the client's pause under 5 s); `recover` ends it. */
  async function afterFiveFailedRounds() {
    let failing = true;
    const rig = setup({ latencyMs: 0, respond: () => (failing ? new FakeHttpError(503) : undefined) });
    const { clock, target, writer } = rig;
    // Only u1's presence differs, so each round is one presence request.
    writer.seedAcknowledged('u1', AWAY);
    writer.start();
    writer.setDesired('u1', BUSY);
    while (target.calls.length < 5) await clock.advance(100);
    expect(writer.get('u1')!.retryAt! - clock.now()).toBeGreaterThan(10_000);
    return { ...rig, recover: () => (failing = false) };
  }

  it('when GC answers again after an outage, users backing off because of it are retried at once', async () => {
    const { clock, writer, recover } = await afterFiveFailedRounds();
    recover();
    writer.setDesired('u2', BUSY);
    await clock.advance(5_000);
    expect(writer.get('u2')!.acknowledged).toEqual(BUSY);
    expect(writer.get('u1')!.acknowledged).toEqual(BUSY);
  });

  it('told GC answers again by other means (its set-up succeeded), users backing off because of an outage go at once', async () => {
    const { clock, writer, recover } = await afterFiveFailedRounds();
    recover();
    writer.gcAnswers();
    // Within the client's own short pause (under 5 s), not the user's backoff of over 10 s.
    await clock.advance(5_000);
    expect(writer.get('u1')!.acknowledged).toEqual(BUSY);
  });

  it('a target not set up yet backs its users off without pausing the client, whose budget the set-up needs', async () => {
    let setUp = false;
    const notSetUp = new GcNetworkError('GC is not set up yet', { code: NOT_SET_UP });
    const { clock, target, writer } = setup({ latencyMs: 0, respond: () => (setUp ? undefined : notSetUp) });
    writer.start();
    writer.setDesired('u1', BUSY);
    while (target.calls.length < 3) await clock.advance(100);
    expect(target.budget.pauses).toEqual([]);
    setUp = true;
    writer.gcAnswers();
    await clock.advance(1_000);
    expect(writer.get('u1')!.acknowledged).toEqual(BUSY);
  });

  it('treats network errors and timeouts as retryable', async () => {
    const errors: Error[] = [new TypeError('fetch failed'), Object.assign(new Error('timed out'), { name: 'TimeoutError' })];
    const { clock, writer, failed } = setup({ respond: () => errors.shift() });
    writer.start();
    writer.setDesired('u1', BUSY);
    await runUntilIdle(clock, writer);
    expect(failed.map((entry) => entry.retryable)).toEqual([true, true]);
    expect(writer.get('u1')!.acknowledged).toEqual(BUSY);
  });

  it('handles a partial batch failure per user: retryable requeued, non-retryable reported and left failed', async () => {
    let call = 0;
    const { clock, target, writer, failed, acknowledged } = setup({
      respond: (request) => {
        call += 1;
        if (call > 1 || request.endpoint !== 'presence') return undefined;
        return [
          { userId: 'ok', ok: true },
          { userId: 'flaky', ok: false, retryable: true, message: 'try again' },
          { userId: 'bad', ok: false, retryable: false, code: 'bad.request', message: 'no such user' },
        ];
      },
    });
    writer.start();
    for (const userId of ['ok', 'flaky', 'bad']) writer.setDesired(userId, BUSY);
    await runUntilIdle(clock, writer);
    expect(failed).toEqual([
      { userId: 'flaky', error: 'try again', retryable: true },
      { userId: 'bad', error: 'bad.request: no such user', retryable: false },
    ]);
    expect(writer.get('bad')).toMatchObject({ failed: true, lastError: 'bad.request: no such user', inFlight: false });
    expect(writer.get('bad')!.acknowledged).toBeUndefined();
    expect(writer.get('flaky')!.acknowledged).toEqual(BUSY);
    expect(acknowledged.map((entry) => entry.userId).sort()).toEqual(['flaky', 'ok']);
    expect(writer.stats()).toMatchObject({ failedUsers: 1, permanentFailures: 1, pendingUsers: 0 });
    // Its presence was not sent again (its routing status went in its own request, which GC accepted).
    expect(target.calls.filter((request) => request.endpoint === 'presence' && request.items.some((item) => item.userId === 'bad'))).toHaveLength(1);
    // An explicit retry (e.g. after a permission was granted) requeues parked users.
    expect(writer.retryFailed()).toBe(1);
    await runUntilIdle(clock, writer);
    expect(writer.get('bad')).toMatchObject({ failed: false, acknowledged: BUSY });
    // A new desired state gives a failed user another chance too.
    writer.setDesired('bad', READY);
    await runUntilIdle(clock, writer);
    expect(writer.get('bad')).toMatchObject({ failed: false, acknowledged: READY });
  });

  it('retries a user the response says nothing about', async () => {
    let first = true;
    const { clock, writer } = setup({
      respond: (request) => {
        if (!first) return undefined;
        first = false;
        return [{ userId: request.items[0]!.userId, ok: true }];
      },
    });
    writer.start();
    writer.setDesired('u1', BUSY);
    writer.setDesired('u2', BUSY);
    await runUntilIdle(clock, writer);
    expect(writer.get('u2')!.acknowledged).toEqual(BUSY);
    expect(writer.stats().retries).toBe(1);
  });

  it('treats a per-event Retry-After (a 429 inside a per-user run) as a client limit: pauses the budget, keeps the user in place', async () => {
    let first = true;
    const { clock, target, writer, failed } = setup({
      latencyMs: 0,
      respond: (request) => {
        if (!first || request.endpoint !== 'presence') return undefined;
        first = false;
        return [
          { userId: 'u1', ok: true },
          { userId: 'u2', ok: false, retryable: true, retryAfterSeconds: 5, message: 'too many requests' },
        ];
      },
    });
    for (const userId of ['u1', 'u2']) writer.seedAcknowledged(userId, AWAY);
    writer.start();
    const startedAt = clock.now();
    writer.setDesired('u1', BUSY);
    writer.setDesired('u2', BUSY);
    await runUntilIdle(clock, writer);
    expect(target.budget.pauses).toEqual([{ at: startedAt, seconds: 5 }]);
    const retry = target.calls.find((call, index) => index > 0 && call.items.some((item) => item.userId === 'u2'));
    expect(retry!.at - startedAt).toBeGreaterThanOrEqual(5000);
    expect(writer.stats()).toMatchObject({ rateLimited: 1, failures: 0 });
    expect(failed).toEqual([]);
    expect(writer.get('u2')!.acknowledged).toEqual(BUSY);
  });
});

describe('writer: ordering and versions', () => {
  it('keeps at most one request per user in flight, presence first, and never acknowledges a newer version than it sent', async () => {
    const { clock, target, writer, acknowledged } = setup({ latencyMs: 1000 });
    writer.seedAcknowledged('u1', AWAY);
    writer.start();
    const v1 = writer.setDesired('u1', BUSY);
    await clock.advance(10);
    expect(writer.get('u1')!.inFlight).toBe(true);
    expect(target.calls.map((call) => `${call.endpoint}:${call.items[0]!.value}`)).toEqual(['presence:Busy']);
    const v2 = writer.setDesired('u1', { presence: 'Meal', routingStatus: 'Idle' });
    await clock.advance(10);
    // The newer presence waits for the open presence request to settle; its routing status waits for that presence.
    expect(target.calls).toHaveLength(1);
    await clock.advance(1000);
    // The response acknowledged v1's state (Busy / OffQueue), not v2; the user is still pending for v2.
    expect(writer.get('u1')).toMatchObject({ acknowledgedVersion: v1, version: v2 });
    expect(writer.get('u1')!.pendingSince).toBeDefined();
    await runUntilIdle(clock, writer);
    expect(target.gc.violations).toEqual([]);
    expect(target.gc.userOverlaps).toEqual([]);
    expect(target.calls.map((call) => `${call.endpoint}:${call.items[0]!.value}`)).toEqual(['presence:Busy', 'presence:Meal', 'routing:Idle']);
    expect(acknowledged).toEqual([
      { userId: 'u1', state: BUSY, version: v1 },
      { userId: 'u1', state: { presence: 'Meal', routingStatus: 'Idle' }, version: v2 },
    ]);
    expect(v1).toBeLessThan(v2);
  });

  it('acknowledges the version it sent when desired moved on after the write', async () => {
    const { clock, writer, acknowledged } = setup({ latencyMs: 1000 });
    writer.seedAcknowledged('u1', { presence: 'Busy', routingStatus: 'OffQueue' }, 3);
    writer.start();
    const v4 = writer.setDesired('u1', { presence: 'Meal', routingStatus: 'OffQueue' });
    await clock.advance(10);
    const v5 = writer.setDesired('u1', { presence: 'Break', routingStatus: 'OffQueue' });
    await clock.advance(1000);
    expect(acknowledged[0]).toEqual({ userId: 'u1', state: { presence: 'Meal', routingStatus: 'OffQueue' }, version: v4 });
    await runUntilIdle(clock, writer);
    expect(acknowledged[1]).toEqual({ userId: 'u1', state: { presence: 'Break', routingStatus: 'OffQueue' }, version: v5 });
  });

  it('forgets a user that left scope, even while its request is in flight', async () => {
    const { clock, target, writer } = setup({ latencyMs: 1000 });
    writer.start();
    writer.setDesired('u1', BUSY);
    writer.setDesired('u2', BUSY);
    await clock.advance(10);
    writer.forget('u1');
    writer.forget('u2');
    expect(writer.get('u1')).toBeUndefined();
    await runUntilIdle(clock, writer);
    // Only the request already open (both users' presence; their routing status waited for it); nothing after forget.
    expect(target.calls.map((call) => call.endpoint)).toEqual(['presence']);
    expect(writer.stats().trackedUsers).toBe(0);
  });

  it('re-asserts the desired state when told GC holds something else (drift)', async () => {
    const { clock, target, writer } = setup();
    writer.start();
    writer.setDesired('u1', READY);
    await runUntilIdle(clock, writer);
    writer.seedAcknowledged('u1', { presence: 'Available', routingStatus: 'OffQueue' });
    await runUntilIdle(clock, writer);
    expect(target.calls.slice(2).map((call) => `${call.endpoint}:${call.items[0]!.value}`)).toEqual(['presence:OnQueue', 'routing:Idle']);
  });

  it('writes a field again when told of another value in GC while its request was open (drift during a slow write)', async () => {
    // Chaos full profile (gc-slow + drift): GC applied EXAS's presence write, someone changed the user, the
    // notification arrived while the slow request was still open, and the late acknowledgement made the writer
    // believe GC held EXAS's value: the drift was never repaired.
    const { clock, target, writer } = setup({ latencyMs: 1_000 });
    writer.seedAcknowledged('u1', READY, 0);
    writer.start();
    writer.setDesired('u1', { presence: 'Training', routingStatus: 'OffQueue' });
    await clock.advance(500);
    expect(target.calls.map((call) => `${call.endpoint}:${call.items[0]!.value}`)).toEqual(['presence:Training']);
    writer.seedAcknowledged('u1', { presence: 'Away', routingStatus: 'Idle' }); // the drift notification
    await clock.advance(500); // the presence request answers OK now
    target.gc.presence.set('u1', 'Away'); // GC had applied EXAS's write first, then the foreign one
    await runUntilIdle(clock, writer);
    expect(target.calls.filter((call) => call.endpoint === 'presence').map((call) => call.items[0]!.value)).toEqual(['Training', 'Training']);
    expect(target.gc.presence.get('u1')).toBe('Training');
    expect(target.gc.routing.get('u1')).toBe('OffQueue');
  });

  it('does not write a field again for a report about the other field made while its request was open', async () => {
    // The caller passes its own view for the part GC did not report; that is no news about the open request.
    const { clock, target, writer } = setup({ latencyMs: 1_000 });
    writer.seedAcknowledged('u1', READY, 0);
    writer.start();
    writer.setDesired('u1', { presence: 'Training', routingStatus: 'OffQueue' });
    await clock.advance(500);
    writer.seedAcknowledged('u1', { presence: 'OnQueue', routingStatus: 'Interacting' }, undefined, ['routingStatus']);
    await runUntilIdle(clock, writer);
    expect(target.calls.map((call) => `${call.endpoint}:${call.items[0]!.value}`)).toEqual(['presence:Training', 'routing:OffQueue']);
  });

  it('keeps its queue at one entry per user under a 100k-update storm', async () => {
    const { clock, target, writer } = setup({ budget: undefined, latencyMs: 50 });
    const states: GcUserState[] = [BUSY, READY, ON_CALL, { presence: 'Break', routingStatus: 'OffQueue' }];
    writer.start();
    let maxQueue = 0;
    for (let i = 0; i < 100_000; i += 1) {
      writer.setDesired(`u${i % 1000}`, states[(i * 7 + (i >> 10)) % states.length]!);
      if (i % 5000 === 0) {
        maxQueue = Math.max(maxQueue, writer.stats().queueLength);
        await clock.advance(10);
      }
    }
    maxQueue = Math.max(maxQueue, writer.stats().queueLength);
    expect(maxQueue).toBeLessThanOrEqual(1000);
    expect(writer.stats().trackedUsers).toBe(1000);
    await runUntilIdle(clock, writer);
    for (let i = 0; i < 1000; i += 1) {
      const view = writer.get(`u${i}`)!;
      expect(view.acknowledged).toEqual(view.desired);
    }
    expect(target.budget.maxInAnyWindow()).toBeLessThanOrEqual(300);
  });
});

describe('writer: lifecycle', () => {
  it('flush sends what is pending and reports what remains at the deadline', async () => {
    const clock = new FakeClock();
    const target = new FakeTarget(clock, { maxBatchSize: 10, budget: new FakeBudget(clock, 2), latencyMs: 0 });
    const writer = createWriter({ targets: [target], now: clock.now, timers: clock.timers, batchSize: 10 });
    for (let i = 0; i < 30; i += 1) writer.setDesired(`u${i}`, { presence: 'Busy', routingStatus: 'OffQueue' });
    for (let i = 0; i < 30; i += 1) writer.seedAcknowledged(`u${i}`, { presence: 'Away', routingStatus: 'OffQueue' });
    writer.pause();
    const flushed = writer.flush(5_000);
    await clock.advance(5_000);
    // Two requests fit the budget in 5 s: 20 users sent, 10 remain.
    await expect(flushed).resolves.toEqual({ sent: 20, remaining: 10 });
    expect(writer.paused).toBe(true);
    await writer.stop();
  });

  it('flush resolves as soon as everything is acknowledged', async () => {
    const { clock, writer } = setup();
    writer.setDesired('u1', BUSY);
    const flushed = writer.flush(60_000);
    await runUntilIdle(clock, writer);
    await expect(flushed).resolves.toEqual({ sent: 2, remaining: 0 });
  });

  it('stop aborts requests waiting for a budget slot and keeps their users pending', async () => {
    const clock = new FakeClock();
    const target = new FakeTarget(clock, { maxBatchSize: 1, budget: new FakeBudget(clock, 1), latencyMs: 0 });
    const writer = createWriter({ targets: [target], now: clock.now, timers: clock.timers, maxInFlightPerTarget: 2 });
    writer.start();
    writer.setDesired('u1', BUSY);
    writer.setDesired('u2', BUSY);
    await settle();
    await writer.stop();
    expect(target.calls).toHaveLength(1);
    expect(writer.stats()).toMatchObject({ inFlightUsers: 0, failures: 0 });
    expect(writer.get('u2')).toMatchObject({ inFlight: false });
    expect(writer.get('u2')!.pendingSince).toBeDefined();
  });

  it('reports plain-number stats, including the age of the oldest pending change', async () => {
    const { clock, writer } = setup();
    writer.setDesired('u1', BUSY);
    await clock.advance(3_000);
    const stats = writer.stats();
    expect(stats.pendingUsers).toBe(1);
    expect(stats.oldestPendingAgeSeconds).toBe(3);
    for (const value of Object.values(stats)) expect(typeof value).toBe('number');
  });

  it('keeps going when a callback throws', async () => {
    const { clock, writer } = setup({}, {
      onAcknowledged: () => {
        throw new Error('listener bug');
      },
    });
    writer.start();
    writer.setDesired('u1', BUSY);
    writer.setDesired('u2', BUSY);
    await runUntilIdle(clock, writer);
    expect(writer.get('u2')).toMatchObject({ acknowledged: BUSY, inFlight: false });
    expect(logLines.some((line) => line['msg'] === 'onAcknowledged callback threw')).toBe(true);
  });

  it('validates its options', () => {
    const clock = new FakeClock();
    expect(() => createWriter({ targets: [] })).toThrow(/targets/);
    expect(() => createWriter({ targets: [new FakeTarget(clock)], batchSize: 0 })).toThrow(/batchSize/);
  });
});
