/**
 * The node:http servers (emulators, the operator server on Node and on Deno's node:http) must never swap the
 * global Request/Response: code in the same process (the Hono app, fetch callers, `exas demo` with emulators and
 * sidecar in one process) relies on the runtime's own classes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startStatServerEmulator } from '../../src/emulators/statserver/index.ts';
import { serve, type RunningServer } from '../../src/platform/serve.ts';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('node:http servers leave the global Request and Response alone', () => {
  it('serve() answers with the runtime Response class still global', async () => {
    const { Request: request, Response: response } = globalThis;
    const server: RunningServer = await serve(() => new Response('ok'), { host: '127.0.0.1', port: 0 });
    closers.push(() => server.close());
    expect(await (await fetch(server.url)).text()).toBe('ok');
    expect(globalThis.Request).toBe(request);
    expect(globalThis.Response).toBe(response);
  });

  it('the Stat Server emulator answers with the runtime Response class still global', async () => {
    const { Request: request, Response: response } = globalThis;
    const emulator = await startStatServerEmulator({ host: '127.0.0.1', port: 0, agents: 1, eventsPerSecond: 0 });
    closers.push(() => emulator.close());
    expect((await fetch(`${emulator.url}/emulator/agents`)).status).toBe(200);
    expect(globalThis.Request).toBe(request);
    expect(globalThis.Response).toBe(response);
  });
});
