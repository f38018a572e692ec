/**
 * The Kubernetes Lease backend against an emulation of the documented Lease API (test/helpers/kube-lease-api.ts):
 * no API server can be installed here. The emulation's own strictness is checked first, over raw HTTP.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKubernetesLease, inClusterAccess, kubeconfigAccess } from '../../src/ha/index.ts';
import { startKubeLeaseApi, type KubeLeaseApi } from '../helpers/kube-lease-api.ts';

const TOKEN = 'test-token';
let api: KubeLeaseApi;
beforeAll(async () => {
  api = await startKubeLeaseApi({ token: TOKEN });
});
afterAll(async () => {
  await api?.close();
});

const path = (name?: string): string => `/apis/coordination.k8s.io/v1/namespaces/exas/leases${name === undefined ? '' : `/${name}`}`;
const raw = async (method: string, url: string, body?: unknown, token = TOKEN): Promise<{ status: number; body: Record<string, unknown> }> => {
  const response = await fetch(`${api.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};
const lease = (name: string, extra: Record<string, unknown> = {}) => ({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, ...extra }, spec: { holderIdentity: 'x', leaseDurationSeconds: 15 } });

describe('the Lease API emulation is as strict as the documented API', () => {
  it('404 on a missing lease, 201 on create, 409 AlreadyExists on a second create', async () => {
    expect((await raw('GET', path('strict'))).status).toBe(404);
    expect((await raw('POST', path(), lease('strict'))).status).toBe(201);
    const again = await raw('POST', path(), lease('strict'));
    expect(again.status).toBe(409);
    expect(again.body['reason']).toBe('AlreadyExists');
  });

  it('an update needs the current resourceVersion: 422 without one, 409 Conflict on a stale one', async () => {
    const created = await raw('POST', path(), lease('versions'));
    const version = (created.body['metadata'] as { resourceVersion: string }).resourceVersion;
    expect((await raw('PUT', path('versions'), lease('versions'))).status).toBe(422);
    const updated = await raw('PUT', path('versions'), lease('versions', { resourceVersion: version }));
    expect(updated.status).toBe(200);
    expect((updated.body['metadata'] as { resourceVersion: string }).resourceVersion).not.toBe(version);
    const stale = await raw('PUT', path('versions'), lease('versions', { resourceVersion: version }));
    expect(stale.status).toBe(409);
    expect(stale.body['reason']).toBe('Conflict');
  });

  it('401 without the bearer token; 422 on a non-positive duration', async () => {
    expect((await raw('GET', path('strict'), undefined, 'wrong')).status).toBe(401);
    const bad = { ...lease('bad'), spec: { leaseDurationSeconds: 0 } };
    expect((await raw('POST', path(), bad)).status).toBe(422);
  });
});

describe('Kubernetes lease backend', () => {
  const candidate = (identity: string, name: string, now: () => number = Date.now) =>
    createKubernetesLease({ server: api.url, namespace: 'exas', name, identity, durationSeconds: 10, token: () => TOKEN, now });

  it('creates the lease when it is absent (404 then create) and renews it with the resourceVersion it read', async () => {
    const a = candidate('pod-a', 'create');
    expect(await a.attempt()).toEqual({ held: true, holder: 'pod-a' });
    const first = api.lease('exas', 'create')!;
    expect(first.spec['holderIdentity']).toBe('pod-a');
    expect(first.spec['leaseDurationSeconds']).toBe(10);
    expect(await a.attempt()).toEqual({ held: true, holder: 'pod-a' });
    const second = api.lease('exas', 'create')!;
    expect(second.metadata.resourceVersion).not.toBe(first.metadata.resourceVersion);
    expect(second.spec['leaseTransitions']).toBe(0);
  });

  it('a second candidate waits for the lease to expire on its own clock, then takes it (leaseTransitions + 1)', async () => {
    let clock = 1_000_000;
    const a = candidate('pod-a', 'takeover', () => clock);
    const b = candidate('pod-b', 'takeover', () => clock);
    expect((await a.attempt()).held).toBe(true);
    expect(await b.attempt()).toEqual({ held: false, holder: 'pod-a' });
    clock += 9_000;
    expect(await b.attempt()).toEqual({ held: false, holder: 'pod-a' });
    // A renewal (new resourceVersion) restarts b's count.
    expect((await a.attempt()).held).toBe(true);
    clock += 2_000;
    expect(await b.attempt()).toEqual({ held: false, holder: 'pod-a' });
    clock += 10_000;
    expect(await b.attempt()).toEqual({ held: true, holder: 'pod-b' });
    expect(api.lease('exas', 'takeover')!.spec['leaseTransitions']).toBe(1);
    // The old holder comes back: it sees the new holder and does not take it back.
    expect(await a.attempt()).toEqual({ held: false, holder: 'pod-b' });
  });

  it('of two candidates racing for an expired lease, exactly one takes it (the other gets 409 or sees the winner)', async () => {
    let clock = 2_000_000;
    const a = candidate('pod-a', 'race', () => clock);
    const b = candidate('pod-b', 'race', () => clock);
    const c = candidate('pod-c', 'race', () => clock);
    expect((await a.attempt()).held).toBe(true);
    await b.attempt();
    await c.attempt();
    clock += 11_000;
    const results = await Promise.all([b.attempt(), c.attempt()]);
    expect(results.filter((result) => result.held)).toHaveLength(1);
    const winner = results[0]!.held ? 'pod-b' : 'pod-c';
    expect(api.lease('exas', 'race')!.spec['holderIdentity']).toBe(winner);
  });

  it('release clears the holder so another candidate takes it at once', async () => {
    const a = candidate('pod-a', 'release');
    const b = candidate('pod-b', 'release');
    expect((await a.attempt()).held).toBe(true);
    expect((await b.attempt()).held).toBe(false);
    await a.release();
    expect(api.lease('exas', 'release')!.spec['holderIdentity']).toBeNull();
    expect(await b.attempt()).toEqual({ held: true, holder: 'pod-b' });
  });

  it('an API server outage rejects the attempt', async () => {
    const a = candidate('pod-a', 'outage');
    api.unavailable = true;
    try {
      await expect(a.attempt()).rejects.toThrow(/503|unable/);
    } finally {
      api.unavailable = false;
    }
    expect((await a.attempt()).held).toBe(true);
  });
});

describe('Kubernetes credentials', () => {
  it('in a pod: server from KUBERNETES_SERVICE_HOST, token re-read from the service account at each use', () => {
    const files: Record<string, string> = { '/sa/token': 'token-1\n', '/sa/ca.crt': 'CA PEM', '/sa/namespace': 'shard-ns\n' };
    const access = inClusterAccess({ KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, (file) => {
      const text = files[file];
      if (text === undefined) throw new Error('ENOENT');
      return text;
    }, '/sa');
    expect(access.server).toBe('https://10.96.0.1:443');
    expect(access.namespace).toBe('shard-ns');
    expect(access.tls.ca).toBe('CA PEM');
    expect(access.token?.()).toBe('token-1');
    files['/sa/token'] = 'token-2';
    expect(access.token?.()).toBe('token-2');
  });

  it('outside a pod without a kubeconfig: a clear error', () => {
    expect(() => inClusterAccess({}, () => '')).toThrow(/not in a pod.*kubeconfig/);
  });

  it('a kubeconfig: current context, CA data, token, namespace; exec plugins are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'exas-kubeconfig-'));
    const file = join(dir, 'config');
    const config = (user: string): string => `apiVersion: v1
kind: Config
current-context: ops
contexts:
  - name: ops
    context: { cluster: c1, user: u1, namespace: exas-prod }
clusters:
  - name: c1
    cluster: { server: "https://k8s.example.test:6443", certificate-authority-data: ${Buffer.from('CA PEM').toString('base64')} }
users:
  - name: u1
    user: ${user}
`;
    writeFileSync(file, config('{ token: abc }'));
    const access = kubeconfigAccess(file);
    expect(access).toMatchObject({ server: 'https://k8s.example.test:6443', namespace: 'exas-prod', tls: { ca: 'CA PEM' } });
    expect(access.token?.()).toBe('abc');
    writeFileSync(file, config('{ exec: { command: aws } }'));
    expect(() => kubeconfigAccess(file)).toThrow(/exec or auth-provider/);
  });
});
