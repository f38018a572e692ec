/**
 * What EXAS does while GC refuses an endpoint for lack of permissions. A 403 is never retried: the users whose
 * write it refused are parked (the writer) and the denial is logged once and shown on `/readyz`, the status
 * page and `/metrics` (the GC client's permission monitor). Two things bring them back without a restart:
 * - once a request to that endpoint succeeds again (the permission was granted), every parked user goes again;
 * - while a denial stands, one parked user is sent again every `intervalMs` (default 60 s) as a probe: one or
 *   two requests a minute, not one per parked user, so a missing permission costs almost no budget.
 */
import type { PermissionMonitor } from '../gc/index.ts';
import { createLogger, type Logger } from '../log.ts';
import type { Writer } from './writer/index.ts';

export interface PermissionRecheckOptions {
  readonly monitor: Pick<PermissionMonitor, 'missing' | 'onChange'>;
  readonly writer: Pick<Writer, 'retryFailed'>;
  /** How often one parked user is sent again while GC refuses an endpoint (default 60 000 ms). */
  readonly intervalMs?: number;
  readonly timers?: { setInterval(callback: () => void, ms: number): unknown; clearInterval(handle: unknown): void };
  readonly logger?: Logger;
}

export function startPermissionRecheck(options: PermissionRecheckOptions): { stop(): void } {
  const log = options.logger ?? createLogger('sync.permissions');
  const timers = options.timers ?? {
    setInterval: (callback: () => void, ms: number) => {
      const handle = setInterval(callback, ms);
      (handle as { unref?: () => void }).unref?.();
      return handle;
    },
    clearInterval: (handle: unknown) => clearInterval(handle as ReturnType<typeof setInterval>),
  };
  const unsubscribe = options.monitor.onChange(({ endpoint, denied }) => {
    if (denied) return;
    const requeued = options.writer.retryFailed();
    if (requeued > 0) log.info('permission granted: writes refused for it go again', { endpoint, users: requeued });
  });
  const handle = timers.setInterval(() => {
    if (options.monitor.missing().length > 0) options.writer.retryFailed(1);
  }, options.intervalMs ?? 60_000);
  return {
    stop() {
      unsubscribe();
      timers.clearInterval(handle);
    },
  };
}
