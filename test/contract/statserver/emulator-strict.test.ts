/**
 * The Stat Server emulator is as strict as the real Statistics API on what is documented (shared facts,
 * section 6): unknown agents refuse a whole batch with a bare ErrorResponse, request lines over 8 KiB get 414,
 * `objects` must match the object type, and the control API answers a `disconnect` fault before it drops
 * the CometD clients. `lenient` restores the first build's per-statistic errors.
 */
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startStatServerEmulator, type StatServerEmulator } from '../../../src/emulators/statserver/index.ts';
import { started } from '../../helpers/servers.ts';

const auth = { 'x-api-key': 'exas-demo', authorization: 'Bearer exas-demo', 'content-type': 'application/json' };
const definition = { category: 'CurrentState', subject: 'DNStatus', mainMask: '*', notificationMode: 'Immediate', objects: 'Agent' };

async function post(emulator: StatServerEmulator, path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${emulator.url}${path}`, { method: 'POST', headers: auth, body: JSON.stringify(body) });
  return { status: response.status, body: await response.json() };
}

function subscribe(emulator: StatServerEmulator, agentIds: string[]) {
  return post(emulator, '/statistics/v3/subscriptions?verbose=INFO', {
    operationId: crypto.randomUUID(),
    data: { statistics: agentIds.map((objectId) => ({ statisticId: `cs-${objectId}`, objectId, objectType: 'Agent', definition })) },
  });
}

/** Sends raw bytes and resolves with everything the server wrote back before closing (what curl would print). */
function raw(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.write(request);
  });
}

describe('Stat Server emulator, strict (default)', () => {
  it('accepts the official definition with objects: "Agent" and opens every statistic of a known batch', async () => {
    const emulator = await started(() => startStatServerEmulator({ agents: 4 }));
    const { body } = await subscribe(emulator, ['1001', '1002']);
    expect(body).toMatchObject({ status: { code: 0 }, data: { statistics: [{ statisticId: 'cs-1001' }, { statisticId: 'cs-1002' }] } });
  });

  it('POST /emulator/faults {"unknownAgents"} refuses later opens of those agents until {} clears it', async () => {
    const emulator = await started(() => startStatServerEmulator({ agents: 4 }));
    expect(await post(emulator, '/emulator/faults', { unknownAgents: ['1003'] })).toEqual({ status: 200, body: { applied: { unknownAgents: ['1003'] } } });
    const refused = await subscribe(emulator, ['1001', '1003', '1004']);
    expect(refused.body).toEqual({ status: { code: 2, detail: {}, message: expect.stringContaining('object not found') }, path: '/statistics/v3/subscriptions' });
    expect(JSON.stringify(refused.body)).not.toContain('1003');
    expect(emulator.statisticCount().primary).toBe(0);
    expect(((await subscribe(emulator, ['1001', '1004'])).body as { status: { code: number } }).status.code).toBe(0);
    const status = (await (await fetch(`${emulator.url}/emulator/status`)).json()) as { unknownAgents: string[]; lenient: boolean };
    expect(status).toMatchObject({ unknownAgents: ['1003'], lenient: false });
    expect((await post(emulator, '/emulator/faults', { unknownAgents: 'x' })).status).toBe(400);
    // knownAgents undoes it for the agents it names only.
    await post(emulator, '/emulator/faults', { unknownAgents: ['1002'] });
    await post(emulator, '/emulator/faults', { knownAgents: ['1003'] });
    expect(((await subscribe(emulator, ['1003'])).body as { status: { code: number } }).status.code).toBe(0);
    expect(((await subscribe(emulator, ['1002'])).body as { status: { code: number } }).status.code).toBe(2);
    await post(emulator, '/emulator/faults', {});
    expect(((await subscribe(emulator, ['1003'])).body as { status: { code: number } }).status.code).toBe(0);
  });

  it('answers 414 to a request line over 8 KiB in bytes, and serves one of exactly 8 KiB', async () => {
    const emulator = await started(() => startStatServerEmulator({ agents: 1 }));
    const { statisticsPath, line } = { statisticsPath: '/statistics/v3/subscriptions/none/statistic-values?statisticIds=', line: (target: string) => `GET ${target} HTTP/1.1` };
    const fill = (bytes: number): string => statisticsPath + 'a'.repeat(bytes - Buffer.byteLength(line(statisticsPath)));
    const at = fill(8192);
    const over = fill(8193);
    expect(Buffer.byteLength(line(at))).toBe(8192);
    const headers = { 'x-api-key': 'exas-demo', authorization: 'Bearer exas-demo' };
    expect((await fetch(`${emulator.url}${at}`, { headers })).status).toBe(404); // no such subscription, but heard
    const refused = await fetch(`${emulator.url}${over}`, { headers });
    expect(refused.status).toBe(414);
    expect(await refused.json()).toMatchObject({ status: { code: 414 } });
    // Counted in bytes: 2,731 escaped three-byte characters are 8,193 bytes in fewer characters.
    const escaped = statisticsPath + '%E2%82%AC'.repeat(Math.ceil((8193 - Buffer.byteLength(line(statisticsPath))) / 9));
    expect((await fetch(`${emulator.url}${escaped}`, { headers })).status).toBe(414);
  });

  it('answers a disconnect fault (200 with a body) on the control request before it drops the CometD clients', async () => {
    const emulator = await started(() => startStatServerEmulator({ agents: 2 }));
    const body = JSON.stringify({ disconnect: true });
    const reply = await raw(
      emulator.url,
      `POST /emulator/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply).toContain('{"applied":{"disconnect":true}}');
  });
});

describe('Stat Server emulator, lenient', () => {
  it('lists refused statistics in errors[] by statisticId, opens the rest, and has no request-line limit', async () => {
    const emulator = await started(() => startStatServerEmulator({ agents: 4, lenient: true }));
    emulator.applyFaults({ unknownAgents: ['1002'] });
    const { body } = await subscribe(emulator, ['1001', '1002', 'nobody']);
    const response = body as { status: { code: number }; data: { statistics: Array<{ statisticId: string }> }; errors: Array<{ statisticId: string }> };
    expect(response.status.code).toBe(0);
    expect(response.data.statistics.map((item) => item.statisticId)).toEqual(['cs-1001']);
    expect(response.errors.map((error) => error.statisticId)).toEqual(['cs-1002', 'cs-nobody']);
    const long = `/statistics/v3/subscriptions/none/statistic-values?statisticIds=${'a'.repeat(9000)}`;
    expect((await fetch(`${emulator.url}${long}`, { headers: auth })).status).toBe(404);
  });
});
