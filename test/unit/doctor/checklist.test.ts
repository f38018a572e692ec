/**
 * The doctor's pure parts: the checklist text and exit code, and the progress line's rate and ETA. (Reading the
 * missing permissions out of GC's 403 bodies is src/gc/permissions.ts's, tested with it.)
 */
import { describe, expect, it } from 'vitest';
import { exitCodeOf, formatChecklist, formatJson, type DoctorReport } from '../../../src/doctor/index.ts';
import { formatDuration, progressMeter } from '../../../src/doctor/progress.ts';

const report = (statuses: Array<'pass' | 'fail' | 'warn' | 'skip'>): DoctorReport => ({
  config: '/etc/exas/exas.yaml',
  startedAt: '2026-12-07T23:00:00.000Z',
  durationMs: 12_345,
  ok: !statuses.includes('fail'),
  fix: false,
  gcRequests: [30, 12],
  checks: statuses.map((status, index) => ({
    id: `gc.check.${index}`,
    group: index === 0 ? 'config' : 'gc',
    status,
    summary: `check ${index} ${status}`,
    remedy: `remedy ${index}`,
    details: [`detail ${index}`],
  })),
});

describe('doctor checklist', () => {
  it('prints ✓ / ✗ / ! lines by group, remedies only for what did not pass, and the verdict', () => {
    const text = formatChecklist(report(['pass', 'fail', 'warn', 'skip']));
    expect(text).toBe(
      [
        'exas doctor: /etc/exas/exas.yaml',
        '',
        'Config and rules',
        '  ✓ check 0 pass',
        '      detail 0',
        '',
        'Genesys Cloud',
        '  ✗ check 1 fail',
        '      detail 1',
        '      → remedy 1',
        '  ! check 2 warn',
        '      detail 2',
        '      → remedy 2',
        '  - check 3 skip',
        '      detail 3',
        '      → remedy 3',
        '',
        '1 passed, 1 failed, 1 to note; 42 GC requests, 12.3 s',
        'Going live is blocked: fix the ✗ items above.',
        '',
      ].join('\n'),
    );
  });

  it('exits 0 when nothing failed (notes do not block) and 1 otherwise; JSON round-trips', () => {
    expect(exitCodeOf(report(['pass', 'warn', 'skip']))).toBe(0);
    expect(formatChecklist(report(['pass', 'warn']))).toContain('Nothing blocks going live.');
    expect(exitCodeOf(report(['pass', 'fail']))).toBe(1);
    const parsed = JSON.parse(formatJson(report(['pass', 'fail']))) as DoctorReport;
    expect(parsed.checks.map((check) => check.status)).toEqual(['pass', 'fail']);
    expect(parsed.ok).toBe(false);
  });
});

describe('doctor progress line', () => {
  it('uses the budget rate until ten users are done, then the measured rate, and says done at the end', () => {
    let now = 0;
    const lines: string[] = [];
    const meter = progressMeter('primary source (--fix)', 20_000, 300, (line) => lines.push(line), { intervalMs: 1000, now: () => now });
    now = 1000;
    meter.tick(5);
    // 5 done: 300/min = 5/s assumed; 19,995 left → 3,999 s.
    expect(lines.at(-1)).toBe('primary source (--fix): 5/20,000 (0 %), 5.0/s, ETA 67 min');
    now = 600_000;
    meter.tick(2395);
    // 2,400 in 600 s = 4/s; 17,600 left → 4,400 s = 73 min.
    expect(lines.at(-1)).toBe('primary source (--fix): 2,400/20,000 (12 %), 4.0/s, ETA 73 min');
    now = 600_500;
    meter.tick();
    expect(lines).toHaveLength(2);
    meter.finish();
    expect(lines.at(-1)).toMatch(/^primary source \(--fix\): 2,401\/20,000 \(12 %\), 4\.0\/s, ETA 73 min$/);
  });

  it('formats durations in s, min and h', () => {
    expect(formatDuration(42)).toBe('42 s');
    expect(formatDuration(600)).toBe('10 min');
    expect(formatDuration(7200)).toBe('2.0 h');
    expect(formatDuration(Infinity)).toBe('?');
  });
});
