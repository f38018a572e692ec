/**
 * @module
 * The EXAS version (from package.json, embedded in the bundle) and the fields of the start-up log line:
 * version, runtime, rules file hash and a config summary that never carries a secret value.
 */
import { createHash } from 'node:crypto';
import process from 'node:process';
import packageJson from '../package.json' with { type: 'json' };
import type { ExasConfig } from './config/index.ts';

/** The EXAS version, e.g. `0.1.0`. */
export const VERSION: string = packageJson.version;

/** What `exas --version` prints (one line, newline included). */
export function versionLine(): string {
  return `exas ${VERSION}\n`;
}

/** The JavaScript runtime this process runs on, e.g. `node 20.20.2` or `deno 2.9.6`. */
export function runtimeName(): string {
  const deno = (globalThis as { Deno?: { version?: { deno?: string } } }).Deno;
  if (deno?.version?.deno !== undefined) return `deno ${deno.version.deno}`;
  return `node ${process.versions.node}`;
}

/**
 * SHA-256 (hex) of a rules file's text: the same value the compiled rules carry as `hash` (and the
 * `rules loaded` log line shows), so a start-up line and a reload line can be matched.
 */
export function rulesHash(rulesText: string): string {
  return createHash('sha256').update(rulesText, 'utf8').digest('hex');
}

/** The fields of the start-up log line. Secrets appear only as where they came from, never as values. */
export interface StartupLogFields {
  readonly version: string;
  readonly runtime: string;
  readonly config: string;
  readonly rulesFile: string;
  /** SHA-256 (hex) of the rules text, or null when it could not be read. */
  readonly rulesHash: string | null;
  readonly statServer: { readonly source: string; readonly endpoints: readonly string[]; readonly apiKey: string | null; readonly bearerToken: string | null };
  readonly gc: {
    readonly target: string;
    readonly clients: ReadonlyArray<{ readonly clientId: string; readonly clientSecret: string }>;
    readonly requestsPerMinute: number;
  };
  readonly identity: { readonly key: string; readonly mode: string };
  readonly scope: { readonly source: string; readonly agents: number | string };
  readonly writer: { readonly mode: string; readonly batchSize: number };
  readonly drift: string;
  readonly store: string;
  readonly http: { readonly listen: string; readonly token: string | null };
}

function secretOrigin(secret: { readonly origin: string } | null): string | null {
  return secret === null ? null : `[redacted] (${secret.origin})`;
}

/**
 * The start-up log line's fields for `config` and the rules text it loaded. `exas run` logs them once,
 * before it connects anywhere, so every log stream starts with what was running and with which rules.
 *
 * @example
 * log.info('EXAS starting', { ...startupLogFields(config, await readFile(config.rules.file, 'utf8')) });
 */
export function startupLogFields(config: ExasConfig, rulesText: string | null): StartupLogFields {
  const scope = config.scope;
  return {
    version: VERSION,
    runtime: runtimeName(),
    config: config.file,
    rulesFile: config.rules.file,
    rulesHash: rulesText === null ? null : rulesHash(rulesText),
    statServer: {
      source: config.statServer.source,
      endpoints: config.statServer.endpoints.map((endpoint) => endpoint.baseUrl),
      apiKey: secretOrigin(config.statServer.apiKey),
      bearerToken: secretOrigin(config.statServer.bearerToken),
    },
    gc: {
      target: config.gc.baseUrl ?? config.gc.region,
      clients: config.gc.clients.map((client) => ({ clientId: client.clientId, clientSecret: secretOrigin(client.clientSecret) ?? '' })),
      requestsPerMinute: config.gc.requestsPerMinute,
    },
    identity: { key: config.identity.key, mode: config.identity.mode },
    scope: { source: scope.source, agents: scope.source === 'list' ? scope.agents.length : scope.source === 'file' ? scope.file : 'gc' },
    writer: { mode: config.writer.mode, batchSize: config.writer.batchSize },
    drift: config.drift.policy,
    store: config.store.path,
    http: { listen: `${config.http.host}:${config.http.port}`, token: secretOrigin(config.http.token) },
  };
}
