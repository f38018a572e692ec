/**
 * @module
 * The sidecar's configuration (`exas run --config FILE`): YAML validated by schemas/config.schema.json with
 * `FILE:LINE:COLUMN` errors, defaults from the schema, `EXAS_*` environment overrides and secrets that never
 * reach a log line. Every key is documented in docs/config.md.
 */
export { loadConfig, loadConfigFile, parseListen, configSchema, type ConfigResult, type LoadConfigOptions } from './load.ts';
export { ENV_OVERRIDES, applyEnvOverrides, type Environment, type EnvOverride } from './env.ts';
export { resolveSecret, type SecretSpec, type SecretResult } from './secrets.ts';
export { Secret } from './secret.ts';
export { formatYamlDiagnostic, type YamlDiagnostic } from './yaml-diagnostics.ts';
export type * from './types.ts';
