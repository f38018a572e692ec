/**
 * End to end: the real sidecar (Statistics API adapter, GC client, writer, store, connector) between the two
 * emulators. Every row of the seed table is set for every agent through the Stat Server emulator's control API,
 * and after each row every GC user must show the mapped presence and routing status.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sidecar } from '../../src/sidecar/index.ts';
import type { CallType, EngageState, PresenceName, RoutingStatus } from '../../src/vocabulary.ts';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

const AGENTS = 10;

interface Row {
  readonly state: EngageState;
  readonly callType: CallType;
  readonly reason: string | null;
  readonly presence: PresenceName;
  readonly routingStatus: RoutingStatus;
}

// DESIGN.md "The default mapping (the seed table)", in an order where the ACW row follows a Ready row.
const SEED_TABLE: readonly Row[] = [
  { state: 'LoggedOff', callType: 'None', reason: null, presence: 'Offline', routingStatus: 'OffQueue' },
  { state: 'NotReady', callType: 'None', reason: null, presence: 'Busy', routingStatus: 'OffQueue' },
  { state: 'NotReady', callType: 'None', reason: 'Coffee', presence: 'Busy', routingStatus: 'OffQueue' },
  { state: 'NotReady', callType: 'None', reason: 'Break', presence: 'Break', routingStatus: 'OffQueue' },
  { state: 'NotReady', callType: 'None', reason: 'Meal', presence: 'Meal', routingStatus: 'OffQueue' },
  { state: 'NotReady', callType: 'None', reason: 'Meeting', presence: 'Meeting', routingStatus: 'OffQueue' },
  { state: 'NotReady', callType: 'None', reason: 'Training', presence: 'Training', routingStatus: 'OffQueue' },
  { state: 'NotReady', callType: 'Internal', reason: 'Break', presence: 'Busy', routingStatus: 'Communicating' },
  { state: 'NotReady', callType: 'Inbound', reason: null, presence: 'Busy', routingStatus: 'Interacting' },
  { state: 'Ready', callType: 'None', reason: null, presence: 'OnQueue', routingStatus: 'Idle' },
  { state: 'Ready', callType: 'Internal', reason: null, presence: 'OnQueue', routingStatus: 'Communicating' },
  { state: 'Ready', callType: 'Outbound', reason: null, presence: 'OnQueue', routingStatus: 'Interacting' },
  { state: 'AfterCallWork', callType: 'None', reason: null, presence: 'OnQueue', routingStatus: 'Interacting' },
];

describe('EXAS between the Stat Server and GC emulators', () => {
  let rig: E2eRig;
  let statServer: E2eRig['statServer'];
  let gc: E2eRig['gc'];
  let sidecar: Sidecar;

  beforeAll(async () => {
    rig = await startE2eRig({ agents: AGENTS });
    ({ statServer, gc } = rig);
    sidecar = await rig.startSidecar({ lifecycle: { retryMaxDelayMs: 500 } });
    await sidecar.connector.ready();
  });

  afterAll(async () => {
    await rig?.close();
  });

  it('every seed-table row set for every agent ends with every GC user showing its mapping', async () => {
    for (const row of SEED_TABLE) {
      for (const agent of statServer.agents()) {
        const response = await fetch(`${statServer.url}/emulator/agents/${agent.agentId}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ state: row.state, callType: row.callType, reason: row.reason }),
        });
        expect(response.status).toBe(200);
      }
      const expected = { presence: row.presence, routingStatus: row.routingStatus };
      const users = await eventually(
        async () => {
          const listed = (await (await fetch(`${gc.url}/emulator/users`)).json()) as Array<{ externalId: string; presence: string; routingStatus: string }>;
          return listed.map((user) => ({ externalId: user.externalId, presence: user.presence, routingStatus: user.routingStatus }));
        },
        (all) => all.length === AGENTS && all.every((user) => user.presence === expected.presence && user.routingStatus === expected.routingStatus),
      );
      expect({ row: `${row.state}/${row.callType}/${row.reason ?? '-'}`, users }).toEqual({
        row: `${row.state}/${row.callType}/${row.reason ?? '-'}`,
        users: users.map((user) => ({ ...user, ...expected })),
      });
    }
    expect(sidecar.connector.readiness()).toMatchObject({ rulesLoaded: true, statServerConnected: true, gcTokenValid: true });
    const readyz = await fetch(`${sidecar.http!.url}/readyz`);
    expect(readyz.status).toBe(200);
  });

  it('a presence changed in GC by someone else is re-asserted through the notifications WebSocket', async () => {
    const userId = gc.userIdOf('1001')!;
    const before = gc.user(userId)!;
    gc.setUserState(userId, { presence: 'Meal' });
    const after = await eventually(
      () => gc.user(userId)!,
      (user) => user.presence === before.presence,
    );
    expect(after.presence).toBe(before.presence);
    expect(sidecar.connector.metricsSnapshot().drift.repaired).toBeGreaterThanOrEqual(1);
  });
});
