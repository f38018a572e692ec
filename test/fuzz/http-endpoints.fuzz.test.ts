/**
 * Fuzz target: the operator HTTP endpoints, in process. Arbitrary methods, paths, query strings, headers and
 * bodies (JSON-shaped or not, up to twice the body limit) get a 2xx or a JSON 4xx/503 with an `error`, never a
 * 500; a wrong token is never echoed; and the app answers /livez afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOperatorApp, startOperatorServer } from '../../src/http/index.ts';
import { started } from '../helpers/servers.ts';
import { openRaw } from '../hostile/raw-http.ts';
import { setLogSink, type LogSink } from '../../src/log.ts';
import { CALL_TYPES, ENGAGE_STATES } from '../../src/vocabulary.ts';
import { CANDIDATE_BROKEN, CANDIDATE_BUSY } from '../unit/http/request.ts';
import { createFakeDeps } from '../unit/http/fake-deps.ts';
import { anyText, yamlishText } from './arbitraries.ts';
import { FUZZ_TIMEOUT_MS, fuzzParameters } from './profile.ts';

const TOKEN = 'fuzz-admin-token-5b9c';
const BODY_LIMIT = 4096;
const ALLOWED_STATUSES = [200, 400, 401, 404, 409, 413, 503];
const ROUTES = ['/livez', '/readyz', '/metrics', '/dry-run', '/agents', '/agents/1001', '/agents/1004', '/-/reload', '/-/pause', '/-/resume', '/api/summary', '/', '/page.js', '/page.css'];

const method = fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), fc.stringMatching(/^[A-Z]{1,8}$/));
const pathSegment = fc.oneof(
  fc.constantFrom('..', '.', '%2e%2e', '%2F', '%00', '%ff', '%', 'agents', '-', 'dry-run', '😀', '?', '#', '//'),
  fc.webSegment(),
  fc.string({ maxLength: 10 }).map(encodeURIComponent),
);
const path = fc.oneof(
  fc.constantFrom(...ROUTES),
  fc.tuple(fc.constantFrom(...ROUTES), fc.array(pathSegment, { maxLength: 3 })).map(([route, rest]) => [route, ...rest].join('/')),
  fc.array(pathSegment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
);
const query = fc.oneof(
  fc.constant(''),
  fc.dictionary(fc.constantFrom('status', 'offset', 'limit', 'x', ''), fc.oneof(fc.constantFrom('in-sync', 'error', '-1', '0', '1', '99999999999999999999', '1e3', ''), fc.string({ maxLength: 8 })), { maxKeys: 3 }).map(
    (params) => `?${new URLSearchParams(params).toString()}`,
  ),
);
const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constant(`Bearer ${TOKEN}`),
  fc.constantFrom('Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', `bearer ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Bearer  ${TOKEN}`, 'Bearer a b'),
  fc.string({ maxLength: 40 }).filter((value) => /^[\x20-\x7e]*$/.test(value)),
);
const contentType = fc.oneof(fc.constant(undefined), fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', '*/*'));

/** A dry-run body: mostly the real shape with wrong values sprinkled in, so validation paths are exercised. */
const event = fc.record(
  {
    agentId: fc.oneof(fc.constantFrom('1001', '1002', '1003', '1004', ''), fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
    state: fc.oneof(fc.constantFrom(...ENGAGE_STATES), fc.jsonValue({ maxDepth: 1 })),
    callType: fc.oneof(fc.constantFrom(...CALL_TYPES), fc.jsonValue({ maxDepth: 1 })),
    reason: fc.oneof(fc.constantFrom(null, 'Break', 'Meal', 'Lunch'), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })),
    at: fc.oneof(fc.integer(), fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);
const dryRunBody = fc
  .record(
    {
      events: fc.oneof(fc.array(event, { maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })),
      rules: fc.oneof(fc.constantFrom(CANDIDATE_BUSY, CANDIDATE_BROKEN), yamlishText, fc.jsonValue({ maxDepth: 1 })),
      live: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 0 })),
      explain: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 0 })),
      extra: fc.jsonValue({ maxDepth: 1 }),
      ['__proto__']: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  )
  .map((value) => JSON.stringify(value));
const body = fc.oneof(
  fc.constant(undefined),
  dryRunBody,
  anyText,
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.uint8Array({ maxLength: 300 }),
  fc.integer({ min: BODY_LIMIT - 64, max: BODY_LIMIT * 2 }).map((size) => `{"events":[],"rules":"${'x'.repeat(size)}"}`),
);

const request = fc.record({ method, path, query, authorization, contentType, body, extraHeader: fc.tuple(fc.constantFrom('x-forwarded-for', 'cookie', 'accept', 'x-a'), fc.string({ maxLength: 30 }).filter((v) => /^[\x20-\x7e]*$/.test(v))) });

