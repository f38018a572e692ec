/**
 * A store that cannot be written is visible: counted, timestamped, a metric that an alert watches
 * (ops/exas-alerts.yml ExasStoreSaveFailing) and a warning line for the status page.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthWarnings } from '../../../src/http/app.ts';
import { setLogSink, type LogSink } from '../../../src/log.ts';
import { createExasMetrics, emptyMetricsSnapshot } from '../../../src/metrics/index.ts';
import { createFileStore, type AcknowledgedEntry, type StoreFileSystem } from '../../../src/sync/store.ts';

const lines: string[] = [];
let previous: LogSink;
beforeAll(() => {
  previous = setLogSink((line) => lines.push(line));
});
afterAll(() => {
  setLogSink(previous);
});

const entries = new Map<string, AcknowledgedEntry>([['user-1', { state: { presence: 'OnQueue', routingStatus: 'Idle' }, version: 1, at: 1_764_500_000_000 }]]);

describe('store save failures', () => {
  it('count, keep the last success, show in /metrics and as a status-page warning, and clear on the next good save', async () => {
    const directory = await fs.mkdtemp(join(os.tmpdir(), 'exas-store-health-'));
    let readOnly = false;
    // A read-only volume: opening the temporary file fails (running as root, chmod would not stop it).
    const fileSystem: StoreFileSystem = {
      readFile: (path) => fs.readFile(path, 'utf8'),
      open: async (path, flags) => {
        if (readOnly) throw Object.assign(new Error('read-only file system'), { code: 'EROFS' });
        const handle = await fs.open(path, flags);
        return { writeFile: (data) => handle.writeFile(data), sync: () => handle.sync(), close: () => handle.close() };
      },
      rename: (from, to) => fs.rename(from, to),
      unlink: (path) => fs.unlink(path),
      mkdir: async (path) => void (await fs.mkdir(path, { recursive: true })),
    };
    let clock = 1_764_500_000_000;
    const store = createFileStore(join(directory, 'acknowledged.json'), { fileSystem, now: () => clock, debounceMs: 0 });
    await store.save(entries);
    const firstSave = clock;
    readOnly = true;
    for (let i = 0; i < 2; i += 1) {
      clock += 10_000;
      store.scheduleSave(() => entries);
      await store.flush();
    }
    expect(store.stats()).toMatchObject({ saves: 1, saveFailures: 2, consecutiveFailures: 2, lastSaveAt: firstSave });
    expect(lines.filter((line) => line.includes('acknowledged-state save failed')).map((line) => JSON.parse(line) as Record<string, unknown>)).toContainEqual(
      expect.objectContaining({ level: 'warn', consecutiveFailures: 2, lastSuccessAt: new Date(firstSave).toISOString() }),
    );

    const snapshot = { ...emptyMetricsSnapshot(), store: store.stats() };
    const metrics = createExasMetrics();
    metrics.setSource(() => snapshot);
    const text = await metrics.render();
    expect(text).toContain('exas_store_save_failures_total 2');
    expect(text).toContain('exas_store_save_failing 1');
    expect(text).toContain(`exas_store_last_save_success_timestamp_seconds ${firstSave / 1000}`);
    expect(healthWarnings(snapshot)).toEqual([
      `acknowledged-state store: the last 2 saves failed (last saved ${new Date(firstSave).toISOString()}); a restart would resync every user`,
    ]);

    readOnly = false;
    store.scheduleSave(() => entries);
    await store.flush();
    expect(store.stats()).toMatchObject({ saves: 2, consecutiveFailures: 0 });
    expect(healthWarnings({ ...emptyMetricsSnapshot(), store: store.stats() })).toEqual([]);
    await store.close();
  });
});
