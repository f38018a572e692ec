/** The run's assertions: convergence within a bound, no stale writes, and GC's budget never exceeded. */
import { activeProgram, type ChaosContext } from './context.ts';
import { staleWrites, unconverged, type Mismatch, type StaleWrite } from './oracle.ts';

/** The agents not converged right now. */
export function mismatches(context: ChaosContext): Mismatch[] {
  const program = activeProgram(context);
  return unconverged(
    program,
    context.engage.agentIds.map((agentId) => {
      const userId = context.userIds.get(agentId) as string;
      return { agentId, userId, engage: context.engage.current(agentId), gc: context.gc.user(userId) };
    }),
  );
}

/** Waits until every agent converged or `boundMs` passed; returns the time it took and what was still wrong. */
export async function awaitConvergence(context: ChaosContext, boundMs: number, pollMs = 200): Promise<{ ms: number; remaining: Mismatch[] }> {
  const started = Date.now();
  for (;;) {
    const remaining = mismatches(context);
    const ms = Date.now() - started;
    if (remaining.length === 0 || ms >= boundMs) return { ms, remaining };
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Every stale write in the whole recorded history. */
export function allStaleWrites(context: ChaosContext): StaleWrite[] {
  const out: StaleWrite[] = [];
  for (const agentId of context.engage.agentIds) {
    const userId = context.userIds.get(agentId) as string;
    const writes = context.gcHistory.byUser.get(userId);
    if (writes === undefined || writes.length === 0) continue;
    out.push(...staleWrites(userId, context.engage.history.get(agentId) ?? [], writes, context.rules.programs));
  }
  return out;
}

/**
 * Samples GC's request counter every second and keeps the largest count in any 60 s window of one EXAS process
 * (a restarted EXAS starts a fresh budget and a fresh token), an outside view of the budget; the emulator's own
 * 429 count is the hard check.
 */
export class BudgetSampler {
  private readonly samples: Array<{ at: number; requests: number }> = [];
  private readonly timer: ReturnType<typeof setInterval>;
  private epoch: number | undefined;
  peakPerMinute = 0;

  constructor(private readonly read: () => { requests: number; epoch: number }) {
    this.timer = setInterval(() => this.sample(), 1000);
    this.sample();
  }

  private sample(): void {
    const at = Date.now();
    const { requests, epoch } = this.read();
    if (epoch !== this.epoch) this.samples.length = 0;
    this.epoch = epoch;
    this.samples.push({ at, requests });
    while (this.samples.length > 0 && (this.samples[0] as { at: number }).at < at - 60_000) this.samples.shift();
    const oldest = this.samples[0];
    if (oldest !== undefined) this.peakPerMinute = Math.max(this.peakPerMinute, requests - oldest.requests);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
