/**
 * Where the Kubernetes backend finds its API server and credentials: the pod's service account by default
 * (token, CA and namespace under /var/run/secrets/kubernetes.io/serviceaccount, the server from
 * KUBERNETES_SERVICE_HOST / _PORT), or a kubeconfig file (its current context: server, CA, and a token or a
 * client certificate; exec and auth-provider plugins are not supported).
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve as resolvePath } from 'node:path';
import { Buffer } from 'node:buffer';
import { parse } from 'yaml';
import type { TlsFiles } from './http-json.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeAccess {
  readonly server: string;
  /** Read at each request: a projected service-account token is rotated in place. */
  readonly token?: () => string;
  readonly tls: TlsFiles;
  /** The namespace the credentials name (service account, or the context), if any. */
  readonly namespace?: string;
}

type ReadFile = (path: string) => string;
const defaultRead: ReadFile = (path) => readFileSync(path, 'utf8');

/** The pod's service account. Throws with a clear message outside a pod. */
export function inClusterAccess(env: Readonly<Record<string, string | undefined>>, readFile: ReadFile = defaultRead, dir = SERVICE_ACCOUNT_DIR): KubeAccess {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  if (host === undefined || host === '') {
    throw new Error('ha.lease.kubernetes: not in a pod (KUBERNETES_SERVICE_HOST is not set); set ha.lease.kubernetes.kubeconfig');
  }
  const tokenFile = `${dir}/token`;
  let ca: string;
  try {
    readFile(tokenFile);
    ca = readFile(`${dir}/ca.crt`);
  } catch {
    throw new Error(`ha.lease.kubernetes: cannot read the service account under ${dir} (is automountServiceAccountToken off?)`);
  }
  let namespace: string | undefined;
  try {
    namespace = readFile(`${dir}/namespace`).trim();
  } catch {
    namespace = undefined;
  }
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    token: () => readFile(tokenFile).trim(),
    tls: { ca },
    ...(namespace === undefined || namespace === '' ? {} : { namespace }),
  };
}

interface Named<T> {
  name?: string;
  [key: string]: unknown;
  value?: T;
}

/** The current context of a kubeconfig file. Throws on what it cannot use. */
export function kubeconfigAccess(path: string, readFile: ReadFile = defaultRead): KubeAccess {
  const config = parse(readFile(path)) as Record<string, unknown> | null;
  if (config === null || typeof config !== 'object') throw new Error(`kubeconfig ${path}: not a YAML mapping`);
  const base = dirname(path);
  const file = (name: unknown): string | undefined => (typeof name === 'string' && name !== '' ? readFile(isAbsolute(name) ? name : resolvePath(base, name)) : undefined);
  const data = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? Buffer.from(value, 'base64').toString('utf8') : undefined);
  const find = (list: string, name: unknown): Record<string, unknown> => {
    const entries = (config[list] ?? []) as Array<Named<unknown>>;
    const found = Array.isArray(entries) ? entries.find((entry) => entry.name === name) : undefined;
    const key = list.slice(0, -1);
    const inner = found?.[key];
    if (inner === undefined || inner === null || typeof inner !== 'object') throw new Error(`kubeconfig ${path}: no ${key} named '${String(name)}'`);
    return inner as Record<string, unknown>;
  };
  const contextName = config['current-context'];
  if (typeof contextName !== 'string' || contextName === '') throw new Error(`kubeconfig ${path}: no current-context`);
  const context = find('contexts', contextName);
  const cluster = find('clusters', context['cluster']);
  const user = find('users', context['user']);
  if (typeof cluster['server'] !== 'string') throw new Error(`kubeconfig ${path}: cluster '${String(context['cluster'])}' has no server`);
  if (user['exec'] !== undefined || user['auth-provider'] !== undefined) {
    throw new Error(`kubeconfig ${path}: user '${String(context['user'])}' uses an exec or auth-provider plugin, which EXAS does not run; use a token or a client certificate`);
  }
  const tokenFile = typeof user['tokenFile'] === 'string' ? user['tokenFile'] : undefined;
  const token = typeof user['token'] === 'string' ? user['token'] : undefined;
  const ca = data(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']);
  const cert = data(user['client-certificate-data']) ?? file(user['client-certificate']);
  const key = data(user['client-key-data']) ?? file(user['client-key']);
  const tls: TlsFiles = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecure: true } : {}),
  };
  const namespace = typeof context['namespace'] === 'string' && context['namespace'] !== '' ? context['namespace'] : undefined;
  return {
    server: cluster['server'],
    ...(token !== undefined ? { token: () => token } : tokenFile !== undefined ? { token: () => file(tokenFile)?.trim() ?? '' } : {}),
    tls,
    ...(namespace === undefined ? {} : { namespace }),
  };
}
