/**
 * Leadership timing over a scripted backend and a manual clock: the gate opens on proof, closes when a renewal is
 * overdue by the margin (before anyone else could hold the lease), reopens on the next proof; every transition is
 * reported once.
 */
import { describe, expect, it } from 'vitest';
import { createLeadership, type LeaseBackend, type LeaseObservation, type Transition } from '../../src/ha/index.ts';
import { setLogSink } from '../../src/log.ts';

/** A manual clock with timers (`advance` runs what falls due, in order). */
function manualClock(start = 0) {
  let time = start;
  let nextId = 0;
  const pending = new Map<number, { at: number; run: () => void }>();
  return {
    now: () => time,
    timers: {
      setTimeout(run: () => void, ms: number): unknown {
        const id = nextId++;
        pending.set(id, { at: time + ms, run });
        return id;
      },
      clearTimeout(handle: unknown) {
        pending.delete(handle as number);
      },
    },
    async advance(ms: number) {
      const until = time + ms;
      for (;;) {
        // Let attempts' promises settle before picking the next timer.
        for (let i = 0; i < 5; i += 1) await Promise.resolve();
        const due = [...pending.entries()].filter(([, timer]) => timer.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
        if (due === undefined) break;
        pending.delete(due[0]);
        time = Math.max(time, due[1].at);
        due[1].run();
      }
      time = until;
      for (let i = 0; i < 5; i += 1) await Promise.resolve();
    },
  };
}

/** A backend whose next answers the test sets. */
function scripted(initial: LeaseObservation | 'down') {
  let answer: LeaseObservation | 'down' = initial;
  const backend: LeaseBackend & { set(next: LeaseObservation | 'down'): void; attempts: number; released: number } = {
    kind: 'etcd',
    describe: 'scripted',
    attempts: 0,
    released: 0,
    set(next) {
      answer = next;
    },
    async attempt() {
      backend.attempts += 1;
      if (answer === 'down') throw new Error('connection refused');
      return answer;
    },
    async release() {
      backend.released += 1;
    },
  };
  return backend;
}

const quiet = (): (() => void) => {
  const previous = setLogSink(() => undefined);
  return () => setLogSink(previous);
};

describe('leadership', () => {
  it('opens the gate on proof and closes it when a renewal is overdue by (duration - renew) / 2', async () => {
    const restore = quiet();
    const clock = manualClock(1_000);
    const backend = scripted({ held: true, holder: 'me' });
    const leadership = createLeadership({ backend, identity: 'me', durationMs: 15_000, renewMs: 5_000, now: clock.now, timers: clock.timers });
    const transitions: Transition[] = [];
    leadership.onTransition((transition) => transitions.push(transition));
    let opened = 0;
    leadership.onOpen(() => (opened += 1));
    expect(leadership.isOpen()).toBe(false);
    leadership.start();
    await clock.advance(0);
    expect(leadership.isOpen()).toBe(true);
    expect(opened).toBe(1);
    expect(leadership.view()).toMatchObject({ role: 'leader', holder: 'me', reachable: true, transitions: 1, writeDeadline: 1_000 + 10_000 });

    // etcd becomes unreachable right after the proof at t=1000: the gate closes at 1000 + 5000 + 5000.
    backend.set('down');
    await clock.advance(9_999);
    expect(leadership.isOpen()).toBe(true);
    await clock.advance(1);
    expect(leadership.isOpen()).toBe(false);
    expect(leadership.view()).toMatchObject({ role: 'standby', reachable: false });
    // Nobody else could hold the lease before 1000 + 15000: the gate closed 5 s earlier.
    expect(clock.now()).toBeLessThanOrEqual(1_000 + 15_000 - leadership.overdueMarginMs);
    expect(transitions.map((t) => [t.role, t.reason])).toEqual([
      ['leader', 'lease acquired'],
      ['standby', 'renewal overdue'],
    ]);

    // It answers again and the lease is still ours: the gate reopens.
    backend.set({ held: true, holder: 'me' });
    await clock.advance(1_000);
    expect(leadership.isOpen()).toBe(true);
    expect(transitions).toHaveLength(3);
    await leadership.stop(true);
    expect(backend.released).toBe(1);
    expect(leadership.isOpen()).toBe(false);
    restore();
  });

  it('a standby polls every second and never opens the gate while another holds the lease', async () => {
    const restore = quiet();
    const clock = manualClock();
    const backend = scripted({ held: false, holder: 'other' });
    const leadership = createLeadership({ backend, identity: 'me', durationMs: 15_000, renewMs: 5_000, now: clock.now, timers: clock.timers });
    leadership.start();
    await clock.advance(10_000);
    expect(leadership.isOpen()).toBe(false);
    expect(leadership.view()).toMatchObject({ role: 'standby', holder: 'other', transitions: 0 });
    expect(backend.attempts).toBeGreaterThanOrEqual(10);
    backend.set({ held: true, holder: 'me' });
    await clock.advance(1_000);
    expect(leadership.isOpen()).toBe(true);
    expect(leadership.view().transitions).toBe(1);
    await leadership.stop(false);
    expect(backend.released).toBe(0);
    restore();
  });

  it('losing the lease to another instance closes the gate at once', async () => {
    const restore = quiet();
    const clock = manualClock();
    const backend = scripted({ held: true, holder: 'me' });
    const leadership = createLeadership({ backend, identity: 'me', durationMs: 15_000, renewMs: 5_000, now: clock.now, timers: clock.timers });
    const reasons: string[] = [];
    leadership.onTransition((transition) => reasons.push(transition.reason));
    leadership.start();
    await clock.advance(0);
    backend.set({ held: false, holder: 'other' });
    await clock.advance(5_000);
    expect(leadership.isOpen()).toBe(false);
    expect(reasons).toEqual(['lease acquired', 'lease held by another instance']);
    await leadership.stop(true);
    restore();
  });

  it('a standby that cannot reach the service turns unhealthy when a leader in its place would stop writing, and says why', async () => {
    const restore = quiet();
    const clock = manualClock();
    const backend = scripted({ held: false, holder: 'other' });
    const leadership = createLeadership({ backend, identity: 'me', durationMs: 15_000, renewMs: 5_000, now: clock.now, timers: clock.timers });
    expect(leadership.view()).toMatchObject({ healthy: false, unhealthyReason: 'not competing for the lease yet' });
    leadership.start();
    await clock.advance(0);
    expect(leadership.view()).toMatchObject({ role: 'standby', holder: 'other', healthy: true, lastContactAt: 0 });
    expect(leadership.view().unhealthyReason).toBeUndefined();
    // The service goes away: a blip (one failed attempt, or several within renew + margin = 10 s) changes nothing.
    backend.set('down');
    await clock.advance(9_000);
    expect(leadership.view()).toMatchObject({ healthy: true, reachable: false });
    // From then on the standby could not take the lease over: not healthy, with the cause.
    await clock.advance(2_000);
    const view = leadership.view();
    expect(view.healthy).toBe(false);
    expect(view.unhealthyReason).toMatch(/has not answered for 11 s \(scripted\) \(connection refused\): this instance could not take the lease over/);
    // The next answer makes it healthy again.
    backend.set({ held: false, holder: 'other' });
    await clock.advance(1_000);
    expect(leadership.view()).toMatchObject({ healthy: true, reachable: true });
    await leadership.stop(false);
    restore();
  });

  it('a leader is healthy while its gate is open; cut off, it turns unhealthy when its gate closes', async () => {
    const restore = quiet();
    const clock = manualClock();
    const backend = scripted({ held: true, holder: 'me' });
    const leadership = createLeadership({ backend, identity: 'me', durationMs: 15_000, renewMs: 5_000, now: clock.now, timers: clock.timers });
    leadership.start();
    await clock.advance(0);
    expect(leadership.view()).toMatchObject({ role: 'leader', healthy: true });
    backend.set('down');
    await clock.advance(9_999);
    expect(leadership.view()).toMatchObject({ role: 'leader', healthy: true });
    await clock.advance(1);
    expect(leadership.isOpen()).toBe(false);
    expect(leadership.view()).toMatchObject({ role: 'standby', healthy: false });
    await leadership.stop(false);
    restore();
  });

  it('a standby that never reached the service is not healthy and names the error', async () => {
    const restore = quiet();
    const clock = manualClock();
    const leadership = createLeadership({ backend: scripted('down'), identity: 'me', durationMs: 15_000, renewMs: 5_000, now: clock.now, timers: clock.timers });
    leadership.start();
    await clock.advance(0);
    expect(leadership.view()).toMatchObject({ healthy: false, reachable: false });
    expect(leadership.view().unhealthyReason).toMatch(/has not answered \(scripted\) \(connection refused\)/);
    await leadership.stop(false);
    restore();
  });

  it('rejects a renewal interval not shorter than the duration', () => {
    expect(() => createLeadership({ backend: scripted('down'), identity: 'me', durationMs: 5_000, renewMs: 5_000 })).toThrow(/less than the duration/);
  });
});
