/**
 * Runtime smoke test of the lease stage under Deno (and Node): a real etcd (started here on loopback ports) with
 * two candidates through `createLeadership` (one holds, release hands over at once), and the Kubernetes backend
 * against the Lease API emulation. Exits 0 on success.
 *
 *   npx deno run -A test/contract/ha/deno-smoke.ts
 */
import process from 'node:process';
import { createEtcdLease, createKubernetesLease, createLeadership, type Leadership } from '../../../src/ha/index.ts';
import { setLogSink } from '../../../src/log.ts';
import { startEtcd } from '../../helpers/etcd.ts';
import { startKubeLeaseApi } from '../../helpers/kube-lease-api.ts';

setLogSink(() => undefined);
const runtime = 'Deno' in globalThis ? 'deno' : 'node';
const fail = (message: string): never => {
  throw new Error(`[${runtime}] ${message}`);
};

async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const etcd = await startEtcd();
const kube = await startKubeLeaseApi({ token: 't' });
try {
  const candidate = (identity: string): Leadership =>
    createLeadership({
      backend: createEtcdLease({ endpoints: [etcd.url], name: 'deno-smoke', identity, durationSeconds: 3 }),
      identity,
      durationMs: 3_000,
      renewMs: 1_000,
    });
  const a = candidate('deno-a');
  const b = candidate('deno-b');
  a.start();
  await until(() => a.isOpen(), 'deno-a to lead');
  b.start();
  await until(() => b.view().holder === 'deno-a', 'deno-b to see deno-a as the holder');
  if (b.isOpen()) fail('two leaders');
  const released = Date.now();
  await a.stop(true);
  await until(() => b.isOpen(), 'deno-b to take over after the release');
  const handoverMs = Date.now() - released;
  await b.stop(true);

  const k1 = createKubernetesLease({ server: kube.url, namespace: 'exas', name: 'deno-smoke', identity: 'k1', durationSeconds: 5, token: () => 't' });
  const k2 = createKubernetesLease({ server: kube.url, namespace: 'exas', name: 'deno-smoke', identity: 'k2', durationSeconds: 5, token: () => 't' });
  if (!(await k1.attempt()).held) fail('k1 did not create the Lease');
  if ((await k2.attempt()).held) fail('k2 took a held Lease');
  await k1.release();
  if (!(await k2.attempt()).held) fail('k2 did not take the released Lease');
  process.stdout.write(`[${runtime}] lease stage ok: etcd election and release handover in ${handoverMs} ms, Kubernetes Lease create/hold/release\n`);
} finally {
  await kube.close();
  await etcd.close();
}
process.exit(0);
