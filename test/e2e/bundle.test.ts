/**
 * dist/exas.mjs is one self-contained file: it carries its version, schemas and status page, runs from a
 * directory holding nothing but itself and a rules file, under Node and under Deno with only the documented
 * permissions (a read outside the granted files would fail there, so this also proves the bundle never reads
 * files next to itself). The full Node-vs-Deno comparison is scripts/bundle-smoke.mjs.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
const DENO = join(ROOT, 'node_modules', 'deno', 'deno');
const DENO_ENV = '--allow-env=EXAS_*,NO_COLOR,LOG_STREAM,LOG_TOKENS';

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(command: string, args: string[], cwd: string): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(command, args, { cwd, env: { ...process.env, NO_COLOR: '1' }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

let dir = '';
let bundleText = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'exas-bundle-'));
  const built = await exec(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--bundle', '--outfile', join(dir, 'exas.mjs')], ROOT);
  expect(built.stderr).toBe('');
  expect(built.code).toBe(0);
  copyFileSync(join(ROOT, 'exas.rules.yaml'), join(dir, 'exas.rules.yaml'));
  bundleText = readFileSync(join(dir, 'exas.mjs'), 'utf8');
}, 60_000);

afterAll(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('dist/exas.mjs', () => {
  it('starts with a banner naming the version', () => {
    expect(bundleText.split('\n', 1)[0]).toContain(`exas ${packageJson.version}`);
  });

  it('embeds the rules and config schemas and the status page', () => {
    expect(bundleText).toContain('EXAS rules file (exas.rules.yaml)');
    expect(bundleText).toContain('EXAS sidecar configuration (exas run --config FILE)');
    expect(bundleText).toContain('<title>EXAS status');
  });

  it('has a source map beside it', () => {
    expect(existsSync(join(dir, 'exas.mjs.map'))).toBe(true);
    expect(bundleText).toMatch(/\/\/# sourceMappingURL=exas\.mjs\.map\s*$/);
  });

  it('keeps the optional native add-ons of ws out of the run-time path', () => {
    expect(bundleText).not.toMatch(/require\("(bufferutil|utf-8-validate)"\)/);
  });

  it('prints its version under Node', async () => {
    const outcome = await exec(process.execPath, ['exas.mjs', '--version'], dir);
    expect(outcome).toEqual({ code: 0, stdout: `exas ${packageJson.version}\n`, stderr: '' });
  });

  it('checks and tests the default rules file under Node with no other file beside it', async () => {
    const check = await exec(process.execPath, ['exas.mjs', 'check', 'exas.rules.yaml'], dir);
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^exas\.rules\.yaml: OK/);
    const test = await exec(process.execPath, ['exas.mjs', 'test', 'exas.rules.yaml'], dir);
    expect(test.code).toBe(0);
    expect(test.stdout).toMatch(/\b0 failed\b/);
  });

  it.skipIf(!existsSync(DENO))('gives the same answers under Deno with read access to the rules file only', async () => {
    const flags = ['run', '--no-prompt', DENO_ENV, '--allow-read=exas.rules.yaml', 'exas.mjs'];
    const underNode = await exec(process.execPath, ['exas.mjs', 'check', 'exas.rules.yaml'], dir);
    const underDeno = await exec(DENO, [...flags, 'check', 'exas.rules.yaml'], dir);
    expect(underDeno).toEqual(underNode);
    const version = await exec(DENO, ['run', '--no-prompt', DENO_ENV, 'exas.mjs', '--version'], dir);
    expect(version).toEqual({ code: 0, stdout: `exas ${packageJson.version}\n`, stderr: '' });
  });
});
