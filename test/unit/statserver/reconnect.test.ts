import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createStatisticsApiSource } from '../../../src/statserver/index.ts';
import type { Logger, LogFields } from '../../../src/log.ts';
import { fakeScheduler } from './fake-scheduler.ts';

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

function capturingLogger(lines: Array<{ message: string; fields: LogFields }>): Logger {
  const logger: Logger = {
    debug: () => undefined,
    info: (message, fields = {}) => void lines.push({ message, fields }),
    warn: (message, fields = {}) => void lines.push({ message, fields }),
    error: (message, fields = {}) => void lines.push({ message, fields }),
    child: () => logger,
  };
  return logger;
}

describe('Statistics API adapter reconnect policy', () => {
  it('retries with exponential backoff capped at maxMs, jittered, trying the primary then the backup in turn', async () => {
    const [primary, backup] = [await closedPort(), await closedPort()];
    const clock = fakeScheduler();
    const delays: number[] = [];
    let timerSet: () => void = () => undefined;
    const scheduler = {
      ...clock,
      setTimer: (callback: () => void, ms: number) => {
        delays.push(ms);
        timerSet();
        return clock.setTimer(callback, ms);
      },
    };
    const nextTimer = () => new Promise<void>((resolve) => (timerSet = resolve));
    const lines: Array<{ message: string; fields: LogFields }> = [];
    const tokens: string[] = [];
    const source = createStatisticsApiSource({
      endpoints: [{ baseUrl: `http://127.0.0.1:${primary}` }, { baseUrl: `http://127.0.0.1:${backup}` }],
      apiKey: 'k',
      bearerToken: async () => {
        tokens.push('t');
        return 't';
      },
      reconnect: { initialMs: 100, maxMs: 1000 },
      scheduler,
      random: () => 1,
      logger: capturingLogger(lines),
    });
    await source.start();
    expect(source.isConnected()).toBe(false);
    for (let attempt = 1; attempt < 6; attempt += 1) {
      const scheduled = nextTimer();
      clock.advance(delays.at(-1)!);
      await scheduled;
    }
    await source.stop();
    expect(delays).toEqual([100, 200, 400, 800, 1000, 1000]);
    const tried = lines.filter((line) => line.message.includes('attempt failed')).map((line) => line.fields['endpoint']);
    expect(tried).toEqual([primary, backup, primary, backup, primary, backup].map((port) => `http://127.0.0.1:${port}`));
    expect(tokens).toHaveLength(6);
    expect(source.stats()).toMatchObject({ connected: false, reconnects: 0 });
  });

  it('jitter draws each delay from half to all of the backoff', async () => {
    const port = await closedPort();
    const clock = fakeScheduler();
    const delays: number[] = [];
    let timerSet: () => void = () => undefined;
    const first = new Promise<void>((resolve) => (timerSet = resolve));
    const source = createStatisticsApiSource({
      endpoints: [{ baseUrl: `http://127.0.0.1:${port}` }],
      apiKey: 'k',
      reconnect: { initialMs: 100, maxMs: 1000 },
      scheduler: { ...clock, setTimer: (callback, ms) => (delays.push(ms), timerSet(), clock.setTimer(callback, ms)) },
      random: () => 0,
      logger: capturingLogger([]),
    });
    await source.start();
    await first;
    await source.stop();
    expect(delays).toEqual([50]);
  });
});
