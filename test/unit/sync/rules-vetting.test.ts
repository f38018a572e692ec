/**
 * Hot reload through the rules holder the sidecar uses: the file is read under a size limit, vetted (loaded and
 * its own tests run) by the operator job pool, and only then compiled and made live. A file whose tests fail, or
 * that is too large, is refused with the reason in the status (metrics, status page) and the log; the last good
 * rules stay live. `testOnReload: false` skips the tests.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorJobPool } from '../../../src/http/index.ts';
import { setLogSink, type LogSink } from '../../../src/log.ts';
import type { VetResult } from '../../../src/rules/index.ts';
import { createRulesHolder } from '../../../src/sync/rules-holder.ts';

const lines: string[] = [];
let previous: LogSink;
beforeAll(() => {
  previous = setLogSink((line) => lines.push(line));
});
afterAll(() => {
  setLogSink(previous);
});

const GOOD = `version: 1
rules:
  - name: everyone-busy
    presence: Busy
    routingStatus: OffQueue
tests:
  - name: ready is busy
    events:
      - { state: Ready, expect: { presence: Busy } }
`;
const TESTS_FAIL = GOOD.replace('name: ready is busy', 'name: ready is available').replace('presence: Busy }', 'presence: Available }');

const pool = createOperatorJobPool(1);
afterAll(() => pool.close());
const vet = async (text: string, file: string, runTests: boolean): Promise<VetResult> => (await pool.run({ kind: 'vet', text, file, runTests })) as VetResult;

async function rulesFile(text: string): Promise<string> {
  const directory = await fs.mkdtemp(join(os.tmpdir(), 'exas-vet-'));
  const file = join(directory, 'exas.rules.yaml');
  await fs.writeFile(file, text);
  return file;
}

describe('rules reload vetting', () => {
  it("refuses a file whose own tests fail: the last good rules stay live, and the reason is in the status and the log", async () => {
    const file = await rulesFile(GOOD);
    const holder = createRulesHolder({ file, vet, now: () => 1_764_500_000_000 });
    expect(await holder.reload()).toMatchObject({ ok: true });
    const live = holder.current();
    expect(live?.decide('Ready', 'None', null).presence).toBe('Busy');

    await fs.writeFile(file, TESTS_FAIL);
    const result = await holder.reload();
    expect(result.ok).toBe(false);
    expect(holder.current()).toBe(live);
    const status = holder.status();
    expect(status).toMatchObject({ reloadSuccess: false, rejections: { errors: 0, tests: 1, unreadable: 0 }, lastRejection: { reason: 'tests' } });
    expect(status.lastRejection?.message).toContain("test 'ready is available' fails: presence: expected Available, actual Busy");
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ level: 'error', msg: "rules rejected: the file's own tests fail; the last good rules stay live", reason: 'tests' }),
    );

    // Fixed: accepted, and the refusal is no longer reported.
    await fs.writeFile(file, GOOD.replace('everyone-busy', 'all-busy'));
    expect(await holder.reload()).toMatchObject({ ok: true });
    expect(holder.current()?.rules[0]?.name).toBe('all-busy');
    expect(holder.status().lastRejection).toBeUndefined();
  });

  it('with testOnReload off, loads a file whose tests fail', async () => {
    const holder = createRulesHolder({ file: await rulesFile(TESTS_FAIL), vet, runTests: false });
    expect(await holder.reload()).toMatchObject({ ok: true });
  });

  it('refuses a file over maxFileBytes before parsing it, keeping the last good rules', async () => {
    const file = await rulesFile(GOOD);
    const holder = createRulesHolder({ file, vet, maxFileBytes: 4096 });
    await holder.reload();
    const live = holder.current();
    await fs.writeFile(file, `${GOOD}\n# ${'x'.repeat(5000)}\n`);
    const result = await holder.reload();
    expect(result).toMatchObject({ ok: false, errors: [{ line: 1, column: 1, message: expect.stringMatching(/^the rules file is \d+ bytes; at most 4096 are read/) }] });
    expect(holder.current()).toBe(live);
    expect(holder.status()).toMatchObject({ rejections: { unreadable: 1 }, lastRejection: { reason: 'unreadable' } });
  });

  it('refuses a file with prototype-bearing keys', async () => {
    const holder = createRulesHolder({ file: await rulesFile(GOOD.replace('version: 1', 'version: 1\n__proto__: { polluted: true }')), vet });
    const result = await holder.reload();
    expect(result).toMatchObject({ ok: false, errors: [{ message: "the key '__proto__' is not allowed (it could change an object's prototype)" }] });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});
