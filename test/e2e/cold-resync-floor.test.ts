/**
 * End to end: a cold resync costs the request floor (issue 17 part 3). GC state comes from the identity listing
 * pages (`expand=presence&expand=routingStatus`, src/sync/cold-resync.ts), so a cold start is: GC set-up, N / 500
 * pages, the injects, the notification channels (after the writes), and one gap check of N / 500 pages, with no
 * read by id; the first inject leaves before the last page. Users GC lists without their state are read by id
 * (only those); a change made in GC after a user's page was read and before its subscription is repaired.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, startE2eRig, type E2eRig } from '../helpers/e2e.ts';

const USERS = 2_000;
const PAGES = Math.ceil(USERS / 500);
const BUDGET = 1_200;

describe('cold resync at the request floor', () => {
  let rig: E2eRig;
  /** EXAS's GC requests while recording: `METHOD path` plus `?id` for reads by id. */
  let sent: string[];
  let recording = false;
  const originalFetch = globalThis.fetch;

  beforeEach(async () => {
    rig = await startE2eRig({ agents: USERS, scope: 'file', gc: { budget: BUDGET } });
    for (const agentId of rig.agentIds) rig.statServer.setAgent(agentId, { state: 'Ready', callType: 'Inbound', reason: null });
    sent = [];
    const gcUrl = rig.gc.url;
    globalThis.fetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (recording && url.origin === gcUrl && !url.pathname.startsWith('/emulator')) {
        sent.push(`${init?.method ?? 'GET'} ${url.pathname.replace(/\/(?=[0-9a-z-]*\d)[0-9a-z-]{8,}(?=\/|$)/g, '/{id}')}${url.searchParams.has('id') ? '?id' : ''}`);
      }
      return originalFetch(input, init);
    };
  });

  afterEach(async () => {
    recording = false;
    globalThis.fetch = originalFetch;
    await rig?.close();
  });

  const of = (request: string): number => sent.filter((line) => line === request).length;
  const converged = (): boolean => rig.mismatches(rig.gcStates()).length === 0;
  /** Starts EXAS (recording its GC requests), waits for convergence and for the gap check (every page read twice). */
  const coldStart = async (): Promise<void> => {
    recording = true;
    const sidecar = await rig.startSidecar({ gc: { requestsPerMinute: BUDGET, headroom: 0 } });
    await sidecar.connector.ready();
    await eventually(converged, (done) => done, 60_000);
    await eventually(() => of('GET /api/v2/users'), (pages) => pages >= 2 * PAGES, 30_000);
  };

  it('reads state from the identity pages, writes before the last page, and costs set-up + pages + injects + channels + the gap check', async () => {
    await coldStart();
    recording = false;
    expect(converged()).toBe(true);
    const injects = of('POST /api/v2/events/users/presence') + of('POST /api/v2/events/users/routingstatus');
    const channels = of('POST /api/v2/notifications/channels');
    // Every user needs both fields: one presence and one routing-status inject per 100 users.
    expect(injects).toBe(2 * Math.ceil(USERS / 100));
    expect(of('GET /api/v2/users')).toBe(2 * PAGES);
    expect(of('GET /api/v2/users?id')).toBe(0);
    expect(channels).toBe(Math.ceil((2 * USERS) / 1_000));
    expect(of('PUT /api/v2/notifications/channels/{id}/subscriptions')).toBe(channels);
    const setUp = of('POST /oauth/token') + of('GET /api/v2/presence/definitions') + of('GET /api/v2/presence/sources');
    expect(setUp).toBe(3);
    // The floor: nothing but these.
    expect(sent.length).toBe(setUp + PAGES + injects + 2 * channels + PAGES);
    // Writes started while identity pages were still being read; channels only after the writes.
    const firstInject = sent.findIndex((line) => line.startsWith('POST /api/v2/events/'));
    const lastIdentityPage = sent.map((line, index) => (line === 'GET /api/v2/users' ? index : -1)).filter((index) => index >= 0)[PAGES - 1] as number;
    expect(firstInject).toBeLessThan(lastIdentityPage);
    const lastInject = sent.findLastIndex((line) => line.startsWith('POST /api/v2/events/'));
    expect(sent.findIndex((line) => line.includes('/notifications/'))).toBeGreaterThan(lastInject);
    expect(rig.gc.stats().rateLimited).toBe(0);
  });

  it('reads by id only the users GC listed without their state (expansions are best effort)', async () => {
    // 250 users already show their mapping; GC leaves the expansions out for the first 150 of them (page 1).
    const userIds = rig.gc.userIds();
    for (const userId of userIds.slice(0, 250)) rig.gc.setUserState(userId, { presence: 'OnQueue', routingStatus: 'Interacting' });
    const dropped = new Set(userIds.slice(0, 150));
    rig.gc.dropExpansions((userId) => dropped.has(userId));
    const written = new Set<string>();
    const off = rig.gc.onUserChange((userId) => void written.add(userId));
    await coldStart();
    off();
    expect(converged()).toBe(true);
    // Read right (from the page or by id), none of the 250 is written; the other 1,750 are.
    expect(of('GET /api/v2/users')).toBe(2 * PAGES);
    expect(userIds.slice(0, 250).filter((userId) => written.has(userId))).toEqual([]);
    expect(written.size).toBe(1_750);
    // 150 users without state on page 1: two reads by id at start, two more in the gap check.
    expect(await eventually(() => of('GET /api/v2/users?id'), (reads) => reads >= 4, 15_000)).toBe(4);
  });

  it('repairs a change made in GC after the user was read and written, before the notification channels were up', async () => {
    let drifted: string | undefined;
    let pagesAtRepair: number | undefined;
    const off = rig.gc.onUserChange((userId, part, view) => {
      if (userId === drifted && part === 'presence' && view.presence === 'OnQueue') pagesAtRepair ??= of('GET /api/v2/users');
      // The first user EXAS wrote: changed by someone else at once, long before any channel exists.
      if (drifted !== undefined || part !== 'presence' || view.presence !== 'OnQueue') return;
      drifted = userId;
      setImmediate(() => rig.gc.setUserState(userId, { presence: 'Away' }));
    });
    recording = true;
    const sidecar = await rig.startSidecar({ gc: { requestsPerMinute: BUDGET, headroom: 0 } });
    await eventually(() => drifted !== undefined && rig.gc.user(drifted)?.presence === 'Away', (done) => done, 30_000);
    expect(of('POST /api/v2/notifications/channels')).toBe(0);
    await eventually(converged, (done) => done, 60_000);
    off();
    expect(rig.gc.user(drifted as string)?.presence).toBe('OnQueue');
    expect(sidecar.connector.counters().driftRepaired).toBeGreaterThanOrEqual(1);
    // Repaired by the gap check: after the identity pages, once the listing was being read again.
    expect(pagesAtRepair).toBeGreaterThan(PAGES);
  });
});
