import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import packageJson from '../../../package.json' with { type: 'json' };
import { main } from '../../../src/cli.ts';
import type { CliIo } from '../../../src/cli/io.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { loadRules } from '../../../src/rules/index.ts';
import { VERSION, rulesHash, startupLogFields, versionLine } from '../../../src/version.ts';

const SECRETS = { gc: 'gc-secret-value-1', stat: 'stat-api-key-value-2', token: 'operator-token-value-3' };

function demoConfig() {
  const text = [
    'statServer:',
    '  endpoints: [{ baseUrl: "http://stat.example:7201" }]',
    'gc:',
    '  region: eu_west_1',
    'scope:',
    '  source: list',
    '  agents: ["1001", "1002"]',
    'rules:',
    '  file: exas.rules.yaml',
  ].join('\n');
  const env = {
    EXAS_GC_CLIENT_ID: 'client-a',
    EXAS_GC_CLIENT_SECRET: SECRETS.gc,
    EXAS_STAT_API_KEY: SECRETS.stat,
    EXAS_HTTP_TOKEN: SECRETS.token,
  };
  const { config, errors } = loadConfig(text, '/etc/exas/exas.yaml', { env });
  expect(errors).toEqual([]);
  if (config === null) throw new Error('config did not load');
  return config;
}

describe('version', () => {
  it('is the package version', () => {
    expect(VERSION).toBe(packageJson.version);
    expect(versionLine()).toBe(`exas ${packageJson.version}\n`);
  });

  it('exas --version prints "exas X.Y.Z" on stdout and exits 0', async () => {
    let stdout = '';
    let stderr = '';
    const io: CliIo = { out: (text) => void (stdout += text), err: (text) => void (stderr += text), readStdin: async () => '', colour: false };
    expect(await main(['--version'], io)).toBe(0);
    expect(stdout).toMatch(/^exas \d+\.\d+\.\d+\n$/);
    expect(stderr).toBe('');
  });
});

describe('startupLogFields', () => {
  it('names the version, runtime, rules hash and config summary', () => {
    const fields = startupLogFields(demoConfig(), 'rules: []\n');
    expect(fields.version).toBe(VERSION);
    expect(fields.runtime).toMatch(/^(node|deno) \d+\./);
    expect(fields.rulesHash).toBe(rulesHash('rules: []\n'));
    expect(fields.rulesFile).toBe('/etc/exas/exas.rules.yaml');
    expect(fields.statServer.endpoints).toEqual(['http://stat.example:7201']);
    expect(fields.gc.target).toBe('eu_west_1');
    expect(fields.gc.clients).toEqual([{ clientId: 'client-a', clientSecret: '[redacted] (env EXAS_GC_CLIENT_SECRET)' }]);
    expect(fields.scope).toEqual({ source: 'list', agents: 2 });
  });

  it('never carries a secret value, only where it came from', () => {
    const text = JSON.stringify(startupLogFields(demoConfig(), null));
    for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
    expect(text).toContain('env EXAS_STAT_API_KEY');
    expect(text).toContain('env EXAS_HTTP_TOKEN');
  });

  it('reports a rules file it could not read as a null hash', () => {
    expect(startupLogFields(demoConfig(), null).rulesHash).toBeNull();
  });

  it('hashes rules text the way the compiled rules do', async () => {
    const text = readFileSync(new URL('../../../exas.rules.yaml', import.meta.url), 'utf8');
    const loaded = loadRules(text, 'exas.rules.yaml');
    expect(loaded.program?.hash).toBe(rulesHash(text));
    expect(rulesHash('a: 1\n')).toBe(rulesHash('a: 1\n'));
    expect(rulesHash('a: 1\n')).not.toBe(rulesHash('a: 2\n'));
    expect(rulesHash('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
