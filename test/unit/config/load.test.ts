import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { formatYamlDiagnostic, loadConfig, loadConfigFile, ENV_OVERRIDES, parseListen } from '../../../src/config/index.ts';
import schema from '../../../schemas/config.schema.json' with { type: 'json' };

const CREDENTIALS = { EXAS_GC_CLIENT_ID: 'exas-demo', EXAS_GC_CLIENT_SECRET: 'exas-demo-secret' };
const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no ${path}`), { code: 'ENOENT' });
};

describe('config loading', () => {
  it('an empty file with GC credentials in the environment gives every documented default', () => {
    const { config, errors } = loadConfig('', '/etc/exas/config.yaml', { env: CREDENTIALS, readFile: noFiles });
    expect(errors).toEqual([]);
    expect(config).not.toBeNull();
    expect(config?.writer).toMatchObject({ mode: 'inject', batchSize: 100, keepFallback: 'Busy' });
    expect(config?.drift).toMatchObject({ policy: 're-assert', maxReasserts: 3, windowSeconds: 300 });
    expect(config?.http).toMatchObject({ host: '127.0.0.1', port: 9464 });
    expect(config?.lifecycle.shutdownGraceSeconds).toBe(10);
    expect(config?.gc.requestsPerMinute).toBe(300);
    expect(config?.statServer.settleMs).toBe(50);
    expect(config?.scope).toMatchObject({ source: 'file', file: '/etc/exas/exas-agents.txt', refreshIntervalSeconds: 300 });
    expect(config?.identity).toMatchObject({ key: 'externalId', mode: 'auto', authority: 'engage' });
    expect(config?.rules.file).toBe('/etc/exas/exas.rules.yaml');
    expect(config?.store.path).toBe('/etc/exas/exas-state.json');
    expect(config?.identity.cachePath).toBe('/etc/exas/exas-identity.json');
    expect(config?.gc.clients.map((client) => client.clientId)).toEqual(['exas-demo']);
    expect(config?.gc.clients[0]?.clientSecret.reveal()).toBe('exas-demo-secret');
  });

  it('an unknown key is an error at its FILE:LINE:COLUMN with a hint', () => {
    const text = 'writer:\n  mode: inject\n  batchSise: 50\n';
    const { config, errors } = loadConfig(text, 'exas.yaml', { env: CREDENTIALS });
    expect(config).toBeNull();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: 'exas.yaml', line: 3, column: 3, key: 'writer.batchSise', code: 'unknown-key', message: "unknown key 'batchSise' (did you mean 'batchSize'?) in writer" });
    expect(formatYamlDiagnostic(errors[0]!)).toBe(
      "exas.yaml:3:3: error: unknown key 'batchSise' (did you mean 'batchSize'?) in writer [writer.batchSise]\n  hint: allowed keys in writer: mode, batchSize, keepFallback",
    );
  });

  it('a wrong enum value points at the value, names it and suggests the closest allowed one', () => {
    const text = 'drift:\n  policy: reasert\n';
    const { errors } = loadConfig(text, 'exas.yaml', { env: CREDENTIALS });
    expect(errors[0]).toMatchObject({ line: 2, column: 11, key: 'drift.policy', code: 'unknown-value' });
    expect(errors[0]?.message).toBe("unknown value 'reasert' for drift.policy (did you mean 're-assert'?); expected one of re-assert, report, off");
  });

  it('says what is wrong in words, with the value seen, sorted by line', () => {
    const text = [
      'writer:',
      '  batchSize: ten', // 2
      'gc:',
      '  requestsPerMinute: 0', // 4
      '  baseUrl: ftp://gc', // 5
      'http:',
      '  listen: localhost', // 7
      'statServer:',
      '  endpoints:',
      '    - baseUrl: http://stat:1',
      '  settleMs: -5', // 11
      '',
    ].join('\n');
    const { errors } = loadConfig(text, 'exas.yaml', { env: CREDENTIALS });
    expect(errors.map((e) => `${e.line}:${e.column} ${e.message}`)).toEqual([
      "2:14 writer.batchSize must be a whole number, not 'ten'",
      '4:22 gc.requestsPerMinute must be at least 1, not 0',
      "5:12 gc.baseUrl must be a URL starting with http:// or https://, not 'ftp://gc'",
      "7:11 http.listen must be host:port, e.g. 127.0.0.1:9464 or [::1]:9464, not 'localhost'",
      '11:13 statServer.settleMs must be at least 0, not -5',
    ]);
    for (const error of errors) expect(error.message).not.toMatch(/must be integer|must match pattern|must be >=/);
  });

  it('names the file as the user gave it, relative, while resolving paths against its directory', () => {
    const { errors } = loadConfigFile('test/unit/config/fixtures/typo.yaml', { env: CREDENTIALS });
    expect(errors.map((e) => `${e.file}:${e.line}:${e.column}`)).toEqual(['test/unit/config/fixtures/typo.yaml:2:3']);
  });

  it('a duplicate key is an error', () => {
    const { errors } = loadConfig('store:\n  path: a.json\nstore:\n  path: b.json\n', 'exas.yaml', { env: CREDENTIALS });
    expect(errors[0]).toMatchObject({ line: 3, message: 'duplicate key' });
  });

  it('keep never falls back to Available', () => {
    const { errors } = loadConfig('writer:\n  keepFallback: Available\n', 'exas.yaml', { env: CREDENTIALS });
    expect(errors[0]).toMatchObject({ line: 2, key: 'writer.keepFallback' });
    expect(errors[0]?.hint).toContain('Available');
  });

  it('without GC client credentials the error names the variables to set', () => {
    const { config, errors } = loadConfig('', 'exas.yaml', { env: {} });
    expect(config).toBeNull();
    expect(errors[0]?.message).toContain('no client id');
    expect(errors[0]?.hint).toContain('EXAS_GC_CLIENT_SECRET');
  });

  it('environment overrides replace file values and a bad one is reported against the variable', () => {
    const ok = loadConfig('http:\n  listen: 127.0.0.1:1\n', 'exas.yaml', {
      env: { ...CREDENTIALS, EXAS_HTTP_LISTEN: '0.0.0.0:8080', EXAS_HTTP_TOKEN: 'a-long-enough-admin-token', EXAS_STAT_ENDPOINTS: 'http://a:1, http://b:2/', EXAS_WRITER_BATCH_SIZE: '25' },
    });
    expect(ok.config?.http).toMatchObject({ host: '0.0.0.0', port: 8080 });
    expect(ok.config?.statServer.endpoints).toEqual([{ baseUrl: 'http://a:1' }, { baseUrl: 'http://b:2' }]);
    expect(ok.config?.writer.batchSize).toBe(25);
    const bad = loadConfig('', 'exas.yaml', { env: { ...CREDENTIALS, EXAS_WRITER_BATCH_SIZE: 'many' } });
    expect(bad.errors[0]).toMatchObject({ file: 'environment EXAS_WRITER_BATCH_SIZE', key: 'writer.batchSize' });
  });

  it('secrets come from *_FILE variables and config file keys, with the trailing newline dropped', () => {
    const files: Record<string, string> = { '/run/secrets/gc': 's3cret\n', '/etc/exas/stat.key': 'key-1\n' };
    const readFile = (path: string): string => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return text;
    };
    const text = 'statServer:\n  apiKeyFile: stat.key\n';
    const { config, errors } = loadConfig(text, '/etc/exas/config.yaml', {
      env: { EXAS_GC_CLIENT_ID: 'id', EXAS_GC_CLIENT_SECRET_FILE: '/run/secrets/gc' },
      readFile,
    });
    expect(errors).toEqual([]);
    expect(config?.gc.clients[0]?.clientSecret.reveal()).toBe('s3cret');
    expect(config?.statServer.apiKey?.reveal()).toBe('key-1');
    expect(config?.statServer.apiKey?.origin).toBe('file /etc/exas/stat.key');
  });

  it('a missing secret file is an error at the key that names it', () => {
    const { errors } = loadConfig('http:\n  tokenFile: /nope\n', 'exas.yaml', { env: CREDENTIALS, readFile: noFiles });
    expect(errors[0]).toMatchObject({ key: 'http.token' });
    expect(errors[0]?.message).toContain('ENOENT');
  });

  it('an inline secret works but warns, and secrets never appear in JSON or inspect output', () => {
    const text = 'gc:\n  clients:\n    - clientId: exas-demo\n      clientSecret: exas-demo-secret\n';
    const { config, warnings } = loadConfig(text, 'exas.yaml', { env: {} });
    expect(warnings.some((w) => w.message.includes('inline'))).toBe(true);
    expect(JSON.stringify(config)).not.toContain('exas-demo-secret');
    expect(inspect(config, { depth: 10 })).not.toContain('exas-demo-secret');
    expect(String(config?.gc.clients[0]?.clientSecret)).toBe('[redacted]');
  });

  it('several GC clients each get their own credentials', () => {
    const text = 'gc:\n  clients:\n    - clientIdEnv: A_ID\n      clientSecretEnv: A_SECRET\n    - clientIdEnv: B_ID\n      clientSecretEnv: B_SECRET\n';
    const { config, errors } = loadConfig(text, 'exas.yaml', { env: { A_ID: 'a', A_SECRET: 'x', B_ID: 'b', B_SECRET: 'y' } });
    expect(errors).toEqual([]);
    expect(config?.gc.clients.map((c) => [c.clientId, c.clientSecret.reveal()])).toEqual([
      ['a', 'x'],
      ['b', 'y'],
    ]);
  });

  it('scope from GC is refused with external ids, which GC user listings do not carry', () => {
    const { errors } = loadConfig('scope:\n  source: gc\n', 'exas.yaml', { env: CREDENTIALS });
    expect(errors[0]).toMatchObject({ line: 2, key: 'scope.source' });
  });

  it('per-user write mode warns that Interacting and Communicating cannot be mirrored', () => {
    const { warnings } = loadConfig('writer:\n  mode: per-user\n', 'exas.yaml', { env: CREDENTIALS });
    expect(warnings.map((w) => w.message).join()).toContain('Interacting');
  });

  it('a missing config file is a diagnostic, not a throw', () => {
    const { config, errors } = loadConfigFile('/nonexistent/exas.yaml', { env: CREDENTIALS });
    expect(config).toBeNull();
    expect(errors[0]?.message).toContain('ENOENT');
  });

  it('listen addresses accept IPv6 and reject out-of-range ports', () => {
    expect(parseListen('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseListen('localhost:70000')).toBeNull();
  });

  it('the example config in the repository loads', () => {
    const { config, errors } = loadConfigFile('exas.config.example.yaml', { env: {} });
    expect(errors.map(formatYamlDiagnostic)).toEqual([]);
    expect(config?.gc.baseUrl).toBe('http://127.0.0.1:7301');
  });
});

describe('docs/config.md', () => {
  const docs = readFileSync('docs/config.md', 'utf8');

  function keys(node: unknown, prefix: string): string[] {
    const properties = (node as { properties?: Record<string, unknown> }).properties ?? {};
    const items = (node as { items?: unknown }).items;
    const out: string[] = [];
    for (const [name, child] of Object.entries(properties)) {
      const path = prefix === '' ? name : `${prefix}.${name}`;
      out.push(path, ...keys(child, path));
    }
    if (items !== undefined) out.push(...keys(items, `${prefix}[]`));
    return out;
  }

  it('documents every config key of the schema', () => {
    const missing = keys(schema, '').filter((key) => !docs.includes('`' + key + '`'));
    expect(missing).toEqual([]);
  });

  it('documents every environment override', () => {
    const missing = ENV_OVERRIDES.map((o) => o.name).filter((name) => !docs.includes(name));
    expect(missing).toEqual([]);
    for (const secret of ['EXAS_GC_CLIENT_ID', 'EXAS_GC_CLIENT_SECRET', 'EXAS_GC_CLIENT_SECRET_FILE', 'EXAS_STAT_API_KEY', 'EXAS_STAT_API_KEY_FILE', 'EXAS_HTTP_TOKEN']) {
      expect(docs).toContain(secret);
    }
  });
});
