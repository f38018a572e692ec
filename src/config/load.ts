/**
 * Loads `exas run --config FILE`: YAML with positions → environment overrides → JSON Schema (ajv, defaults
 * filled from the schema, so every default lives in one place) → secrets → an `ExasConfig` with absolute paths.
 * Errors point at `FILE:LINE:COLUMN` like the rules file's.
 */
import { readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import process from 'node:process';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import schema from '../../schemas/config.schema.json' with { type: 'json' };
import { applyEnvOverrides, type Environment } from './env.ts';
import { resolveSecret, type SecretSpec } from './secrets.ts';
import type { ExasConfig, GcClientCredentials, HaConfig } from './types.ts';
import type { Secret } from './secret.ts';
import { isLoopbackName } from '../platform/loopback.ts';
import { parseYamlWithPositions } from '../yaml/index.ts';
import { ajvDiagnostics, parseDiagnostics, type YamlDiagnostic } from './yaml-diagnostics.ts';

export interface LoadConfigOptions {
  /** Environment for overrides and secrets (default: `process.env`). */
  readonly env?: Environment;
  /** Reads secret and scope files (default: `readFileSync(path, 'utf8')`). */
  readonly readFile?: (path: string) => string;
}

export interface ConfigResult {
  /** Null when there are errors. */
  readonly config: ExasConfig | null;
  readonly errors: YamlDiagnostic[];
  readonly warnings: YamlDiagnostic[];
}

let validator: ValidateFunction | undefined;

function validate(): ValidateFunction {
  // useDefaults fills every absent key from the schema's `default`, nested objects included.
  // verbose: each error carries the value seen and its schema (allowed keys for a did-you-mean).
  validator ??= new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true }).compile(schema);
  return validator;
}

/** The schema's defaults: what an empty config file means. */
export function configSchema(): typeof schema {
  return schema;
}

/**
 * Parses and validates config `text` that came from `file` (used for positions and to resolve relative paths).
 *
 * @example
 * const { config, errors } = loadConfig(text, '/etc/exas/config.yaml', { env: process.env });
 * if (config === null) for (const e of errors) console.error(formatYamlDiagnostic(e));
 */
export function loadConfig(text: string, file: string, options: LoadConfigOptions = {}): ConfigResult {
  const env = options.env ?? process.env;
  const readFile = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
  const yaml = parseYamlWithPositions(text);
  const diagnostics = parseDiagnostics(yaml, file);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const warnings = diagnostics.filter((d) => d.severity === 'warning');
  if (errors.length > 0) return { config: null, errors, warnings };

  const value = yaml.value ?? {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { config: null, errors: [{ severity: 'error', file, line: 1, column: 1, key: '', message: 'the config must be a mapping of keys' }], warnings };
  }
  const root = structuredClone(value) as Record<string, unknown>;
  const fromEnv = applyEnvOverrides(root, env);
  const check = validate();
  if (!check(root)) {
    const diagnostics = ajvDiagnostics(check.errors ?? [], yaml, file).map((d) => {
      const variable = envVariableFor(d.key, fromEnv);
      return variable === undefined ? d : { ...d, file: `environment ${variable}`, line: 1, column: 1 };
    });
    return { config: null, errors: diagnostics, warnings };
  }
  const resolved = resolveConfig(root, file, yaml.at, env, readFile, warnings);
  return { config: resolved.config, errors: [...resolved.errors].sort(byPosition), warnings: [...resolved.warnings].sort(byPosition) };
}

/** Top to bottom, like the file (findings about environment variables, at 1:1, first). */
function byPosition(a: YamlDiagnostic, b: YamlDiagnostic): number {
  return a.line - b.line || a.column - b.column;
}

/** Reads and loads a config file. A missing file is an error diagnostic, not a throw. */
export function loadConfigFile(path: string, options: LoadConfigOptions = {}): ConfigResult {
  const absolute = resolvePath(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      config: null,
      errors: [{ severity: 'error', file: path, line: 1, column: 1, key: '', message: `cannot read config file (${typeof code === 'string' ? code : 'error'})` }],
      warnings: [],
    };
  }
  // Paths are resolved against the absolute file; diagnostics name it the way the user gave it.
  const result = loadConfig(text, absolute, options);
  const asGiven = (d: YamlDiagnostic): YamlDiagnostic => (d.file === absolute ? { ...d, file: path } : d);
  return { config: result.config, errors: result.errors.map(asGiven), warnings: result.warnings.map(asGiven) };
}

function envVariableFor(key: string, fromEnv: Map<string, string>): string | undefined {
  for (const [path, variable] of fromEnv) if (key === path || key.startsWith(path + '.')) return variable;
  return undefined;
}

