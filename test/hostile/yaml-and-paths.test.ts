/**
 * Hostile files and names: YAML alias bombs ("billion laughs") and huge or deeply nested YAML in the rules
 * file, a candidate posted to /dry-run and the config file are refused with a clear, positioned error instead of
 * expanding; and no parameter that looks like a path (an HTTP path, an agent id, a GC id) reaches a file or
 * another endpoint.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.ts';
import { createGcClient } from '../../src/gc/index.ts';
import { createOperatorApp, startOperatorServer } from '../../src/http/index.ts';
import { loadRules } from '../../src/rules/index.ts';
import { started } from '../helpers/servers.ts';
import { createFakeDeps } from '../unit/http/fake-deps.ts';
import { openRaw } from './raw-http.ts';

/** Ten levels of nine aliases each: 9^10 ≈ 3.5 billion strings if expanded. */
function billionLaughs(prefix = ''): string {
  const lines = [`${prefix}l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]`];
  for (let level = 1; level <= 10; level += 1) {
    const previous = `*l${level - 1}`;
    lines.push(`${prefix}l${level}: &l${level} [${Array.from({ length: 9 }, () => previous).join(', ')}]`);
  }
  return lines.join('\n') + '\n';
}

describe('YAML bombs and huge YAML', () => {
  it('a billion-laughs rules file is refused with a positioned alias error, not expanded', () => {
    const text = `${billionLaughs('x-')}rules:\n  - name: r\n    presence: Busy\n    routingStatus: OffQueue\n`;
    const result = loadRules(text, 'bomb.yaml');
    expect(result.program).toBeNull();
    expect(result.errors).toEqual([expect.objectContaining({ file: 'bomb.yaml', line: 2, message: expect.stringMatching(/YAML aliases expand too much/) })]);
  });

  it('a billion-laughs config file is refused with a positioned alias error, not expanded', () => {
    const result = loadConfig(`x:\n${billionLaughs('  ')}`, '/etc/exas/exas.yaml', { env: {} });
    expect(result.config).toBeNull();
    expect(result.errors).toEqual([expect.objectContaining({ file: '/etc/exas/exas.yaml', line: 3, message: expect.stringMatching(/YAML aliases expand too much/) })]);
  });

  it('an alias used before its anchor in the config is an error, not a thrown exception', () => {
    const result = loadConfig('http:\n  listen: *nowhere\n', '/etc/exas/exas.yaml', { env: {} });
    expect(result.config).toBeNull();
    expect(result.errors[0]).toMatchObject({ line: 2, column: 11 });
  });

  it('a billion-laughs candidate posted to /dry-run is a 400 with the alias error and the app keeps serving', async () => {
    const app = createOperatorApp(createFakeDeps());
    const response = await app.request('/dry-run', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: [], rules: `${billionLaughs('x-')}rules: []\n` }) });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; details: Array<{ line: number; message: string }> };
    expect(body.details[0]).toMatchObject({ line: 2, message: expect.stringMatching(/YAML aliases expand too much/) });
    expect((await app.request('/livez')).status).toBe(200);
  });

  it('a 5 MB rules file of one huge scalar loads to an error', () => {
    const scalar = loadRules(`rules: "${'a'.repeat(5_000_000)}"\n`, 'huge.yaml');
    expect(scalar.program).toBeNull();
    expect(scalar.errors[0]?.message).toMatch(/rules must be a list/);
  });

  it('a rules file with a mapping of 2 000 keys loads to an error', () => {
    const keys = loadRules(`rules: {${Array.from({ length: 2_000 }, (_, i) => `k${i}: 1`).join(', ')}}\n`, 'keys.yaml');
    expect(keys.program).toBeNull();
    expect(keys.errors[0]?.message).toMatch(/rules must be a list/);
  });

  it('a generated rules file of 5 000 rules, each naming its own reason, loads to a program that decides them', () => {
    const rules = Array.from({ length: 5_000 }, (_, i) => `  - name: r${i}\n    when: { state: NotReady, reason: R${i} }\n    presence: Busy\n    routingStatus: OffQueue\n`);
    const text = `version: 1\nrules:\n${rules.join('')}  - name: rest\n    presence: Busy\n    routingStatus: OffQueue\n`;
    const result = loadRules(text, 'generated.yaml');
    expect(result.errors).toEqual([]);
    expect(result.program?.decide('NotReady', 'None', 'R4999').rule?.name).toBe('r4999');
    expect(result.program?.decide('Ready', 'None', null).rule?.name).toBe('rest');
  });

  it('a crafted file of 3 000 rules that each exclude their own reason is refused as too large to compile', () => {
    const rules = Array.from({ length: 3_000 }, (_, i) => `  - {name: r${i}, when: {reason: {not: [R${i}]}}, presence: Busy, routingStatus: OffQueue}\n`);
    const result = loadRules(`version: 1\nrules:\n${rules.join('')}`, 'crafted.yaml');
    expect(result.program).toBeNull();
    expect(result.errors).toEqual([expect.objectContaining({ line: 2, column: 1, message: expect.stringMatching(/too large to compile .* at most 30000000/) })]);
  });

  it('a rules file with one mapping of 100 000 keys (1.1 MB) loads to an error (duplicate keys are checked in linear time)', () => {
    const keys = Array.from({ length: 100_000 }, (_, i) => `k${i}: 1`);
    const rules = loadRules(`rules: {${keys.join(', ')}}\n`, 'keys.yaml');
    expect(rules.program).toBeNull();
    expect(rules.errors[0]?.message).toMatch(/rules must be a list/);
  });

  it('duplicates among 20 000 keys are found and placed, in the rules and the config file', () => {
    const keys = Array.from({ length: 20_000 }, (_, i) => `k${i}: 1`);
    const duplicated = loadRules(`version: 1\nx: {${keys.join(', ')}, k19998: 2}\nrules: []\n`, 'dup.yaml');
    expect(duplicated.errors.map((error) => [error.line, error.message])).toContainEqual([2, "duplicate key 'k19998'; a key may appear once in a mapping"]);
    const config = loadConfig(`writer:\n  mode: inject\n${keys.map((key) => `  ${key}`).join('\n')}\n  k7: 2\n`, '/etc/exas/exas.yaml', { env: {} });
    expect(config.config).toBeNull();
    expect(config.errors).toEqual([expect.objectContaining({ line: 20_003, column: 3, message: 'duplicate key' })]);
  });

  it('YAML nested 20 000 deep is refused with positioned errors, not a crash of the loader', () => {
    for (const text of [`rules: ${'['.repeat(20_000)}${']'.repeat(20_000)}`, `rules: ${'{a: '.repeat(5_000)}1${'}'.repeat(5_000)}`]) {
      const rules = loadRules(text, 'deep.yaml');
      expect(rules.program).toBeNull();
      expect(rules.errors.length).toBeGreaterThan(0);
      for (const error of rules.errors) expect(error.message).not.toMatch(/internal error|call stack/);
      expect(rules.errors[0]?.message).toMatch(/nested too deeply/);
      const config = loadConfig(text.replace(/^rules/, 'scope'), '/etc/exas/exas.yaml', { env: {} });
      expect(config.config).toBeNull();
      expect(config.errors.length).toBeGreaterThan(0);
      expect(config.errors[0]?.message).toMatch(/nested too deeply/);
    }
  });
});

