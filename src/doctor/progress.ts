/**
 * A progress line for long per-user runs (the primary-source count and `--fix`): done / total, percent, rate
 * and ETA. The rate is measured once a few users are done; before that it is the budget's own rate.
 */

export interface ProgressMeter {
  /** Counts `count` more users done; emits a line when the last one is older than the interval. */
  tick(count?: number): void;
  /** Emits the final line. */
  finish(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * @example
 * const meter = progressMeter('primary source', 20_000, 285, (line) => process.stderr.write(line + '\n'));
 * meter.tick(); // … "primary source: 1,200/20,000 (6 %), 4.7/s, ETA 60 min"
 */
export function progressMeter(
  label: string,
  total: number,
  budgetPerMinute: number,
  emit: ((line: string) => void) | undefined,
  options: { intervalMs?: number; now?: () => number } = {},
): ProgressMeter {
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 2000;
  const startedAt = now();
  let done = 0;
  let lastAt = startedAt;
  const line = (): string => {
    const elapsed = (now() - startedAt) / 1000;
    const measured = done >= 10 && elapsed > 0 ? done / elapsed : undefined;
    const rate = measured ?? budgetPerMinute / 60;
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    const eta = done >= total ? 'done' : `ETA ${formatDuration((total - done) / rate)}`;
    return `${label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${percent} %), ${rate.toFixed(1)}/s, ${eta}`;
  };
  return {
    tick(count = 1) {
      done += count;
      if (emit !== undefined && now() - lastAt >= intervalMs) {
        lastAt = now();
        emit(line());
      }
    },
    finish() {
      emit?.(line());
    },
  };
}