// The shape ajv guarantees after validation with defaults; narrower views are taken field by field below.
interface Validated {
  statServer: {
    source: ExasConfig['statServer']['source'];
    endpoints: Array<{ baseUrl: string }>;
    bridgeListen?: string;
    apiKey?: string;
    apiKeyEnv?: string;
    apiKeyFile?: string;
    bearerToken?: string;
    bearerTokenEnv?: string;
    bearerTokenFile?: string;
    reasonKey: string;
    settleMs: number;
    batchSize: number;
    refusedRetrySeconds: number;
    reconnect: { initialDelayMs: number; maxDelayMs: number };
  };
  gc: {
    region: string;
    baseUrl?: string;
    loginUrl?: string;
    clients?: Array<{ clientId?: string; clientIdEnv?: string; clientSecret?: string; clientSecretEnv?: string; clientSecretFile?: string }>;
    requestsPerMinute: number;
    headroom: number;
    timeoutMs: number;
    presenceSourceName: string;
    primarySource: 'off' | 'check' | 'fix';
  };
  identity: { key: ExasConfig['identity']['key']; authority: string; mode: 'auto' | 'list' | 'lookup'; cachePath?: string; refreshIntervalSeconds: number };
  scope: { source: ExasConfig['scope']['source']; agents: string[]; file: string; refreshIntervalSeconds: number };
  rules: { file: string; watch: boolean; testOnReload: boolean; maxFileBytes: number };
  writer: ExasConfig['writer'];
  drift: ExasConfig['drift'];
  store: { path: string; saveIntervalSeconds: number };
  http: {
    listen: string;
    token?: string;
    tokenEnv?: string;
    tokenFile?: string;
    readToken?: string;
    readTokenEnv?: string;
    readTokenFile?: string;
    allowedHosts: string[];
    allowUnauthenticated: boolean;
    maxConcurrentDryRuns: number;
    maxDryRunEvents: number;
    maxConnections: number;
  };
  lifecycle: ExasConfig['lifecycle'];
  log: ExasConfig['log'];
  ha?: {
    identity?: string;
    lease: {
      backend: 'kubernetes' | 'etcd';
      name: string;
      durationSeconds: number;
      renewSeconds: number;
      kubernetes: { kubeconfig?: string; namespace?: string };
      etcd?: {
        endpoints: string[];
        tls?: { caFile?: string; certFile?: string; keyFile?: string };
        username?: string;
        password?: string;
        passwordEnv?: string;
        passwordFile?: string;
      };
    };
  };
}

