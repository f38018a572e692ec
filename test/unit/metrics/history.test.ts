import { describe, expect, it } from 'vitest';
import { createExasMetrics, createMetricsHistory, emptyMetricsSnapshot, type MetricsSnapshot } from '../../../src/metrics/index.ts';

function snapshotWith(events: number, usersPending: number, sent: number): MetricsSnapshot {
  const empty = emptyMetricsSnapshot();
  return {
    ...empty,
    statServer: { connected: true, eventsReceived: { CurrentState: events } },
    gc: { ...empty.gc, budgets: [{ client: 'client-0', available: 10, sent, limit: 270 }] },
    writer: { usersPending, oldestPendingAgeSeconds: 0 },
  };
}

describe('metrics history', () => {
  it('samples budget use, pending users and events per second, oldest first', () => {
    let clock = 1_000_000;
    let current = snapshotWith(0, 0, 0);
    const history = createMetricsHistory({ source: () => current, now: () => clock });
    history.sample();
    clock += 5_000;
    current = snapshotWith(50, 7, 120);
    history.sample();
    const samples = history.samples();
    expect(samples).toHaveLength(2);
    expect(samples[0]).toMatchObject({ at: 1_000_000, statServerEventsPerSecond: null, usersPending: 0 });
    expect(samples[1]).toMatchObject({
      at: 1_005_000,
      statServerEventsPerSecond: 10,
      usersPending: 7,
      gcClients: [{ client: 'client-0', sent: 120, limit: 270 }],
    });
  });

  it('gives p50 and p99 of the latencies seen since the previous sample, null when none', () => {
    const history = createMetricsHistory({ source: () => undefined });
    for (let ms = 1; ms <= 100; ms += 1) history.observeLatency(ms / 1000);
    history.sample();
    history.sample();
    const [busy, quiet] = history.samples();
    expect(busy).toMatchObject({ latencyP50Seconds: 0.05, latencyP99Seconds: 0.099 });
    expect(quiet).toMatchObject({ latencyP50Seconds: null, latencyP99Seconds: null });
  });

  it('keeps only the newest `capacity` samples (15 minutes of 5 s samples by default)', () => {
    let clock = 0;
    const history = createMetricsHistory({ source: () => undefined, now: () => clock });
    expect(history.capacity).toBe(180);
    for (let index = 0; index < 200; index += 1) {
      history.sample();
      clock += 5_000;
    }
    const samples = history.samples();
    expect(samples).toHaveLength(180);
    expect(samples[0]?.at).toBe(20 * 5_000);
    expect(samples[179]?.at).toBe(199 * 5_000);
  });

  it('is fed by the metric set: its latency instrument and its pulled source', () => {
    const metrics = createExasMetrics({ processMetrics: false, source: () => snapshotWith(0, 3, 9) });
    metrics.eventToGcLatency.observe(0.2);
    metrics.history.sample();
    expect(metrics.history.samples()[0]).toMatchObject({ latencyP50Seconds: 0.2, usersPending: 3, gcClients: [{ sent: 9 }] });
  });

  it('refuses an interval or capacity that is not a positive integer', () => {
    expect(() => createMetricsHistory({ source: () => undefined, intervalMs: 0 })).toThrow(/intervalMs/);
    expect(() => createMetricsHistory({ source: () => undefined, capacity: 1.5 })).toThrow(/capacity/);
  });
});
