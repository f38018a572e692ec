/**
 * Resolves secrets from, highest precedence first: the `EXAS_*` variable, the `EXAS_*_FILE` variable, the
 * config's `*Env` key (names another variable), the config's `*File` key, and an inline value (demo only,
 * with a warning). The value is wrapped in a `Secret` so it never reaches a log line.
 */
import { Secret } from './secret.ts';
import type { Environment } from './env.ts';

export interface SecretSpec {
  /** The top-level variable, e.g. `EXAS_GC_CLIENT_SECRET` (its `_FILE` variant is implied). */
  readonly envName: string;
  /** Config `*Env` value: the name of a variable holding the secret. */
  readonly configEnv?: string | undefined;
  /** Config `*File` value: an absolute path. */
  readonly configFile?: string | undefined;
  /** Config inline value. */
  readonly inline?: string | undefined;
}

export type SecretResult =
  | { readonly ok: true; readonly secret: Secret | null; readonly warning?: string; readonly path?: string }
  | { readonly ok: false; readonly error: string };

/** Finds the secret; `secret: null` when none of the sources is set. */
export function resolveSecret(spec: SecretSpec, env: Environment, readFile: (path: string) => string): SecretResult {
  const direct = env[spec.envName];
  if (direct !== undefined && direct !== '') return { ok: true, secret: new Secret(direct, `env ${spec.envName}`) };
  const fileVariable = `${spec.envName}_FILE`;
  const fromFileVariable = env[fileVariable];
  if (fromFileVariable !== undefined && fromFileVariable !== '') return readSecretFile(fromFileVariable, `env ${fileVariable}`, readFile);
  if (spec.configEnv !== undefined) {
    const value = env[spec.configEnv];
    if (value === undefined || value === '') return { ok: false, error: `environment variable ${spec.configEnv} is not set` };
    return { ok: true, secret: new Secret(value, `env ${spec.configEnv}`) };
  }
  if (spec.configFile !== undefined) return readSecretFile(spec.configFile, `file ${spec.configFile}`, readFile);
  if (spec.inline !== undefined) {
    return {
      ok: true,
      secret: new Secret(spec.inline, 'inline'),
      warning: `secret written inline in the config file; use ${spec.envName} or ${fileVariable} outside demos`,
    };
  }
  return { ok: true, secret: null };
}

function readSecretFile(path: string, origin: string, readFile: (path: string) => string): SecretResult {
  let text: string;
  try {
    text = readFile(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { ok: false, error: `cannot read secret file ${path} (${typeof code === 'string' ? code : 'error'})` };
  }
  // Secret files written by `echo` or mounted by Kubernetes often end in a newline that is not part of the secret.
  const value = text.replace(/\r?\n$/, '');
  if (value === '') return { ok: false, error: `secret file ${path} is empty` };
  return { ok: true, secret: new Secret(value, origin), path };
}
