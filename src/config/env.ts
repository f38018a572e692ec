/**
 * Environment overrides of config keys (documented in docs/config.md). Plain keys are applied to the parsed
 * YAML before schema validation, so a bad value in the environment is reported like a bad value in the file.
 * Secrets (`EXAS_GC_CLIENT_SECRET`, `EXAS_STAT_API_KEY`, …) are resolved separately, by `secrets.ts`.
 */

export type Environment = Readonly<Record<string, string | undefined>>;

export interface EnvOverride {
  readonly name: string;
  readonly path: readonly string[];
  readonly kind: 'string' | 'integer' | 'number' | 'boolean' | 'endpoints';
}

/** Every non-secret override, in the order docs/config.md lists them. */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  { name: 'EXAS_STAT_SOURCE', path: ['statServer', 'source'], kind: 'string' },
  { name: 'EXAS_STAT_ENDPOINTS', path: ['statServer', 'endpoints'], kind: 'endpoints' },
  { name: 'EXAS_GC_REGION', path: ['gc', 'region'], kind: 'string' },
  { name: 'EXAS_GC_BASE_URL', path: ['gc', 'baseUrl'], kind: 'string' },
  { name: 'EXAS_GC_LOGIN_URL', path: ['gc', 'loginUrl'], kind: 'string' },
  { name: 'EXAS_GC_REQUESTS_PER_MINUTE', path: ['gc', 'requestsPerMinute'], kind: 'integer' },
  { name: 'EXAS_IDENTITY_KEY', path: ['identity', 'key'], kind: 'string' },
  { name: 'EXAS_SCOPE_REFRESH_SECONDS', path: ['scope', 'refreshIntervalSeconds'], kind: 'integer' },
  { name: 'EXAS_RULES_FILE', path: ['rules', 'file'], kind: 'string' },
  { name: 'EXAS_WRITER_MODE', path: ['writer', 'mode'], kind: 'string' },
  { name: 'EXAS_WRITER_BATCH_SIZE', path: ['writer', 'batchSize'], kind: 'integer' },
  { name: 'EXAS_DRIFT_POLICY', path: ['drift', 'policy'], kind: 'string' },
  { name: 'EXAS_STORE_PATH', path: ['store', 'path'], kind: 'string' },
  { name: 'EXAS_HTTP_LISTEN', path: ['http', 'listen'], kind: 'string' },
  { name: 'EXAS_SHUTDOWN_GRACE_SECONDS', path: ['lifecycle', 'shutdownGraceSeconds'], kind: 'number' },
  { name: 'EXAS_LOG_LEVEL', path: ['log', 'level'], kind: 'string' },
  // High availability: per-pod identity and per-shard lease name from the orchestrator (set only with `ha:`).
  { name: 'EXAS_HA_IDENTITY', path: ['ha', 'identity'], kind: 'string' },
  { name: 'EXAS_HA_LEASE_NAME', path: ['ha', 'lease', 'name'], kind: 'string' },
];

/**
 * Writes the overrides present in `env` into `root` (mutating it) and returns, per dotted path, the variable
 * that set it, so a schema error on that path can name the variable instead of a file position.
 */
export function applyEnvOverrides(root: Record<string, unknown>, env: Environment): Map<string, string> {
  const applied = new Map<string, string>();
  for (const override of ENV_OVERRIDES) {
    const raw = env[override.name];
    if (raw === undefined || raw === '') continue;
    let target = root;
    for (const segment of override.path.slice(0, -1)) {
      const next = target[segment];
      if (next === null || typeof next !== 'object' || Array.isArray(next)) target[segment] = {};
      target = target[segment] as Record<string, unknown>;
    }
    const last = override.path[override.path.length - 1] as string;
    target[last] = convert(raw, override.kind);
    applied.set(override.path.join('.'), override.name);
  }
  return applied;
}

function convert(raw: string, kind: EnvOverride['kind']): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'integer':
    case 'number': {
      // Leave non-numbers as strings so the schema reports them ("must be integer") against the variable.
      const value = Number(raw);
      return raw.trim() !== '' && Number.isFinite(value) ? value : raw;
    }
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'endpoints':
      return raw
        .split(',')
        .map((url) => url.trim())
        .filter((url) => url !== '')
        .map((baseUrl) => ({ baseUrl }));
  }
}
