/**
 * The etcd backend against a real etcd (Debian's etcd-server, started here on loopback ports).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEtcdLease, etcdLeaseKey } from '../../src/ha/index.ts';
import { startEtcd, type TestEtcd } from '../helpers/etcd.ts';

let etcd: TestEtcd;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.close();
});

const b64 = (text: string): string => Buffer.from(text).toString('base64');

/** Reads the election key straight from etcd (not through the backend under test). */
async function keyHolder(name: string): Promise<string | null> {
  const response = await fetch(`${etcd.url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64(etcdLeaseKey(name)) }) });
  const body = (await response.json()) as { kvs?: Array<{ value: string }> };
  const kv = body.kvs?.[0];
  return kv === undefined ? null : Buffer.from(kv.value, 'base64').toString('utf8');
}

describe('etcd lease backend (real etcd)', () => {
  it('exactly one of two candidates holds the lease; the other sees the holder', async () => {
    const a = createEtcdLease({ endpoints: [etcd.url], name: 'one-holder', identity: 'pod-a', durationSeconds: 5 });
    const b = createEtcdLease({ endpoints: [etcd.url], name: 'one-holder', identity: 'pod-b', durationSeconds: 5 });
    const [first, second] = await Promise.all([a.attempt(), b.attempt()]);
    expect([first.held, second.held].filter(Boolean)).toHaveLength(1);
    const holder = first.held ? 'pod-a' : 'pod-b';
    expect(first.holder).toBe(holder);
    expect(second.holder).toBe(holder);
    expect(await keyHolder('one-holder')).toBe(holder);
    // Renewing keeps it; the other still cannot take it.
    const [again, other] = first.held ? [await a.attempt(), await b.attempt()] : [await b.attempt(), await a.attempt()];
    expect(again).toEqual({ held: true, holder });
    expect(other).toEqual({ held: false, holder });
    await a.release();
    await b.release();
  });

  it('release hands the lease over at once', async () => {
    const a = createEtcdLease({ endpoints: [etcd.url], name: 'handover', identity: 'pod-a', durationSeconds: 30 });
    const b = createEtcdLease({ endpoints: [etcd.url], name: 'handover', identity: 'pod-b', durationSeconds: 30 });
    expect((await a.attempt()).held).toBe(true);
    expect(await b.attempt()).toEqual({ held: false, holder: 'pod-a' });
    await a.release();
    expect(await keyHolder('handover')).toBeNull();
    expect(await b.attempt()).toEqual({ held: true, holder: 'pod-b' });
    await b.release();
  });

  it('a holder that stops renewing loses the lease when its TTL runs out, not before', async () => {
    const a = createEtcdLease({ endpoints: [etcd.url], name: 'expiry', identity: 'pod-a', durationSeconds: 2 });
    const b = createEtcdLease({ endpoints: [etcd.url], name: 'expiry', identity: 'pod-b', durationSeconds: 2 });
    const heldAt = Date.now();
    expect((await a.attempt()).held).toBe(true);
    // a is now "dead": b polls until it takes the lease.
    let takenAt = 0;
    while (takenAt === 0) {
      const seen = await b.attempt();
      if (seen.held) takenAt = Date.now();
      else {
        expect(seen.holder).toBe('pod-a');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    expect(takenAt - heldAt).toBeGreaterThanOrEqual(2_000);
    expect(takenAt - heldAt).toBeLessThan(5_000);
    // The old holder's next attempt finds its lease gone and reports the new holder.
    expect(await a.attempt()).toEqual({ held: false, holder: 'pod-b' });
    await b.release();
  });

  it('an unreachable etcd rejects the attempt; the next endpoint in the list is tried', async () => {
    const dead = 'http://127.0.0.1:9';
    const down = createEtcdLease({ endpoints: [dead], name: 'endpoints', identity: 'pod-a', durationSeconds: 5, timeoutMs: 500 });
    await expect(down.attempt()).rejects.toThrow();
    const failover = createEtcdLease({ endpoints: [dead, etcd.url], name: 'endpoints', identity: 'pod-a', durationSeconds: 5, timeoutMs: 500 });
    expect(await failover.attempt()).toEqual({ held: true, holder: 'pod-a' });
    await failover.release();
  });

  it('keeps the lease across an etcd restart shorter than the TTL', async () => {
    const a = createEtcdLease({ endpoints: [etcd.url], name: 'restart', identity: 'pod-a', durationSeconds: 20, timeoutMs: 500 });
    expect((await a.attempt()).held).toBe(true);
    await etcd.stop();
    await expect(a.attempt()).rejects.toThrow();
    await etcd.start();
    expect(await a.attempt()).toEqual({ held: true, holder: 'pod-a' });
    await a.release();
  });
});
