import { describe, expect, it } from 'vitest';
import {
  createGcClient,
  createSlidingWindowBudget,
  GcAuthError,
  GcNetworkError,
  GcPermissionError,
  GcServerError,
  RateLimitedError,
  resolveEndpoints,
} from '../../../src/gc/index.ts';
import { setLogSink } from '../../../src/log.ts';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A scripted GC: `answer` decides each API response; the token endpoint hands out token-1, token-2, … */
function fakeGc(answer: (call: Call, index: number) => Response | Promise<Response>, tokenLifetimeSeconds = 3600) {
  const calls: Call[] = [];
  const apiCalls: Call[] = [];
  let tokens = 0;
  const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const call: Call = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers: Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>).map(([key, value]) => [key.toLowerCase(), value])),
      body: typeof init?.body === 'string' ? init.body : undefined,
    };
    calls.push(call);
    if (call.url.endsWith('/oauth/token')) {
      tokens += 1;
      return Response.json({ access_token: `token-${tokens}`, token_type: 'bearer', expires_in: tokenLifetimeSeconds });
    }
    apiCalls.push(call);
    return answer(call, apiCalls.length - 1);
  }) as typeof globalThis.fetch;
  return { fetch, calls, apiCalls, tokenCount: () => tokens };
}

const gcError = (status: number, code: string, headers: Record<string, string> = {}) =>
  Response.json({ message: `failed with ${code}`, code, status, contextId: 'ctx-1' }, { status, headers });

const options = { baseUrl: 'http://gc.test', clientId: 'id', clientSecret: 'very-secret', readRetries: 0 };

