/**
 * @module
 * High availability (DESIGN.md "Scale beyond one sidecar"): instances of one shard share a lease in an existing
 * coordination service (etcd, or a Kubernetes `Lease`); the holder writes to GC, the others stand by. See
 * README.md beside this file for the backends and the timing.
 */
export type { LeaseBackend, LeaseObservation, LeaseRole, LeaseView } from './types.ts';
export { createEtcdLease, etcdLeaseKey, type EtcdLeaseOptions } from './etcd.ts';
export { createKubernetesLease, type KubernetesLeaseOptions } from './kubernetes.ts';
export { inClusterAccess, kubeconfigAccess, SERVICE_ACCOUNT_DIR, type KubeAccess } from './kube-config.ts';
export { createLeadership, type Leadership, type LeadershipOptions, type Transition, type TransitionReason, type WriteGate } from './leadership.ts';
export { leaseBackendFromConfig, leadershipFromConfig, type LeaseFromConfigOptions } from './from-config.ts';
export { CoordinationError, type TlsFiles } from './http-json.ts';
