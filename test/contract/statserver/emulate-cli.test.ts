import { describe, expect, it } from 'vitest';
import { runStatServerEmulator } from '../../../src/emulators/statserver/cli.ts';
import type { CliIo } from '../../../src/cli/io.ts';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  let printed: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (printed = resolve));
  const cli: CliIo = {
    out: (text) => {
      out.push(text);
      printed();
    },
    err: (text) => void err.push(text),
    readStdin: async () => '',
    colour: false,
  };
  return { cli, out, err, ready };
}

describe('exas emulate statserver', () => {
  it('serves a primary and a backup with the requested crowd, and prints their URLs on stdout', async () => {
    const { cli, out, ready } = io();
    let stop: () => void = () => undefined;
    const run = runStatServerEmulator(['--port', '0', '--agents', '3', '--events-per-second', '0', '--backup-port', '0'], cli, new Promise((resolve) => (stop = resolve)));
    await ready;
    await new Promise((resolve) => setImmediate(resolve));
    const [primary, backup] = out.join('').split('\n').filter((line) => line !== '').map((line) => line.match(/http:\/\/127\.0\.0\.1:\d+/)![0]);
    expect(primary).not.toBe(backup);
    const agents = (await (await fetch(`${backup}/emulator/agents`)).json()) as Array<{ agentId: string }>;
    expect(agents.map((agent) => agent.agentId)).toEqual(['1001', '1002', '1003']);
    stop();
    expect(await run).toBe(0);
  });

  it('is strict by default and --lenient says so and turns the strict checks off', async () => {
    for (const [flags, lenient] of [[[], false], [['--lenient'], true]] as const) {
      const { cli, out, ready } = io();
      let stop: () => void = () => undefined;
      const run = runStatServerEmulator(['--port', '0', '--agents', '1', '--events-per-second', '0', ...flags], cli, new Promise((resolve) => (stop = resolve)));
      await ready;
      const url = out.join('').match(/http:\/\/127\.0\.0\.1:\d+/)![0];
      expect(out.join('').includes('[lenient]')).toBe(lenient);
      const status = (await (await fetch(`${url}/emulator/status`)).json()) as { lenient: boolean };
      expect(status.lenient).toBe(lenient);
      const long = await fetch(`${url}/statistics/v3/subscriptions/x/statistic-values?statisticIds=${'a'.repeat(9000)}`, {
        headers: { 'x-api-key': 'exas-demo', authorization: 'Bearer exas-demo' },
      });
      expect(long.status).toBe(lenient ? 404 : 414);
      stop();
      expect(await run).toBe(0);
    }
  });

  it('rejects a bad flag with usage and exit code 2', async () => {
    const { cli, err } = io();
    expect(await runStatServerEmulator(['--agents', 'many'], cli, Promise.resolve())).toBe(2);
    expect(await runStatServerEmulator(['--bogus'], cli, Promise.resolve())).toBe(2);
    expect(err.join('')).toMatch(/--agents must be a number/);
    expect(err.join('')).toMatch(/usage: exas emulate statserver/);
  });
});
