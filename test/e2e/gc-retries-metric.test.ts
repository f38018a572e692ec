/**
 * End to end: every GC retry shows in exas_gc_retries_total{operation,cause}, writes included. A 429 storm and
 * a 503 outage on the GC emulator must move the write series for 429 and 5xx (the counter once stayed 0
 * through 22 answers of 429 and an outage: it counted only read retries). Read through the sidecar's /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSidecar, type Sidecar } from '../../src/sidecar/index.ts';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

const AGENTS = 8;

describe('exas_gc_retries_total', () => {
  let rig: E2eRig;
  let sidecar: Sidecar;

  const retries = async (): Promise<Record<string, number>> => {
    const text = await sidecar.metrics.render();
    const out: Record<string, number> = {};
    for (const match of text.matchAll(/^exas_gc_retries_total\{operation="(\w+)",cause="(\w+)"\} (\d+)$/gm)) out[`${match[1]} ${match[2]}`] = Number(match[3]);
    return out;
  };
  const setAll = (state: 'Ready' | 'NotReady', reason: string | null = null): void => {
    for (const agentId of rig.agentIds) rig.statServer.setAgent(agentId, { state, callType: 'None', reason });
  };
  const allShow = (presence: string) => () => rig.gc.users().every((user) => user.presence === presence);

  beforeAll(async () => {
    rig = await startE2eRig({ agents: AGENTS });
    setAll('Ready');
    sidecar = createSidecar(rig.config({ drift: { policy: 'off' } }));
    await sidecar.start();
    await sidecar.connector.ready();
    await eventually(allShow('OnQueue'), (done) => done);
  });

  afterAll(async () => {
    await sidecar?.stop(1_000);
    await rig?.close();
  });

  it('starts with every operation × cause series at 0', async () => {
    const start = await retries();
    expect(Object.keys(start)).toHaveLength(12);
    expect(start['write 429']).toBe(0);
    expect(start['write 5xx']).toBe(0);
  });

  it('counts write retries caused by 429 answers', async () => {
    rig.gc.setFaults({ status429Rate: 1, retryAfterSeconds: 1 });
    setAll('NotReady', 'Break');
    const counted = await eventually(retries, (now) => (now['write 429'] ?? 0) > 0);
    expect(counted['write 429']).toBeGreaterThan(0);
    expect(rig.gc.stats().rateLimited).toBeGreaterThan(0);
    rig.gc.setFaults({});
    await eventually(allShow('Break'), (done) => done);
    expect(allShow('Break')()).toBe(true);
  });

  it('counts write retries caused by a 5xx outage', async () => {
    rig.gc.setFaults({ outageSeconds: 1 });
    setAll('Ready');
    const counted = await eventually(retries, (now) => (now['write 5xx'] ?? 0) > 0);
    expect(counted['write 5xx']).toBeGreaterThan(0);
    await eventually(allShow('OnQueue'), (done) => done, 20_000);
    expect(allShow('OnQueue')()).toBe(true);
  });
});
