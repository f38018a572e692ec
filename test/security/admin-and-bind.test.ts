/**
 * The operator surface's access rules: everything EXAS serves binds loopback unless told otherwise; with an admin
 * token set, every admin endpoint needs it (in the Authorization header only), compared in constant time; and
 * the logger redacts credentials by key and inside strings.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { startGcEmulator } from '../../src/emulators/gc/index.ts';
import { startStatServerEmulator } from '../../src/emulators/statserver/index.ts';
import { createOperatorApp, startOperatorServer } from '../../src/http/index.ts';
import { redact } from '../../src/log.ts';
import { serve } from '../../src/platform/serve.ts';
import { started } from '../helpers/servers.ts';
import { CANDIDATE_BUSY } from '../unit/http/request.ts';
import { createFakeDeps } from '../unit/http/fake-deps.ts';

const TOKEN = 'Adm1n-Token_for.tests~42';

describe('default bind address', () => {
  it('the config default, the operator server, serve() and both emulators bind 127.0.0.1', async () => {
    const { config } = loadConfig('', '/etc/exas/exas.yaml', { env: { EXAS_GC_CLIENT_ID: 'id', EXAS_GC_CLIENT_SECRET: 'secret' } });
    expect(config?.http.host).toBe('127.0.0.1');
    const servers = [
      await started(() => startOperatorServer(createFakeDeps())),
      await started(() => serve(() => new Response('ok'))),
      await started(() => startGcEmulator({ usersCount: 1 })),
      await started(() => startStatServerEmulator({ agents: 1 })),
    ];
    for (const server of servers) expect(new URL(server.url).hostname).toBe('127.0.0.1');
  });
});

describe('admin token', () => {
  const app = createOperatorApp(createFakeDeps(), { adminToken: TOKEN });
  const ADMIN_REQUESTS: ReadonlyArray<readonly [string, RequestInit]> = [
    ['/-/reload', { method: 'POST' }],
    ['/-/pause', { method: 'POST' }],
    ['/-/resume', { method: 'POST' }],
    ['/agents', {}],
    ['/agents/1001', {}],
    ['/api/summary', {}],
    ['/dry-run', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [], rules: CANDIDATE_BUSY }) }],
  ];
  const withHeaders = (init: RequestInit, extra: Record<string, string>): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string> | undefined), ...extra } });
  const WRONG = [
    undefined,
    'Bearer',
    `Bearer ${TOKEN.slice(0, -1)}`,
    `Bearer ${TOKEN}x`,
    `Bearer x${TOKEN.slice(1)}`,
    `Bearer ${TOKEN.slice(0, -1)}3`,
    `Bearer ${TOKEN.toLowerCase()}`,
    `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
    `Token ${TOKEN}`,
  ];

  it('every admin endpoint refuses a missing or wrong token and does nothing', async () => {
    const deps = createFakeDeps();
    const guarded = createOperatorApp(deps, { adminToken: TOKEN });
    for (const [path, init] of ADMIN_REQUESTS) {
      for (const authorization of WRONG) {
        const response = await guarded.request(path, withHeaders(init, authorization === undefined ? {} : { authorization }));
        expect({ path, authorization, status: response.status }).toEqual({ path, authorization, status: expect.any(Number) });
        expect([400, 401]).toContain(response.status);
        expect(await response.text()).not.toContain(TOKEN);
      }
      // The token in the query string or a cookie is not a credential.
      for (const response of [
        await guarded.request(`${path}?token=${TOKEN}&access_token=${TOKEN}`, init),
        await guarded.request(path, withHeaders(init, { cookie: `token=${TOKEN}` })),
      ]) {
        expect(response.status).toBe(401);
      }
    }
    expect(deps.calls).toEqual({ reload: 0, pause: 0, resume: 0 });
  });

  it('every admin endpoint accepts the right token', async () => {
    for (const [path, init] of ADMIN_REQUESTS) {
      const response = await app.request(path, withHeaders(init, { authorization: `Bearer ${TOKEN}` }));
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
    }
  });

  it('is compared in constant time: SHA-256 digests of both tokens through timingSafeEqual, both compared every time', () => {
    const auth = readFileSync(new URL('../../src/http/auth.ts', import.meta.url), 'utf8');
    expect(auth).toMatch(/import \{ createHash, timingSafeEqual \} from 'node:crypto'/);
    expect(auth).toMatch(/const isAdmin = sameToken\(given, admin\);\s*const isRead = sameToken\(given, read\);/);
    // No hand-written comparison of a token anywhere in the operator surface (checks against undefined / '' only).
    for (const file of ['app.ts', 'options.ts', 'server.ts', 'dry-run.ts', 'auth.ts']) {
      const text = readFileSync(new URL(`../../src/http/${file}`, import.meta.url), 'utf8');
      expect(text).not.toMatch(/(===|!==|==|!=)\s*(settings\.|options\.)?(adminToken|readToken)\b/);
      const comparedWith = [...text.matchAll(/\b(?:adminToken|readToken)\s*(?:===|!==|==|!=)\s*([^\s;)?,]+)/g)].map((match) => match[1]);
      for (const operand of comparedWith) expect(['undefined', "''"]).toContain(operand);
    }
  });

  it('a token Hono could never match is refused at start-up instead of locking operators out', () => {
    expect(() => createOperatorApp(createFakeDeps(), { adminToken: 'has space' })).toThrow(/adminToken/);
  });
});

describe('log redaction', () => {
  it('redacts values under secret-looking keys at any depth, credentials inside strings and user-info in URLs', () => {
    const redacted = JSON.stringify(
      redact({
        headers: { Authorization: 'Bearer abc.def', 'x-api-key': 'k-123', cookie: 'sid=1' },
        gc: { clientSecret: 's-1', client_secret: 's-2', accessToken: 't-1', password: 'p' },
        message: 'request failed with Authorization: Bearer eyJhbGciOi.payload.sig and Basic dXNlcjpwYXNz',
        error: new Error('login with Bearer abcdefgh failed'),
        endpoint: 'http://proxyuser:pr0xy-pass@stat.example.invalid:8080/statistics/v3',
        urls: ['wss://bridge-user:br1dge-pass@127.0.0.1:8790/bridge', 'https://only-token-x9@gc.invalid/api'],
      }),
    );
    expect(redacted).toContain('http://[redacted]@stat.example.invalid:8080/statistics/v3');
    for (const secret of ['abc.def', 'k-123', 'sid=1', 's-1', 's-2', 't-1', '"p"', 'eyJhbGciOi', 'dXNlcjpwYXNz', 'abcdefgh', 'pr0xy-pass', 'proxyuser', 'br1dge-pass', 'only-token-x9']) {
      expect(redacted).not.toContain(secret);
    }
    expect(redacted).toContain('[redacted]');
  });
});
