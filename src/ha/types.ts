/**
 * The lease a shard's instances compete for (DESIGN.md "Scale beyond one sidecar"): one holder writes to GC, the
 * others stand by. A backend speaks to one coordination service (etcd, a Kubernetes `Lease`); `leadership.ts`
 * turns its answers into a write gate with the timing guarantees.
 */

/** What one attempt to take or renew the lease found. */
export interface LeaseObservation {
  /** True when this instance holds the lease after the attempt (taken now or renewed). */
  readonly held: boolean;
  /** The identity holding the lease, as the service reported it (null: nobody, or not known). */
  readonly holder: string | null;
}

/** One coordination service. Every method rejects when the service cannot be reached or answers badly. */
export interface LeaseBackend {
  readonly kind: 'etcd' | 'kubernetes';
  /** Where the lease lives, for logs (no secrets): `etcd key /exas/leases/shard-a`, `lease ns/name`. */
  readonly describe: string;
  /**
   * Takes the lease if nobody holds it (or its holder let it expire), renews it if this instance holds it,
   * and otherwise reports the holder. One attempt, bounded by the backend's request timeout.
   */
  attempt(signal?: AbortSignal): Promise<LeaseObservation>;
  /** Gives the lease up if this instance holds it, so a standby takes it at once. */
  release(signal?: AbortSignal): Promise<void>;
}

export type LeaseRole = 'leader' | 'standby';

/** The lease as the status page, `/readyz` and `/metrics` show it. */
export interface LeaseView {
  readonly role: LeaseRole;
  /** This instance's identity (`ha.identity`). */
  readonly identity: string;
  /** Who holds the lease as last seen (null: nobody, or the service could not be reached). */
  readonly holder: string | null;
  /** True while the coordination service answered the last attempt. */
  readonly reachable: boolean;
  /** Leader ↔ standby changes since start. */
  readonly transitions: number;
  /** Epoch ms until which a leader may start GC writes (absent on a standby). */
  readonly writeDeadline?: number;
  /**
   * This instance's part of readiness: false when it cannot show that it could lead, i.e. the coordination service
   * has not answered an attempt sent within the last `renew + overdueMargin` (the same deadline after which a
   * leader stops writing). A standby that cannot reach the service could not take over, so it is not ready.
   * Absent means true (views built by tests or tools).
   */
  readonly healthy?: boolean;
  /** Why `healthy` is false, for `/readyz` and the status page (absent when healthy). */
  readonly unhealthyReason?: string;
  /** Epoch ms when the last attempt the service answered was sent (absent: never answered). */
  readonly lastContactAt?: number;
}
