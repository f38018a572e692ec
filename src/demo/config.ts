/**
 * The sidecar configuration the demo runs with: the real config loader (so every default comes from
 * schemas/config.schema.json) fed a small YAML document that points at the two in-process emulators.
 */
import { join } from 'node:path';
import { loadConfig, formatYamlDiagnostic, type ExasConfig } from '../config/index.ts';

/** What the demo's config depends on. */
export interface DemoConfigInput {
  readonly statServerUrl: string;
  readonly gcUrl: string;
  /** Engage agent ids in scope (the emulators share the id scheme, so these are also GC external ids). */
  readonly agentIds: readonly string[];
  /** Absolute path of the rules file. */
  readonly rulesFile: string;
  /** Reload the rules when the file changes. */
  readonly watchRules: boolean;
  /** EXAS's GC budget per client (requests per minute), the same number the GC emulator enforces. */
  readonly budget: number;
  /** Sidecar HTTP port on 127.0.0.1 (0: ephemeral). */
  readonly port: number;
  /** Directory for the store and identity cache (the demo's own temporary directory). */
  readonly directory: string;
  readonly logLevel: ExasConfig['log']['level'];
}

/** Thrown when the generated config does not validate (a bug in the demo, or a bad rules path). */
export class DemoConfigError extends Error {
  override readonly name = 'DemoConfigError';
}

/**
 * Builds the demo's `ExasConfig`. Identity uses the employee id (GC lists users in pages of 500, so a few
 * hundred agents cost one or two requests instead of one lookup per agent); no admin token is set because
 * every server binds to loopback; the process environment is ignored so a stray `EXAS_*` variable cannot
 * point the demo elsewhere.
 */
export function demoConfig(input: DemoConfigInput): ExasConfig {
  const quote = (text: string): string => JSON.stringify(text);
  const text = [
    'statServer:',
    `  endpoints: [{ baseUrl: ${quote(input.statServerUrl)} }]`,
    '  apiKey: exas-demo',
    '  bearerToken: exas-demo',
    '  reconnect: { initialDelayMs: 200, maxDelayMs: 2000 }',
    'gc:',
    `  baseUrl: ${quote(input.gcUrl)}`,
    '  clients: [{ clientId: exas-demo, clientSecret: exas-demo-secret }]',
    `  requestsPerMinute: ${input.budget}`,
    'identity:',
    '  key: employeeId',
    'scope:',
    '  source: list',
    `  agents: [${input.agentIds.map(quote).join(', ')}]`,
    'rules:',
    `  file: ${quote(input.rulesFile)}`,
    `  watch: ${input.watchRules}`,
    'store:',
    `  path: ${quote(join(input.directory, 'exas-state.json'))}`,
    'http:',
    `  listen: 127.0.0.1:${input.port}`,
    'lifecycle:',
    '  shutdownGraceSeconds: 2',
    '  retryInitialDelayMs: 200',
    '  retryMaxDelayMs: 2000',
    'log:',
    `  level: ${input.logLevel}`,
  ].join('\n');
  const { config, errors } = loadConfig(text, join(input.directory, 'exas-demo.yaml'), { env: {} });
  if (config === null) throw new DemoConfigError(`demo config rejected: ${errors.map(formatYamlDiagnostic).join('; ')}`);
  return config;
}
