/**
 * The Kubernetes backend: a `coordination.k8s.io/v1` Lease, the object client-go's leader election uses, with
 * every change checked against the `resourceVersion` last read (a stale one answers 409 Conflict, so two
 * candidates can never both take it).
 *
 * Expiry is judged on this instance's own clock, as client-go does: a holder's record counts as expired only
 * when it has not changed (same `resourceVersion`) for `leaseDurationSeconds` since this instance first saw it,
 * so clock skew between nodes cannot hand the lease over early.
 *
 * Tested against an emulation of the documented API (test/helpers/kube-lease-api.ts): no API server can be
 * installed on the machines that build EXAS.
 */
import { CoordinationError, requestJson, type TlsFiles } from './http-json.ts';
import type { LeaseBackend } from './types.ts';

export interface KubernetesLeaseOptions {
  /** API server URL (`https://10.96.0.1:443`). */
  readonly server: string;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly durationSeconds: number;
  /** Bearer token, read at each request (a projected service-account token is rotated in place). */
  readonly token?: () => string;
  readonly tls?: TlsFiles;
  /** Per request (default 2 000 ms). */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}

/** The parts of a Lease EXAS reads and writes (see the Kubernetes API reference, Lease v1 coordination.k8s.io). */
interface LeaseObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** Kubernetes' MicroTime: RFC 3339 with microseconds. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function createKubernetesLease(options: KubernetesLeaseOptions): LeaseBackend {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const base = `${options.server.replace(/\/+$/, '')}/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(options.namespace)}/leases`;
  const itemUrl = `${base}/${encodeURIComponent(options.name)}`;
  /** The holder record last seen and when this instance first saw it (its own clock). */
  let observed: { resourceVersion: string; at: number } | undefined;

  const send = (method: 'GET' | 'POST' | 'PUT', url: string, body?: LeaseObject, signal?: AbortSignal) =>
    requestJson({
      method,
      url,
      timeoutMs,
      ...(body === undefined ? {} : { body }),
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(options.token === undefined ? {} : { headers: { authorization: `Bearer ${options.token()}` } }),
      ...(signal === undefined ? {} : { signal }),
    });

  const unexpected = (what: string, status: number, body: unknown): CoordinationError => {
    const message = typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string' ? (body as { message: string }).message : `HTTP ${status}`;
    return new CoordinationError(`Kubernetes ${what} lease ${options.namespace}/${options.name}: ${message}`, status);
  };

  const read = async (signal?: AbortSignal): Promise<LeaseObject | null> => {
    const response = await send('GET', itemUrl, undefined, signal);
    if (response.status === 404) return null;
    if (response.status !== 200) throw unexpected('reading', response.status, response.body);
    return response.body as LeaseObject;
  };

  /** PUT with the resourceVersion read: true when it went through, false on 409 (someone changed it first). */
  const replace = async (lease: LeaseObject, signal?: AbortSignal): Promise<boolean> => {
    const response = await send('PUT', itemUrl, lease, signal);
    if (response.status === 409) return false;
    if (response.status !== 200) throw unexpected('updating', response.status, response.body);
    const stored = response.body as LeaseObject;
    if (stored.metadata?.resourceVersion !== undefined) observed = { resourceVersion: stored.metadata.resourceVersion, at: now() };
    return true;
  };

  const fresh = (at: number, transitions: number, previous?: LeaseObject): LeaseObject => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: options.name, namespace: options.namespace, ...(previous?.metadata.resourceVersion === undefined ? {} : { resourceVersion: previous.metadata.resourceVersion }) },
    spec: { holderIdentity: options.identity, leaseDurationSeconds: options.durationSeconds, acquireTime: microTime(at), renewTime: microTime(at), leaseTransitions: transitions },
  });

  return {
    kind: 'kubernetes',
    describe: `lease ${options.namespace}/${options.name} at ${options.server}`,

    async attempt(signal) {
      const at = now();
      const lease = await read(signal);
      if (lease === null) {
        const response = await send('POST', base, fresh(at, 0), signal);
        if (response.status === 409) return { held: false, holder: null };
        if (response.status !== 201 && response.status !== 200) throw unexpected('creating', response.status, response.body);
        const stored = response.body as LeaseObject;
        observed = stored.metadata?.resourceVersion === undefined ? undefined : { resourceVersion: stored.metadata.resourceVersion, at: now() };
        return { held: true, holder: options.identity };
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? null;
      const version = lease.metadata.resourceVersion ?? '';
      if (observed?.resourceVersion !== version) observed = { resourceVersion: version, at };
      if (holder === options.identity) {
        const renewed: LeaseObject = { ...lease, spec: { ...spec, renewTime: microTime(at), leaseDurationSeconds: options.durationSeconds } };
        return (await replace(renewed, signal)) ? { held: true, holder } : { held: false, holder: null };
      }
      const durationMs = (spec.leaseDurationSeconds ?? options.durationSeconds) * 1000;
      const free = holder === null || holder === '' || at >= observed.at + durationMs;
      if (!free) return { held: false, holder };
      const taken = fresh(at, (spec.leaseTransitions ?? 0) + 1, lease);
      return (await replace(taken, signal)) ? { held: true, holder: options.identity } : { held: false, holder };
    },

    async release(signal) {
      const lease = await read(signal);
      if (lease === null || lease.spec?.holderIdentity !== options.identity) return;
      // As client-go does on release: no holder, a 1 s duration, so any candidate takes it at its next attempt.
      const at = now();
      await replace({ ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(at) } }, signal);
    },
  };
}
