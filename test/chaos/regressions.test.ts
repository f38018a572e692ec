/**
 * Regressions the chaos suite found, pinned as fast deterministic tests (the chaos run itself is `npm run chaos`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setLogSink, type LogSink } from '../../src/log.ts';
import { createWriter } from '../../src/sync/writer.ts';
import { FakeClock, FakeHttpError, FakeTarget, runUntilIdle, settle } from '../unit/sync/fakes.ts';

let previousSink: LogSink;
beforeAll(() => {
  previousSink = setLogSink(() => {});
});
afterAll(() => {
  setLogSink(previousSink);
});

describe('chaos regressions: writer during a GC outage', () => {
  it('a GC outage does not spend the budget on one-user retries: changes during it leave in a few batches', async () => {
    const clock = new FakeClock();
    let down = true;
    const target = new FakeTarget(clock, { latencyMs: 10, respond: () => (down ? new FakeHttpError(503) : undefined) });
    const writer = createWriter({ targets: [target], now: clock.now, timers: clock.timers, random: () => 0.5 });
    writer.start();
    // 50 agents change one after another, 100 ms apart, during a 5 s outage (the chaos storm in miniature).
    for (let index = 0; index < 50; index += 1) {
      writer.setDesired(`u${index}`, { presence: 'Busy', routingStatus: 'OffQueue' });
      await settle();
      await clock.advance(100);
    }
    const duringOutage = target.calls.length;
    down = false;
    await runUntilIdle(clock, writer);
    // Before the fix every user retried on its own timer: about one failed request per user (50+).
    expect(duringOutage).toBeLessThanOrEqual(10);
    expect(target.calls.length - duringOutage).toBeLessThanOrEqual(30);
    for (let index = 0; index < 50; index += 1) expect(writer.get(`u${index}`)?.acknowledged).toEqual({ presence: 'Busy', routingStatus: 'OffQueue' });
  });
});
