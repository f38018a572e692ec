/** The lease backend and leadership `ha:` describes (config keys in docs/config.md). */
import { readFileSync } from 'node:fs';
import process from 'node:process';
import type { HaConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import { createEtcdLease } from './etcd.ts';
import { inClusterAccess, kubeconfigAccess } from './kube-config.ts';
import { createKubernetesLease } from './kubernetes.ts';
import { createLeadership, type Leadership } from './leadership.ts';
import type { LeaseBackend } from './types.ts';

export interface LeaseFromConfigOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly readFile?: (path: string) => string;
  readonly logger?: Logger;
}

/** Throws with a message naming the config key when the service's credentials cannot be read. */
export function leaseBackendFromConfig(ha: HaConfig, options: LeaseFromConfigOptions = {}): LeaseBackend {
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const lease = ha.lease;
  if (lease.backend === 'etcd') {
    const etcd = lease.etcd;
    if (etcd === null) throw new Error('ha.lease.etcd: endpoints are needed for the etcd backend');
    const tls = etcd.tls;
    const password = etcd.password;
    return createEtcdLease({
      endpoints: etcd.endpoints,
      name: lease.name,
      identity: ha.identity,
      durationSeconds: lease.durationSeconds,
      ...(tls === null
        ? {}
        : {
            tls: {
              ...(tls.caFile === null ? {} : { ca: readFile(tls.caFile) }),
              ...(tls.certFile === null ? {} : { cert: readFile(tls.certFile) }),
              ...(tls.keyFile === null ? {} : { key: readFile(tls.keyFile) }),
            },
          }),
      ...(etcd.username === null ? {} : { username: etcd.username }),
      ...(password === null ? {} : { password: () => password.reveal() }),
      timeoutMs: requestTimeoutMs(lease.renewSeconds),
    });
  }
  const kube = lease.kubernetes;
  const access = kube.kubeconfig === null ? inClusterAccess(options.env ?? process.env, readFile) : kubeconfigAccess(kube.kubeconfig, readFile);
  const namespace = kube.namespace ?? access.namespace;
  if (namespace === undefined) throw new Error('ha.lease.kubernetes.namespace: not set, and the credentials name no namespace');
  return createKubernetesLease({
    server: access.server,
    namespace,
    name: lease.name,
    identity: ha.identity,
    durationSeconds: lease.durationSeconds,
    ...(access.token === undefined ? {} : { token: access.token }),
    tls: access.tls,
    timeoutMs: requestTimeoutMs(lease.renewSeconds),
  });
}

/**
 * Per request: half the renewal interval, between 0.5 and 2 s (an attempt as a whole is cut at the renewal
 * interval; a busy etcd's fsync can take a few hundred ms, so shorter would fail healthy attempts).
 */
function requestTimeoutMs(renewSeconds: number): number {
  return Math.max(500, Math.min(2_000, (renewSeconds * 1000) / 2));
}

export function leadershipFromConfig(ha: HaConfig, options: LeaseFromConfigOptions = {}): Leadership {
  return createLeadership({
    backend: leaseBackendFromConfig(ha, options),
    identity: ha.identity,
    durationMs: ha.lease.durationSeconds * 1000,
    renewMs: ha.lease.renewSeconds * 1000,
    // A standby polls etcd twice a second (two small requests each), the API server once a second.
    standbyPollMs: ha.lease.backend === 'etcd' ? 500 : 1_000,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
}
