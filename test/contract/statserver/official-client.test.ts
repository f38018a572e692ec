/**
 * Contract: the official Genesys Statistics API client (genesys-statistics-client-js) against the emulator.
 * What it receives must be what EXAS's parser reads, so the emulator cannot drift from the real API's shapes.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Statistics from 'genesys-statistics-client-js';
import { startStatServerEmulator, type StatServerEmulator } from '../../../src/emulators/statserver/index.ts';
import { foldAgentSnapshot } from '../../../src/statserver/normalize.ts';
import { readStatisticItems, type StatisticItem } from '../../../src/statserver/messages.ts';
import { started } from '../../helpers/servers.ts';

interface OfficialClient {
  initialize(token: string, cometdConfiguration?: object): Promise<unknown>;
  createSubscription(operationId: string, descriptors: object[], verbose?: boolean): Promise<unknown>;
  peekSubscriptionStats(id: string, statisticIds?: string[], verbose?: boolean): Promise<unknown>;
  deleteSubscription(id: string): Promise<unknown>;
  getStatValue(name: string, objectId: string, objectType: string): Promise<unknown>;
  getStatValues(infos: object[]): Promise<unknown>;
  on(event: string, listener: (data: unknown) => void): void;
  destroy(): void;
}
const StatisticsClient = Statistics as unknown as new (apiKey: string, baseUrl: string) => OfficialClient;

let emulator: StatServerEmulator;
let client: OfficialClient;
const updates: StatisticItem[] = [];
const serviceStates: unknown[] = [];
const waiters: Array<() => void> = [];

beforeAll(async () => {
  emulator = await started(() => startStatServerEmulator({ agents: 5, seed: 7 }));
  client = new StatisticsClient(emulator.apiKey, emulator.url);
  client.on('Updates', (data) => {
    updates.push(...readStatisticItems(data, 'auto', Date.now()).items);
    for (const waiter of waiters.splice(0)) waiter();
  });
  client.on('ServiceChange', (data) => {
    serviceStates.push(data);
    for (const waiter of waiters.splice(0)) waiter();
  });
  await client.initialize(emulator.bearerToken);
  // initialize() resolves at the handshake; the emulator announces the service once the channel subscriptions
  // are in, so waiting for it means no update can be published before this client listens.
  await until(() => serviceStates.length > 0);
});

afterAll(() => client?.destroy());

function until(predicate: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (predicate()) resolve();
      else waiters.push(check);
    };
    check();
  });
}

function descriptors(agentId: string) {
  return [
    { statisticId: `cs-${agentId}`, objectId: agentId, objectType: 'Agent', definition: { category: 'CurrentState', subject: 'DNStatus', mainMask: '*', notificationMode: 'Immediate' } },
    { statisticId: `csr-${agentId}`, objectId: agentId, objectType: 'Agent', definition: { category: 'CurrentStateReasons', subject: 'DNAction', mainMask: '*', notificationMode: 'Immediate' } },
  ];
}

function foldItems(items: readonly StatisticItem[], agentId: string) {
  const current = items.filter((item) => item.statisticId === `cs-${agentId}`).at(-1);
  const reasons = items.filter((item) => item.statisticId === `csr-${agentId}`).at(-1);
  const result = foldAgentSnapshot(agentId, current && { value: current.value, at: current.at }, reasons && { value: reasons.value, at: reasons.at });
  if (result.kind !== 'snapshot') throw new Error(`not a snapshot: ${result.reason} ${result.detail}`);
  const { state, callType, reason } = result.snapshot;
  return { agentId, state, callType, reason };
}

describe('official Statistics API client against the Stat Server emulator', () => {
  const subscriptionId = randomUUID();

  it('opens ad-hoc CurrentState + CurrentStateReasons statistics and gets values EXAS folds to the emulator agent', async () => {
    const response = (await client.createSubscription(subscriptionId, [...descriptors('1001'), ...descriptors('1002')])) as { data: unknown; status: { code: number } };
    expect(response.status.code).toBe(0);
    const { items } = readStatisticItems(response, 'auto', Date.now());
    expect(items).toHaveLength(4);
    expect(foldItems(items, '1001')).toEqual(emulator.agent('1001'));
    expect(foldItems(items, '1002')).toEqual(emulator.agent('1002'));
  });

  it('receives an agent change on /statistics/v3/updates in the shape the parser reads', async () => {
    updates.length = 0;
    emulator.setAgent('1001', { state: 'NotReady', callType: 'None', reason: 'Break' });
    await until(() => updates.filter((item) => item.objectId === '1001').length >= 2);
    expect(updates[0]!.subscriptionId).toBe(subscriptionId);
    expect(foldItems(updates, '1001')).toEqual({ agentId: '1001', state: 'NotReady', callType: 'None', reason: 'Break' });
    emulator.setAgent('1001', { state: 'Ready', callType: 'Inbound', reason: null });
    await until(() => updates.filter((item) => item.objectId === '1001').length >= 4);
    expect(foldItems(updates, '1001')).toEqual({ agentId: '1001', state: 'Ready', callType: 'Inbound', reason: null });
  });

  it('was told the service is Available on /statistics/v3/service', async () => {
    await until(() => serviceStates.length > 0);
    expect(serviceStates[0]).toEqual({ serviceState: 'Available' });
  });

  it('peeks the subscription (all statistics, or the ones named)', async () => {
    const all = await client.peekSubscriptionStats(subscriptionId);
    expect(readStatisticItems(all, 'auto', 0).items).toHaveLength(4);
    const some = await client.peekSubscriptionStats(subscriptionId, ['cs-1002', 'csr-1002']);
    const items = readStatisticItems(some, 'auto', 0).items;
    expect(items.map((item) => item.statisticId).sort()).toEqual(['cs-1002', 'csr-1002']);
    expect(foldItems(items, '1002')).toEqual(emulator.agent('1002'));
  });

  it('reads pre-configured statistics by name without a subscription', async () => {
    emulator.setAgent('1003', { state: 'AfterCallWork', callType: 'None', reason: 'Wrap' });
    const one = (await client.getStatValue('CurrentStateReason', '1003', 'Agent')) as { data: { statistic: { value: unknown; timestamp: number } } };
    const folded = foldAgentSnapshot('1003', undefined, { value: one.data.statistic.value, at: one.data.statistic.timestamp });
    expect(folded).toMatchObject({ kind: 'snapshot', snapshot: { state: 'AfterCallWork', reason: 'Wrap' } });
    const many = (await client.getStatValues([{ name: 'CurrentState', objectId: '1003', objectType: 'Agent' }])) as { data: { statistics: unknown[] } };
    expect(many.data.statistics).toHaveLength(1);
  });

  it('subscribes by pre-configured name and deletes the subscription', async () => {
    const named = randomUUID();
    const response = await client.createSubscription(named, [
      { statisticId: 'n-cs', objectId: '1004', objectType: 'Agent', name: 'CurrentState' },
      { statisticId: 'n-csr', objectId: '1004', objectType: 'Agent', name: 'CurrentStateReason' },
    ]);
    expect(readStatisticItems(response, 'auto', 0).items).toHaveLength(2);
    const before = emulator.statisticCount().primary;
    await client.deleteSubscription(named);
    expect(emulator.statisticCount().primary).toBe(before - 2);
  });
});