describe('operator HTTP endpoints fuzz', () => {
  const lines: string[] = [];
  let previous: LogSink;
  beforeAll(() => {
    previous = setLogSink((line) => lines.push(line));
  });
  afterAll(() => {
    setLogSink(previous);
  });

  for (const [title, options] of [
    ['without an admin token', { bodyLimitBytes: BODY_LIMIT }],
    ['with an admin token', { bodyLimitBytes: BODY_LIMIT, adminToken: TOKEN }],
  ] as const) {
    it(
      `${title}: arbitrary requests get 2xx or a JSON error, never a 500, and the app keeps serving`,
      async () => {
        const deps = createFakeDeps();
        const app = createOperatorApp(deps, options);
        await fc.assert(
          fc.asyncProperty(request, async (input) => {
            const headers = new Headers();
            if (input.authorization !== undefined) headers.set('authorization', input.authorization);
            if (input.contentType !== undefined) headers.set('content-type', input.contentType);
            headers.set(input.extraHeader[0], input.extraHeader[1]);
            const withBody = input.body !== undefined && input.method !== 'GET' && input.method !== 'HEAD';
            let response: Response;
            try {
              response = await app.request(`http://127.0.0.1${input.path}${input.query}`, {
                method: input.method,
                headers,
                ...(withBody ? { body: input.body } : {}),
              });
            } catch (error) {
              // Only the Request constructor may refuse (e.g. a method name fetch forbids); the app must not throw.
              expect(String(error)).toMatch(/TypeError|Invalid URL|not a valid HTTP method|forbidden/i);
              return;
            }
            expect(ALLOWED_STATUSES).toContain(response.status);
            const text = await response.text();
            // /readyz answers 503 with its readiness body (a fuzzed /-/pause makes it not ready); others carry `error`.
            const readiness = response.status === 503 && /^\/readyz\/?$/.test(new URL(response.url || `http://x${input.path}`).pathname);
            if (response.status >= 400 && input.method !== 'HEAD' && !readiness) {
              expect(response.headers.get('content-type') ?? '').toMatch(/application\/json/);
              expect(typeof (JSON.parse(text) as { error?: unknown }).error).toBe('string');
            }
            if (input.authorization !== undefined && input.authorization !== `Bearer ${TOKEN}` && input.authorization.length > 12) {
              // A wrong credential is never echoed back (it could be a real token for something else).
              expect(text).not.toContain(input.authorization.slice(7));
            }
            const live = await app.request('/livez');
            expect(live.status).toBe(200);
          }),
          fuzzParameters(500, 9401),
        );
        expect(lines.filter((line) => line.includes('"level":"error"'))).toEqual([]);
        // Fuzzing must not have changed the rules: only /-/reload (which re-reads the same text) may run.
        expect(deps.rules()?.hash).toBe(createFakeDeps().rules()?.hash);
      },
      FUZZ_TIMEOUT_MS,
    );
  }
  it(
    'over a real socket: arbitrary request lines, headers and framing get an HTTP answer or a clean close, never a hang or a crash',
    async () => {
      const server = await started(() => startOperatorServer(createFakeDeps(), { bodyLimitBytes: BODY_LIMIT, headersTimeoutMs: 2_000, requestTimeoutMs: 4_000 }));
      const token = fc.oneof(
        fc.constantFrom('GET', 'POST', 'HEAD', ' ', '/', '/dry-run', '/livez', '/agents/1001', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2', '\r\n', '\n', ':', 'Content-Length: ', 'Transfer-Encoding: chunked', 'Host: x', '0', '5', '-1', '99999999999', '{}', '\u0000', '\u00ff', 'Expect: 100-continue', 'Connection: close', 'Upgrade: websocket'),
        fc.string({ maxLength: 12, unit: 'binary-ascii' }),
      );
      // The same path answers a well-formed request (so an empty answer below is a close, not a broken client).
      const probe = await openRaw(server.port);
      await probe.write('GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(await probe.closed).toMatch(/^HTTP\/1\.1 200 /);
      let answered = 0;
      const raw = fc.array(token, { minLength: 1, maxLength: 30 }).map((parts) => `${parts.join('')}\r\n\r\n`);
      await fc.assert(
        fc.asyncProperty(raw, async (bytes) => {
          const client = await openRaw(server.port);
          await client.write(Buffer.from(bytes, 'latin1'));
          // Half-close: the server sees the end of the request bytes, answers what it can and closes.
          client.socket.end();
          const answer = await client.closed;
          if (answer !== '') {
            expect(answer).toMatch(/^HTTP\/1\.[01] \d{3} /);
            answered += 1;
          }
        }),
        fuzzParameters(150, 9402),
      );
      // Most random byte soups are still answered (400 from the parser, 404, 413…), not just dropped.
      expect(answered).toBeGreaterThan(0);
      const live = await fetch(`${server.url}/livez`);
      expect(live.status).toBe(200);
      expect(lines.filter((line) => line.includes('"level":"error"'))).toEqual([]);
    },
    FUZZ_TIMEOUT_MS,
  );
});