function resolveConfig(
  root: Record<string, unknown>,
  file: string,
  locate: (path: ReadonlyArray<string | number>, keyOf?: boolean) => { line: number; column: number },
  env: Environment,
  readFile: (path: string) => string,
  warnings: YamlDiagnostic[],
): ConfigResult {
  const v = root as unknown as Validated;
  const errors: YamlDiagnostic[] = [];
  const base = file.startsWith('<') ? process.cwd() : dirname(file);
  const abs = (path: string): string => (isAbsolute(path) ? path : resolvePath(base, path));
  const problem = (path: Array<string | number>, message: string, hint?: string): YamlDiagnostic => ({
    severity: 'error',
    file,
    ...locate(path, true),
    key: path.join('.'),
    message,
    ...(hint === undefined ? {} : { hint }),
  });
  const secret = (path: Array<string | number>, spec: SecretSpec): Secret | null => {
    const result = resolveSecret({ ...spec, configFile: spec.configFile === undefined ? undefined : abs(spec.configFile) }, env, readFile);
    if (!result.ok) {
      errors.push(problem(path, result.error));
      return null;
    }
    if (result.warning !== undefined) warnings.push({ ...problem(path, result.warning), severity: 'warning' });
    const exposed = result.path === undefined ? undefined : readableByOthers(result.path);
    if (exposed !== undefined) {
      warnings.push({ ...problem(path, `secret file ${result.path} can be read by other users (mode ${exposed})`, `chmod 600 ${result.path} (or 640 for a group the service shares)`), severity: 'warning' });
    }
    return result.secret;
  };

  const stat = v.statServer;
  const apiKey = secret(['statServer', 'apiKey'], { envName: 'EXAS_STAT_API_KEY', configEnv: stat.apiKeyEnv, configFile: stat.apiKeyFile, inline: stat.apiKey });
  const bearerToken = secret(['statServer', 'bearerToken'], {
    envName: 'EXAS_STAT_BEARER_TOKEN',
    configEnv: stat.bearerTokenEnv,
    configFile: stat.bearerTokenFile,
    inline: stat.bearerToken,
  });

  const clients: GcClientCredentials[] = [];
  const clientSpecs = v.gc.clients ?? [{}];
  clientSpecs.forEach((spec, index) => {
    const path = v.gc.clients === undefined ? ['gc'] : ['gc', 'clients', index];
    // The EXAS_GC_CLIENT_* variables fill the first client; further clients name their own variables.
    const idEnvName = index === 0 ? 'EXAS_GC_CLIENT_ID' : `EXAS_GC_CLIENT_ID_${index + 1}`;
    const secretEnvName = index === 0 ? 'EXAS_GC_CLIENT_SECRET' : `EXAS_GC_CLIENT_SECRET_${index + 1}`;
    const id = resolveSecret({ envName: idEnvName, configEnv: spec.clientIdEnv, inline: spec.clientId }, env, readFile);
    const clientSecret = secret([...path, 'clientSecret'], { envName: secretEnvName, configEnv: spec.clientSecretEnv, configFile: spec.clientSecretFile, inline: spec.clientSecret });
    if (!id.ok) {
      errors.push(problem([...path, 'clientId'], id.error));
      return;
    }
    if (id.secret === null || clientSecret === null) {
      if (errors.length === 0) {
        errors.push(
          problem(path, `GC client ${index + 1} has no ${id.secret === null ? 'client id' : 'client secret'}`, `set ${idEnvName} and ${secretEnvName} (or ${secretEnvName}_FILE), or gc.clients[].clientIdEnv / clientSecretFile`),
        );
      }
      return;
    }
    // A client id is not secret (it appears in GC audit logs); it is read like one only to share the precedence rules.
    clients.push({ clientId: id.secret.reveal(), clientSecret });
  });

  const httpToken = secret(['http', 'token'], { envName: 'EXAS_HTTP_TOKEN', configEnv: v.http.tokenEnv, configFile: v.http.tokenFile, inline: v.http.token });
  const httpReadToken = secret(['http', 'readToken'], { envName: 'EXAS_HTTP_READ_TOKEN', configEnv: v.http.readTokenEnv, configFile: v.http.readTokenFile, inline: v.http.readToken });
  const listen = parseListen(v.http.listen);
  const bridgeListen = stat.bridgeListen === undefined ? null : parseListen(stat.bridgeListen);
  if (stat.bridgeListen !== undefined && bridgeListen === null) errors.push(problem(['statServer', 'bridgeListen'], `invalid listen address '${stat.bridgeListen}'`));
  if (stat.bridgeListen !== undefined && stat.source !== 'bridge') {
    warnings.push({ ...problem(['statServer', 'bridgeListen'], "bridgeListen is used only with statServer.source 'bridge'"), severity: 'warning' });
  }
  if (listen === null) errors.push(problem(['http', 'listen'], `invalid listen address '${v.http.listen}'`, 'use host:port, e.g. 127.0.0.1:9464'));
  if (listen !== null && !isLoopbackName(listen.host) && httpToken === null) {
    const message = `http.listen ${v.http.listen} is not a loopback address and no http.token is set: anyone who can reach it can pause the sync and read agent data`;
    if (v.http.allowUnauthenticated) warnings.push({ ...problem(['http', 'listen'], message, 'set http.token (EXAS_HTTP_TOKEN) unless a network policy guards the port'), severity: 'warning' });
    else errors.push(problem(['http', 'listen'], `${message}; EXAS refuses to start like this`, 'set http.token (EXAS_HTTP_TOKEN), or http.allowUnauthenticated: true if a network policy guards the port'));
  }
  for (const [key, token] of [['token', httpToken], ['readToken', httpReadToken]] as const) {
    if (token === null) continue;
    if (!/^[A-Za-z0-9._~+/-]+=*$/.test(token.reveal())) {
      errors.push(problem(['http', key], `http.${key} (${token.origin}) has characters a Bearer header cannot carry`, 'use only letters, digits and -._~+/ (optionally ending in =)'));
    } else if (token.reveal().length < MIN_TOKEN_LENGTH) {
      warnings.push({ ...problem(['http', key], `http.${key} is only ${token.reveal().length} characters long`, `use at least ${MIN_TOKEN_LENGTH} random characters, e.g. openssl rand -hex 24`), severity: 'warning' });
    }
  }
  if (httpReadToken !== null && httpToken === null) errors.push(problem(['http', 'readToken'], 'http.readToken needs http.token too (a read token alone would leave reload and pause open)'));
  if (httpReadToken !== null && httpToken !== null && httpReadToken.reveal() === httpToken.reveal()) errors.push(problem(['http', 'readToken'], 'http.readToken must differ from http.token'));
  if (stat.source === 'bridge' && bridgeListen !== null && bearerToken === null) {
    warnings.push({
      ...problem(['statServer', 'bridgeListen'], `statServer.bridgeListen ${stat.bridgeListen} accepts bridges without a token: anyone who can reach it can feed agent states`, 'set statServer.bearerToken (EXAS_STAT_BEARER_TOKEN); the bridge must then send it'),
      severity: 'warning',
    });
  }

  if (v.scope.source === 'gc' && v.identity.key === 'externalId') {
    errors.push(problem(['scope', 'source'], "scope.source 'gc' cannot be used with identity.key 'externalId'", "GC's user listing carries no external ids: use scope.source 'file' or 'list', or another identity.key"));
  }
  if (v.identity.key === 'externalId' && v.identity.mode === 'list') {
    errors.push(problem(['identity', 'mode'], "identity.key 'externalId' needs mode 'lookup' (or 'auto')", "GC's user listing carries no external ids"));
  }
  if (v.identity.key === 'employeeId' && v.identity.mode === 'lookup') {
    errors.push(problem(['identity', 'mode'], "identity.key 'employeeId' needs mode 'list' (or 'auto')", 'GC has no per-user lookup by employee id'));
  }
  if (v.scope.source === 'list' && v.scope.agents.length === 0) {
    warnings.push({ ...problem(['scope', 'agents'], "scope.source 'list' with no agents: nothing will be synced"), severity: 'warning' });
  }
  if (v.writer.mode === 'per-user') {
    warnings.push({
      ...problem(['writer', 'mode'], 'per-user mode can set routing status only to OffQueue / Idle; Interacting and Communicating are not mirrored'),
      severity: 'warning',
    });
  }
  if (v.lifecycle.retryMaxDelayMs < v.lifecycle.retryInitialDelayMs) errors.push(problem(['lifecycle', 'retryMaxDelayMs'], 'must be at least retryInitialDelayMs'));
  if (v.statServer.reconnect.maxDelayMs < v.statServer.reconnect.initialDelayMs) {
    errors.push(problem(['statServer', 'reconnect', 'maxDelayMs'], 'must be at least initialDelayMs'));
  }
  const ha = resolveHa(v.ha, env, abs, problem, secret, errors);
  if (errors.length > 0 || listen === null) return { config: null, errors, warnings };

  const storePath = abs(v.store.path);
  const config: ExasConfig = {
    file,
    statServer: {
      source: stat.source,
      endpoints: stat.endpoints.map((endpoint) => ({ baseUrl: endpoint.baseUrl.replace(/\/+$/, '') })),
      bridgeListen,
      apiKey,
      bearerToken,
      reasonKey: stat.reasonKey,
      settleMs: stat.settleMs,
      batchSize: stat.batchSize,
      refusedRetrySeconds: stat.refusedRetrySeconds,
      reconnect: { ...stat.reconnect },
    },
    gc: {
      region: v.gc.region,
      baseUrl: v.gc.baseUrl?.replace(/\/+$/, '') ?? null,
      loginUrl: (v.gc.loginUrl ?? v.gc.baseUrl)?.replace(/\/+$/, '') ?? null,
      clients,
      requestsPerMinute: v.gc.requestsPerMinute,
      headroom: v.gc.headroom,
      timeoutMs: v.gc.timeoutMs,
      presenceSourceName: v.gc.presenceSourceName,
      primarySource: v.gc.primarySource,
    },
    identity: {
      key: v.identity.key,
      authority: v.identity.authority,
      mode: v.identity.mode,
      cachePath: v.identity.cachePath === undefined ? resolvePath(dirname(storePath), 'exas-identity.json') : abs(v.identity.cachePath),
      refreshIntervalSeconds: v.identity.refreshIntervalSeconds,
    },
    scope: {
      source: v.scope.source,
      agents: [...v.scope.agents],
      file: abs(v.scope.file),
      refreshIntervalSeconds: v.scope.refreshIntervalSeconds,
    },
    rules: { file: abs(v.rules.file), watch: v.rules.watch, testOnReload: v.rules.testOnReload, maxFileBytes: v.rules.maxFileBytes },
    writer: { ...v.writer },
    drift: { ...v.drift },
    store: { path: storePath, saveIntervalSeconds: v.store.saveIntervalSeconds },
    http: {
      host: listen.host,
      port: listen.port,
      token: httpToken,
      readToken: httpReadToken,
      allowedHosts: [...v.http.allowedHosts],
      allowUnauthenticated: v.http.allowUnauthenticated,
      maxConcurrentDryRuns: v.http.maxConcurrentDryRuns,
      maxDryRunEvents: v.http.maxDryRunEvents,
      maxConnections: v.http.maxConnections,
    },
    lifecycle: { ...v.lifecycle },
    log: { ...v.log },
    ha,
  };
  return { config, errors: [], warnings };
}

