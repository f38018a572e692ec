import { describe, expect, it } from 'vitest';
import { createTokenProvider } from '../../../src/gc/index.ts';

describe('GC token provider with a rotated client secret', () => {
  it('uses the secret current at each token request, so a rotated secret works after the old token is dropped', async () => {
    const seenSecrets: string[] = [];
    const fakeFetch = (async (_url: string | URL | Request, init?: RequestInit) => {
      const header = new Headers(init?.headers).get('authorization') ?? '';
      const [, secret] = Buffer.from(header.replace(/^Basic /, ''), 'base64').toString('utf8').split(':');
      seenSecrets.push(secret ?? '');
      return new Response(JSON.stringify({ access_token: `token-for-${secret}`, token_type: 'bearer', expires_in: 86_400 }), {
        status: 200,
        headers: { 'content-type': 'application/json' },
      });
    }) as typeof fetch;
    let secret = 'old-secret';
    const tokens = createTokenProvider({ loginBaseUrl: 'http://127.0.0.1:9', clientId: 'exas', clientSecret: () => secret, fetch: fakeFetch, timeoutMs: 1_000 });

    const first = await tokens.token();
    expect(first).toBe('token-for-old-secret');
    secret = 'new-secret';
    // The cached token stays in use until GC refuses it (401) ...
    expect(await tokens.token()).toBe(first);
    tokens.invalidate(first);
    // ... then the next token request carries the rotated secret.
    expect(await tokens.token()).toBe('token-for-new-secret');
    expect(seenSecrets).toEqual(['old-secret', 'new-secret']);
  });
});