describe('GC client', () => {
  it('logs in with client credentials once and sends the bearer on every call', async () => {
    const gc = fakeGc(() => Response.json({ userId: 'u1', status: 'IDLE', startTime: '2026-01-01T00:00:00.000Z' }));
    const client = createGcClient({ ...options, fetch: gc.fetch });
    const first = await client.getUserRoutingStatus('u1');
    await client.getUserRoutingStatus('u1');
    expect(first.routingStatus).toBe('Idle');
    const token = gc.calls[0] as Call;
    expect(token.url).toBe('http://gc.test/oauth/token');
    expect(token.body).toBe('grant_type=client_credentials');
    expect(token.headers['authorization']).toBe(`Basic ${Buffer.from('id:very-secret').toString('base64')}`);
    expect(gc.tokenCount()).toBe(1);
    expect(gc.apiCalls.every((call) => call.headers['authorization'] === 'Bearer token-1')).toBe(true);
  });

  it('fetches a new token before the old one expires', async () => {
    let clock = 0;
    const gc = fakeGc(() => Response.json({ status: 'OFF_QUEUE' }), 600);
    const client = createGcClient({ ...options, fetch: gc.fetch, now: () => clock });
    await client.getUserRoutingStatus('u1');
    clock = 500_000; // 500 s of 600: inside the last 10 %? no (refresh at 540 s)
    await client.getUserRoutingStatus('u1');
    expect(gc.tokenCount()).toBe(1);
    clock = 541_000;
    await client.getUserRoutingStatus('u1');
    expect(gc.tokenCount()).toBe(2);
    expect(gc.apiCalls[2]?.headers['authorization']).toBe('Bearer token-2');
  });

  it('on 401 fetches a new token and retries once', async () => {
    const gc = fakeGc((call) =>
      call.headers['authorization'] === 'Bearer token-1' ? gcError(401, 'bad.credentials') : Response.json({ status: 'IDLE' }),
    );
    const client = createGcClient({ ...options, fetch: gc.fetch });
    const reading = await client.getUserRoutingStatus('u1');
    expect(reading.routingStatus).toBe('Idle');
    expect(gc.tokenCount()).toBe(2);
    expect(client.stats().retries).toBe(1);
  });

  it('gives up with GcAuthError when the new token is refused too', async () => {
    const gc = fakeGc(() => gcError(401, 'bad.credentials'));
    const client = createGcClient({ ...options, fetch: gc.fetch });
    await expect(client.getUserRoutingStatus('u1')).rejects.toBeInstanceOf(GcAuthError);
    expect(gc.apiCalls).toHaveLength(2);
  });

  it('turns refused client credentials into GcAuthError without the secret in the message', async () => {
    const fetch = (async () => Response.json({ error: 'invalid_client' }, { status: 401 })) as typeof globalThis.fetch;
    const client = createGcClient({ ...options, fetch });
    const error = await client.getPresenceDefinitions().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GcAuthError);
    expect(String((error as Error).message)).not.toContain('very-secret');
  });

  it('on 429 throws RateLimitedError with Retry-After and pauses the budget', async () => {
    let clock = 1_000;
    const budget = createSlidingWindowBudget({ requestsPerMinute: 100, now: () => clock });
    const gc = fakeGc(() => gcError(429, 'too.many.requests.retry.after', { 'Retry-After': '12' }));
    const client = createGcClient({ ...options, fetch: gc.fetch, budget, now: () => clock });
    const error = await client.injectRoutingStatus([{ userId: 'u1', routingStatus: 'Idle', sourceId: 's' }]).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterSeconds).toBe(12);
    expect((error as RateLimitedError).correlationId).toBe('ctx-1');
    expect(budget.available()).toBe(0);
    expect(budget.nextSlotAt()).toBe(13_000);
    expect(client.stats().rateLimited).toBe(1);
  });

  it('retries a read after 429 once the Retry-After pause is over', async () => {
    const gc = fakeGc((_call, index) =>
      index === 0 ? gcError(429, 'too.many.requests.retry.after', { 'Retry-After': '0' }) : Response.json({ status: 'IDLE' }),
    );
    const client = createGcClient({ ...options, readRetries: 2, fetch: gc.fetch });
    expect((await client.getUserRoutingStatus('u1')).routingStatus).toBe('Idle');
    expect(client.stats()).toMatchObject({ requests: 2, rateLimited: 1, retries: 1 });
  });

  it('counts each retry by operation and cause: 429, 5xx, timeout and network for reads, 401 for a write', async () => {
    let clock = 0;
    const script: Array<() => Response> = [
      () => gcError(429, 'too.many.requests.retry.after', { 'Retry-After': '0' }),
      () => gcError(503, 'service.unavailable'),
      () => gcError(408, 'request.timeout'),
      () => {
        throw new TypeError('fetch failed');
      },
      () => Response.json({ status: 'IDLE' }),
    ];
    const gc = fakeGc((_call, index) => script[index]!());
    const client = createGcClient({ ...options, readRetries: 4, maxRetryWaitMs: 1, fetch: gc.fetch, now: () => clock });
    expect((await client.getUserRoutingStatus('u1')).routingStatus).toBe('Idle');
    expect(client.stats().retriesBy.read).toEqual({ '429': 1, '5xx': 1, timeout: 1, network: 1, auth: 0, event: 0 });
    expect(client.stats().retries).toBe(4);
    clock += 1;

    const writes = fakeGc((call) => (call.headers['authorization'] === 'Bearer token-1' ? gcError(401, 'bad.credentials') : Response.json({ status: 'IDLE' })));
    const writer = createGcClient({ ...options, fetch: writes.fetch });
    await writer.putUserRoutingStatus('u1', 'Idle');
    expect(writer.stats().retriesBy.write).toEqual({ '429': 0, '5xx': 0, timeout: 0, network: 0, auth: 1, event: 0 });
    expect(writer.stats().retriesBy.read.auth).toBe(0);
  });

  it('never retries a write on its own (the writer owns write retries)', async () => {
    const gc = fakeGc(() => gcError(503, 'service.unavailable'));
    const client = createGcClient({ ...options, readRetries: 3, fetch: gc.fetch });
    await expect(client.injectPresence([{ userId: 'u1', presenceDefinitionId: 'd', sourceId: 's' }])).rejects.toBeInstanceOf(GcServerError);
    expect(gc.apiCalls).toHaveLength(1);
  });

  it('maps 403 to GcPermissionError and a dead connection to GcNetworkError', async () => {
    const denied = createGcClient({ ...options, fetch: fakeGc(() => gcError(403, 'missing.permissions')).fetch });
    await expect(denied.getPresenceSources()).rejects.toBeInstanceOf(GcPermissionError);
    const dead = fakeGc(() => {
      throw new TypeError('fetch failed');
    });
    const offline = createGcClient({ ...options, fetch: dead.fetch });
    const error = await offline.getPresenceSources().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(GcNetworkError);
    expect(offline.stats().byStatusClass.network).toBe(1);
  });

  it('counts requests by endpoint template and status class, never by concrete ids', async () => {
    const gc = fakeGc((call) => (call.url.includes('missing') ? gcError(404, 'not.found') : Response.json({ status: 'IDLE' })));
    const client = createGcClient({ ...options, fetch: gc.fetch });
    await client.getUserRoutingStatus('u1');
    await client.getUserRoutingStatus('u2');
    await client.getUser('missing').catch(() => undefined);
    const stats = client.stats();
    expect(stats.byEndpoint['GET /api/v2/users/{userId}/routingstatus']).toMatchObject({ requests: 2, '2xx': 2 });
    expect(stats.byEndpoint['GET /api/v2/users/{userId}']).toMatchObject({ requests: 1, '4xx': 1 });
    expect(stats.tokenRequests).toBe(1);
  });

  it('sends routing status in each endpoint spelling: Idle to inject, IDLE to PUT', async () => {
    const gc = fakeGc((call) => (call.method === 'PUT' ? Response.json({ status: 'IDLE' }) : Response.json({ errors: [] })));
    const client = createGcClient({ ...options, fetch: gc.fetch });
    await client.injectRoutingStatus([{ userId: 'u1', routingStatus: 'Idle', sourceId: 'src' }]);
    await client.putUserRoutingStatus('u1', 'Idle');
    const inject = JSON.parse(gc.apiCalls[0]?.body ?? '{}') as { userRoutingStatusEvents: Array<Record<string, string>> };
    expect(inject.userRoutingStatusEvents[0]).toMatchObject({ agentId: 'u1', status: 'Idle', sourceId: 'src' });
    expect(inject.userRoutingStatusEvents[0]?.['eventId']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(gc.apiCalls[1]?.body ?? '{}')).toMatchObject({ status: 'IDLE' });
  });

  it('never writes the client secret or the bearer token to the logs', async () => {
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    try {
      const gc = fakeGc(() => gcError(401, 'bad.credentials'));
      const client = createGcClient({ ...options, fetch: gc.fetch });
      await client.getPresenceSources().catch(() => undefined);
    } finally {
      setLogSink(previous);
    }
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toMatch(/very-secret|token-1/);
  });

  it('spends the budget slot the moment a call starts, before the token is awaited', async () => {
    // The writer checks the budget right after starting a request; a slot taken a few awaits later looked free,
    // so it built a second batch that then waited a whole slot (sync bench, one client: p50 +150 ms).
    const gc = fakeGc(() => new Response(null, { status: 204 }));
    const budget = createSlidingWindowBudget({ requestsPerMinute: 300, headroom: 0, burstShare: 0.03 });
    const client = createGcClient({ ...options, fetch: gc.fetch, budget });
    const before = budget.available();
    const call = client.injectPresence([{ userId: 'u1', presenceDefinitionId: 'd', sourceId: 's' }]);
    expect(budget.available()).toBe(before - 1);
    await call;
    expect(gc.apiCalls).toHaveLength(1);
  });

  it('resolves region names and host suffixes to login and API hosts', () => {
    expect(resolveEndpoints({ region: 'usw2.pure.cloud' })).toEqual({ apiBaseUrl: 'https://api.usw2.pure.cloud', loginBaseUrl: 'https://login.usw2.pure.cloud' });
    expect(resolveEndpoints({ region: 'eu_central_1' }).apiBaseUrl).toBe('https://api.mypurecloud.de');
    expect(resolveEndpoints({}).loginBaseUrl).toBe('https://login.mypurecloud.com');
    expect(resolveEndpoints({ baseUrl: 'http://127.0.0.1:9/' })).toEqual({ apiBaseUrl: 'http://127.0.0.1:9', loginBaseUrl: 'http://127.0.0.1:9' });
    expect(() => resolveEndpoints({ region: 'nowhere' })).toThrow(/region/);
  });
});