/** Shorter operator tokens are warned about: guessable, or a placeholder left in place. */
export const MIN_TOKEN_LENGTH = 16;

/** The file's permission bits as octal text when users other than its owner (and group) can read it, else undefined. */
function readableByOthers(path: string): string | undefined {
  try {
    const mode = statSync(path).mode & 0o777;
    return (mode & 0o004) !== 0 ? `0${mode.toString(8)}` : undefined;
  } catch {
    return undefined;
  }
}

/** `ha:` → `HaConfig` (null when absent), with its cross-field checks and the etcd password as a `Secret`. */
function resolveHa(
  ha: Validated['ha'],
  env: Environment,
  abs: (path: string) => string,
  problem: (path: Array<string | number>, message: string, hint?: string) => YamlDiagnostic,
  secret: (path: Array<string | number>, spec: SecretSpec) => Secret | null,
  errors: YamlDiagnostic[],
): HaConfig | null {
  if (ha === undefined) return null;
  const lease = ha.lease;
  if (lease.renewSeconds >= lease.durationSeconds) {
    errors.push(problem(['ha', 'lease', 'renewSeconds'], `must be less than durationSeconds (${lease.durationSeconds})`, 'the leader renews several times per lease duration; the defaults are 5 and 15'));
  }
  if (lease.backend === 'etcd' && lease.etcd === undefined) {
    errors.push(problem(['ha', 'lease', 'backend'], "backend 'etcd' needs ha.lease.etcd.endpoints", 'e.g. etcd: { endpoints: [http://127.0.0.1:2379] }'));
  }
  const spec = lease.etcd;
  const password = spec === undefined ? null : secret(['ha', 'lease', 'etcd', 'password'], { envName: 'EXAS_ETCD_PASSWORD', configEnv: spec.passwordEnv, configFile: spec.passwordFile, inline: spec.password });
  if (spec !== undefined && password !== null && spec.username === undefined) {
    errors.push(problem(['ha', 'lease', 'etcd'], 'an etcd password is set but no username', 'set ha.lease.etcd.username'));
  }
  return {
    identity: ha.identity ?? defaultIdentity(env),
    lease: {
      backend: lease.backend,
      name: lease.name,
      durationSeconds: lease.durationSeconds,
      renewSeconds: lease.renewSeconds,
      kubernetes: {
        kubeconfig: lease.kubernetes.kubeconfig === undefined ? null : abs(lease.kubernetes.kubeconfig),
        namespace: lease.kubernetes.namespace ?? null,
      },
      etcd:
        spec === undefined
          ? null
          : {
              endpoints: spec.endpoints.map((endpoint) => endpoint.replace(/\/+$/, '')),
              tls:
                spec.tls === undefined
                  ? null
                  : {
                      caFile: spec.tls.caFile === undefined ? null : abs(spec.tls.caFile),
                      certFile: spec.tls.certFile === undefined ? null : abs(spec.tls.certFile),
                      keyFile: spec.tls.keyFile === undefined ? null : abs(spec.tls.keyFile),
                    },
              username: spec.username ?? null,
              password,
            },
    },
  };
}

/** The pod's name (POD_NAME from the downward API, or the host name inside a pod), else host name + pid. */
export function defaultIdentity(env: Environment): string {
  // Under Deno each of these needs a permission (--allow-env, --allow-sys=hostname); without it, fall back.
  const read = <T>(get: () => T, fallback: T): T => {
    try {
      return get();
    } catch {
      return fallback;
    }
  };
  const pod = read(() => env['POD_NAME'], undefined);
  if (pod !== undefined && pod !== '') return pod;
  const host = read(() => hostname(), 'exas');
  return read(() => env['KUBERNETES_SERVICE_HOST'], undefined) !== undefined ? host : `${host}-${process.pid}`;
}

/** `host:port` or `[v6]:port` → parts; null when the port is out of range. */
export function parseListen(listen: string): { host: string; port: number } | null {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen);
  if (match === null) return null;
  const port = Number(match[3]);
  if (port > 65535) return null;
  return { host: match[1] ?? match[2] ?? '127.0.0.1', port };
}
