/**
 * Fuzz target: the config loader. Edits of the example config, arbitrary text and arbitrary `EXAS_*` environment
 * values give positioned errors or a config, never a throw; and a secret that came from the environment or a
 * secret file never shows in a diagnostic or in the serialised config, whatever else is wrong.
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENV_OVERRIDES, formatYamlDiagnostic, loadConfig, type ConfigResult, type Environment } from '../../src/config/index.ts';
import { anyText, mutations } from './arbitraries.ts';
import { FUZZ_TIMEOUT_MS, fuzzParameters, mutate, yieldToEventLoop } from './profile.ts';

const EXAMPLE = readFileSync(new URL('../../exas.config.example.yaml', import.meta.url), 'utf8');
const MINIMAL = 'statServer:\n  endpoints: [{ baseUrl: "http://127.0.0.1:7201" }]\ngc:\n  baseUrl: "http://127.0.0.1:7301"\nscope:\n  source: list\n  agents: ["1001"]\n';
/** Secret variables the loader resolves; the fuzz gives each a recognisable value. */
const SECRET_VARIABLES = ['EXAS_GC_CLIENT_SECRET', 'EXAS_STAT_API_KEY', 'EXAS_STAT_BEARER_TOKEN', 'EXAS_HTTP_TOKEN', 'EXAS_GC_CLIENT_SECRET_2'] as const;

const envValue = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('0', '-1', '1e9', 'NaN', 'true', '127.0.0.1:0', '[::1]:9464', 'a,b,,c', 'bridge', 'per-user', ' '));
const plainEnv = fc.dictionary(fc.constantFrom(...ENV_OVERRIDES.map((o) => o.name), 'EXAS_GC_CLIENT_ID', 'EXAS_GC_CLIENT_SECRET_FILE', 'EXAS_STAT_API_KEY_FILE'), envValue, { maxKeys: 6 });

/** Stands in for secret and scope files: some paths exist, others fail like a missing or unreadable file. */
function fakeReadFile(files: Readonly<Record<string, string>>): (path: string) => string {
  return (path) => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: no such file ${path}`), { code: 'ENOENT' });
    return text;
  };
}

function checkResult(text: string, result: ConfigResult): void {
  expect(result.config === null).toBe(result.errors.length > 0);
  const lines = text.split(/\r\n|\r|\n/).length;
  for (const diagnostic of [...result.errors, ...result.warnings]) {
    expect(diagnostic.message.length).toBeGreaterThan(0);
    expect(Number.isInteger(diagnostic.line) && diagnostic.line >= 1 && diagnostic.line <= lines + 1).toBe(true);
    expect(Number.isInteger(diagnostic.column) && diagnostic.column >= 1).toBe(true);
    expect(typeof formatYamlDiagnostic(diagnostic)).toBe('string');
  }
  if (result.config !== null) {
    expect(result.config.http.port).toBeGreaterThanOrEqual(0);
    expect(result.config.http.port).toBeLessThanOrEqual(65535);
  }
}

describe('config loader fuzz', () => {
  it(
    'edits of the example config with arbitrary EXAS_* variables load to errors or a config, never a throw',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(EXAMPLE, MINIMAL), mutations, plainEnv, async (seed, edits, env) => {
          await yieldToEventLoop();
          const text = mutate(seed, edits);
          checkResult(text, loadConfig(text, '/etc/exas/exas.yaml', { env, readFile: fakeReadFile({}) }));
        }),
        fuzzParameters(400, 9301),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'arbitrary text loads to errors or a config, never a throw',
    async () => {
      await fc.assert(
        fc.asyncProperty(anyText, async (text) => {
          await yieldToEventLoop();
          checkResult(text, loadConfig(text, '/etc/exas/exas.yaml', { env: {}, readFile: fakeReadFile({}) }));
        }),
        fuzzParameters(1000, 9302),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  it(
    'secrets from the environment or secret files never appear in diagnostics or in the printed config',
    async () => {
      const secret = fc.stringMatching(/^[A-Za-z0-9]{6,12}$/).map((tail) => `s3cr3t-${tail}`);
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(EXAMPLE, MINIMAL),
          mutations,
          plainEnv,
          fc.subarray([...SECRET_VARIABLES], { minLength: 1 }),
          secret,
          fc.boolean(),
          async (seed, edits, env, secretVariables, value, viaFile) => {
            await yieldToEventLoop();
            const environment: Record<string, string | undefined> = { ...env };
            const files: Record<string, string> = {};
            secretVariables.forEach((name, index) => {
              if (viaFile) {
                environment[`${name}_FILE`] = `/run/secrets/s${index}`;
                files[`/run/secrets/s${index}`] = `${value}-${index}\n`;
              } else {
                environment[name] = `${value}-${index}`;
              }
            });
            const text = mutate(seed, edits);
            const result = loadConfig(text, '/etc/exas/exas.yaml', { env: environment as Environment, readFile: fakeReadFile(files) });
            checkResult(text, result);
            const printed = [
              ...[...result.errors, ...result.warnings].map(formatYamlDiagnostic),
              JSON.stringify(result.config),
              inspect(result.config, { depth: 10 }),
              String(result.config?.gc.clients[0]?.clientSecret),
            ].join('\n');
            expect(printed).not.toContain(value);
          },
        ),
        fuzzParameters(400, 9303),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