describe('path traversal', () => {
  it('no request path, however encoded, makes the operator server return a file', async () => {
    const server = await started(() => startOperatorServer(createFakeDeps()));
    const paths = [
      '/../package.json',
      '/../../../../etc/passwd',
      '/%2e%2e/package.json',
      '/%2e%2e%2f%2e%2e%2fpackage.json',
      '/page.js/../../package.json',
      '/page.js%2f..%2f..%2fpackage.json',
      '/agents/..%2f..%2fpackage.json',
      '/agents/../../../etc/passwd',
      '/..%5c..%5cpackage.json',
      '/%252e%252e/package.json',
      '//etc/passwd',
      '/exas.rules.yaml',
      '/package.json',
    ];
    for (const path of paths) {
      const client = await openRaw(server.port);
      await client.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      const answer = await client.closed;
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]);
      expect({ path, status }).toEqual({ path, status: expect.any(Number) });
      expect([400, 404]).toContain(status);
      expect(answer).not.toMatch(/"name":\s*"exas"|root:x:0:0|routingStatus:/);
    }
    expect((await fetch(`${server.url}/livez`)).status).toBe(200);
  });

  it('an agent id that looks like a path is only ever a lookup key in /agents', async () => {
    const app = createOperatorApp(createFakeDeps());
    // (`..` itself never reaches the app: URL parsing resolves it first; the raw-socket test above covers it.)
    for (const id of ['..%2f..%2fetc%2fpasswd', '...', '..%5c..%5cetc', '%00..']) {
      const response = await app.request(`/agents/${id}`);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: string }).error).toMatch(/is not in scope/);
    }
  });

  it('a GC id of "." or ".." is refused by the GC client instead of resolving to another endpoint', async () => {
    const requested: string[] = [];
    const fakeFetch: typeof fetch = async (input) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      requested.push(url.pathname);
      if (url.pathname === '/oauth/token') return Response.json({ access_token: 'fake-access-token', token_type: 'bearer', expires_in: 86_400 });
      return Response.json({ id: 'someone-else', name: 'not the user asked for' });
    };
    const client = createGcClient({ baseUrl: 'http://gc.invalid', clientId: 'exas-test', clientSecret: 'exas-test-secret', fetch: fakeFetch, readRetries: 0 });
    for (const id of ['..', '.']) {
      await expect(client.getUserByExternalId('engage', id)).rejects.toThrow(/path segment/);
      await expect(client.getUser(id)).rejects.toThrow(/path segment/);
    }
    // Ids that merely contain dots or slashes stay inside their segment.
    await client.getUserByExternalId('engage', '../../users');
    expect(requested.filter((path) => path !== '/oauth/token')).toEqual(['/api/v2/users/externalid/engage/..%2F..%2Fusers']);
  });
});
