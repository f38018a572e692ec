/**
 * `exas run --check` runs every check `run` makes before it connects (src/cli/preflight.ts), so it cannot
 * approve a config that `run` rejects; and it warns about exposed secrets and weak operator settings.
 */
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../src/cli/io.ts';
import { PREFLIGHT_CHECKS } from '../../../src/cli/preflight.ts';
import { run } from '../../../src/cli/run.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** A config like the example, with `http` and `statServer` changed as a test needs. */
function configDir(edit: (text: string) => string = (text) => text, rules?: string): string {
  const dir = mkdtempSync(join(os.tmpdir(), 'exas-run-check-'));
  copyFileSync(join(ROOT, 'exas.rules.yaml'), join(dir, 'exas.rules.yaml'));
  if (rules !== undefined) writeFileSync(join(dir, 'exas.rules.yaml'), rules);
  writeFileSync(join(dir, 'exas.yaml'), edit(readText(join(ROOT, 'exas.config.example.yaml'))));
  return dir;
}

function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

async function check(dir: string, extraArgs: string[] = ['--check']): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text), readStdin: async () => '', colour: false };
  const code = await run(['--config', join(dir, 'exas.yaml'), ...extraArgs], io);
  return { code, out, err };
}

const saved = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (key.startsWith('EXAS_')) delete process.env[key];
  Object.assign(process.env, saved);
});

describe('exas run --check', () => {
  it('runs the listed checks and passes the example config', async () => {
    expect(PREFLIGHT_CHECKS).toEqual([
      'operator server: tokens, limits, listen address',
      'sidecar parts: Stat Server source, GC clients, identity, scope, store, writer',
      'rules file: readable, within rules.maxFileBytes, loads, passes its own tests',
    ]);
    const result = await check(configDir());
    expect(result.code, result.err).toBe(0);
    expect(result.out).toContain('ok (3 checks: operator server, sidecar parts, rules file)');
  });

  it('refuses a Statistics API config without an API key, as run would', async () => {
    const result = await check(configDir((text) => text.replace(/^  apiKey: .*$/m, '')));
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/sidecar parts: .*statServer\.apiKey: the Statistics API needs an API key/);
  });

  it('refuses an admin token with spaces (no Bearer header can carry it), with and without --check', async () => {
    process.env['EXAS_HTTP_TOKEN'] = 'my admin token with spaces';
    const dir = configDir();
    const checked = await check(dir);
    expect(checked.code).toBe(2);
    expect(checked.err).toMatch(/http\.token \(env EXAS_HTTP_TOKEN\) has characters a Bearer header cannot carry/);
    expect(checked.err).not.toContain('my admin token');
    // `run` itself stops at the same check, before connecting anywhere.
    expect((await check(dir, [])).code).toBe(2);
  });

  it('refuses a non-loopback listen address without a token unless allowUnauthenticated says so, then warns', async () => {
    const open = await check(configDir((text) => text.replace('listen: 127.0.0.1:9464', 'listen: 0.0.0.0:9464')));
    expect(open.code).toBe(2);
    expect(open.err).toMatch(/not a loopback address and no http\.token is set.*refuses to start/);
    const allowed = await check(configDir((text) => text.replace('listen: 127.0.0.1:9464', 'listen: 0.0.0.0:9464\n  allowUnauthenticated: true')));
    expect(allowed.code, allowed.err).toBe(0);
    expect(allowed.err).toMatch(/warning: http\.listen 0\.0\.0\.0:9464 is not a loopback address/);
  });

  it('refuses a rules file whose own tests fail (rules.testOnReload), as the first load would', async () => {
    const rules = readText(join(ROOT, 'exas.rules.yaml')).replace('expect: { presence: Offline, routingStatus: OffQueue, rule: logged-off }', 'expect: { presence: Busy, routingStatus: OffQueue, rule: logged-off }');
    const result = await check(configDir(undefined, rules));
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/rules file: .*its own tests fail/s);
  });

  it('warns about a world-readable token file, a short token and a bridge listener without a token', async () => {
    const dir = configDir((text) =>
      text
        .replace('source: statistics-api', 'source: bridge\n  bridgeListen: 127.0.0.1:7555')
        .replace(/^  bearerToken: .*$/m, '')
        .replace('listen: 127.0.0.1:9464', 'listen: 127.0.0.1:9464\n  tokenFile: token.txt'),
    );
    writeFileSync(join(dir, 'token.txt'), 'short-token\n');
    chmodSync(join(dir, 'token.txt'), 0o644);
    const result = await check(dir);
    expect(result.code, result.err).toBe(0);
    expect(result.err).toMatch(/warning: secret file .*token\.txt can be read by other users \(mode 0644\)/);
    expect(result.err).toMatch(/warning: http\.token is only 11 characters long/);
    expect(result.err).toMatch(/warning: statServer\.bridgeListen 127\.0\.0\.1:7555 accepts bridges without a token/);
    expect(result.err).not.toContain('short-token');
  });
});

describe('exas run --check: writer.batchSize within GC inject limit', () => {
  it('rejects 101 with a message that names GC 100-event limit, at the line of the key', async () => {
    const dir = configDir((text) => text.replace(/^  batchSize: 100\b/m, '  batchSize: 101'));
    const line = readText(join(dir, 'exas.yaml')).split('\n').findIndex((text) => text.startsWith('  batchSize: 101')) + 1;
    expect(line).toBeGreaterThan(0);
    const { code, out, err } = await check(dir);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain(`exas.yaml:${line}:`);
    expect(err).toContain('[writer.batchSize]');
    expect(err).toMatch(/must be at most 100, not 101: GC accepts at most 100 events per inject request/);
  });

  it('accepts 100, the default and GC maximum', async () => {
    const dir = configDir();
    expect(readText(join(dir, 'exas.yaml'))).toMatch(/^  batchSize: 100\b/m);
    const { code, out, err } = await check(dir);
    expect(code, err).toBe(0);
    expect(out).toContain('ok');
  });
});
