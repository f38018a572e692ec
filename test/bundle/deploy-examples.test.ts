/**
 * The deployment examples in deploy/ are checked where a tool can check them: the Kubernetes manifest parses
 * as YAML with the expected kinds and wiring, its config and rules load with EXAS's own loaders, the systemd
 * unit passes `systemd-analyze verify` (when the tool exists), and the Dockerfile's entrypoint grants what
 * docs/deploy.md says.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/index.ts';
import { loadRules, runRulesTests } from '../../src/rules/index.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);

interface Probe {
  httpGet?: { path?: string; port?: string | number };
}
interface Container {
  name: string;
  image?: string;
  args?: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: unknown }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    strategy?: { type?: string };
    updateStrategy?: { type?: string };
    minAvailable?: number;
    serviceName?: string;
    volumeClaimTemplates?: Array<{ metadata: { name: string } }>;
    template?: { spec?: { containers?: Container[]; volumes?: Array<{ name: string; configMap?: { name: string }; secret?: { secretName: string } }> } };
  };
}

function manifests(): Manifest[] {
  const text = readFileSync(join(ROOT, 'deploy', 'kubernetes', 'base', 'exas.yaml'), 'utf8');
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) throw new Error('no documents');
  for (const document of documents) expect(document.errors.map((error) => error.message)).toEqual([]);
  return documents.map((document) => document.toJS() as Manifest);
}

function byKind(kind: string, name?: string): Manifest {
  const found = manifests().find((manifest) => manifest.kind === kind && (name === undefined || manifest.metadata.name === name));
  if (found === undefined) throw new Error(`no ${kind} ${name ?? ''}`);
  return found;
}

function exasContainer(): Container {
  const container = byKind('StatefulSet').spec?.template?.spec?.containers?.find((candidate) => candidate.name === 'exas');
  if (container === undefined) throw new Error('no exas container');
  return container;
}

describe('Kubernetes manifest (deploy/kubernetes/base/exas.yaml)', () => {
  it('holds the config and rules ConfigMaps, the Secret, the lease RBAC, a disruption budget, a Service and the StatefulSet', () => {
    const kinds = manifests().map((manifest) => `${manifest.kind}/${manifest.metadata.name}`);
    expect(kinds).toEqual([
      'ConfigMap/exas-config',
      'ConfigMap/exas-rules',
      'Secret/exas-secrets',
      'ServiceAccount/exas',
      'Role/exas-lease',
      'RoleBinding/exas-lease',
      'PodDisruptionBudget/exas',
      'Service/exas',
      'StatefulSet/exas',
    ]);
  });

  it('runs two pods per shard sharing a Lease, each with its own store, probed on /livez and /readyz', () => {
    const statefulSet = byKind('StatefulSet');
    expect(statefulSet.spec?.replicas).toBe(2);
    expect(statefulSet.spec?.updateStrategy?.type).toBe('RollingUpdate');
    expect(statefulSet.spec?.volumeClaimTemplates?.map((claim) => claim.metadata.name)).toEqual(['state']);
    expect(byKind('PodDisruptionBudget').spec?.minAvailable).toBe(1);
    const pod = statefulSet.spec?.template?.spec as { serviceAccountName?: string; automountServiceAccountToken?: boolean };
    expect(pod.serviceAccountName).toBe('exas');
    expect(pod.automountServiceAccountToken).toBe(true);
    const identity = exasContainer().env?.find((variable) => variable.name === 'EXAS_HA_IDENTITY');
    expect(identity?.valueFrom).toEqual({ fieldRef: { fieldPath: 'metadata.name' } });
    const container = exasContainer();
    expect(container.livenessProbe?.httpGet?.path).toBe('/livez');
    expect(container.startupProbe?.httpGet?.path).toBe('/livez');
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(container.resources?.requests).toEqual({ cpu: '100m', memory: '192Mi' });
    expect(container.resources?.limits?.['memory']).toBe('384Mi');
  });

  it('lets the pods get, create and update Leases in their namespace, nothing more', () => {
    const role = byKind('Role') as Manifest & { rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> };
    expect(role.rules).toEqual([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }]);
    const binding = byKind('RoleBinding') as Manifest & { roleRef: { kind: string; name: string }; subjects: Array<{ kind: string; name: string }> };
    expect(binding.roleRef).toMatchObject({ kind: 'Role', name: 'exas-lease' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'exas' }]);
  });

  it('takes secrets from the Secret as files, never as literal values', () => {
    const container = exasContainer();
    const secretNames = ['EXAS_GC_CLIENT_SECRET', 'EXAS_STAT_API_KEY', 'EXAS_HTTP_TOKEN'];
    for (const name of secretNames) {
      expect(container.env?.find((variable) => variable.name === name)).toBeUndefined();
      expect(container.env?.find((variable) => variable.name === `${name}_FILE`)?.value).toMatch(/^\/run\/secrets\/exas\//);
    }
    const volumes = byKind('StatefulSet').spec?.template?.spec?.volumes ?? [];
    expect(volumes.find((volume) => volume.name === 'secrets')?.secret?.secretName).toBe('exas-secrets');
    expect(Object.keys(byKind('Secret').stringData ?? {}).sort()).toEqual(['gc-client-id', 'gc-client-secret', 'http-token', 'stat-api-key']);
  });

  it('mounts the rules ConfigMap where the config points, with a reloader beside EXAS', () => {
    const config = byKind('ConfigMap', 'exas-config').data?.['exas.yaml'] ?? '';
    const { config: loaded, errors } = loadConfig(config, '/etc/exas/config/exas.yaml', {
      env: { EXAS_GC_CLIENT_ID: 'id', EXAS_GC_CLIENT_SECRET: 'secret', EXAS_STAT_API_KEY: 'key', EXAS_HTTP_TOKEN: 'token' },
    });
    expect(errors).toEqual([]);
    expect(loaded?.rules.file).toBe('/etc/exas/rules/exas.rules.yaml');
    expect(loaded?.store.path).toBe('/var/lib/exas/exas-state.json');
    expect(loaded?.scope.file).toBe('/etc/exas/config/exas-agents.txt');
    expect(loaded?.ha?.lease).toMatchObject({ backend: 'kubernetes', name: 'exas', durationSeconds: 15, renewSeconds: 5, kubernetes: { kubeconfig: null, namespace: null } });
    expect(byKind('ConfigMap', 'exas-config').data?.['exas-agents.txt']).toMatch(/^1001$/m);
    expect(exasContainer().volumeMounts).toContainEqual({ name: 'rules', mountPath: '/etc/exas/rules', readOnly: true });
    const reloader = byKind('StatefulSet').spec?.template?.spec?.containers?.find((candidate) => candidate.name === 'rules-reloader');
    expect(JSON.stringify(reloader)).toContain('/-/reload');
  });

  it('ships a rules file that loads without errors and passes its own tests', () => {
    const text = byKind('ConfigMap', 'exas-rules').data?.['exas.rules.yaml'] ?? '';
    const loaded = loadRules(text, 'exas.rules.yaml');
    expect(loaded.errors).toEqual([]);
    if (loaded.program === null) throw new Error('rules did not compile');
    const report = runRulesTests(loaded.program);
    expect(report.failed).toBe(0);
    expect(report.passed).toBeGreaterThan(0);
  });

  it('names the same rules as the default exas.rules.yaml', () => {
    const names = (text: string): string[] => loadRules(text, 'x.yaml').program?.rules.map((rule) => rule.name) ?? [];
    const shipped = byKind('ConfigMap', 'exas-rules').data?.['exas.rules.yaml'] ?? '';
    expect(names(shipped)).toEqual(names(readFileSync(join(ROOT, 'exas.rules.yaml'), 'utf8')));
  });
});

const SHARDS = ['shard-0', 'shard-1'];
const kubectl = ['/usr/bin/kubectl', '/usr/local/bin/kubectl'].find((path) => existsSync(path));

describe('shard overlays (deploy/kubernetes/shards)', () => {
  it('give each shard the agents deploy/shard-scope.mjs assigns to it', async () => {
    for (const [index, shard] of SHARDS.entries()) {
      const file = join(ROOT, 'deploy', 'kubernetes', 'shards', shard, 'exas-agents.txt');
      const { stdout } = await run(process.execPath, [join(ROOT, 'deploy', 'shard-scope.mjs'), '--shards', String(SHARDS.length), file]);
      const assigned = stdout.split('\n').filter((line) => line !== '').map((line) => line.split('\t')[0]);
      expect(assigned.length).toBeGreaterThan(0);
      expect(new Set(assigned)).toEqual(new Set([String(index)]));
    }
  });

  it.skipIf(kubectl === undefined)('render with kubectl kustomize into separately named sidecars with their own GC client', async () => {
    for (const shard of SHARDS) {
      const { stdout } = await run(kubectl as string, ['kustomize', join(ROOT, 'deploy', 'kubernetes', 'shards', shard)], { timeout: 30_000 });
      const rendered = parseAllDocuments(stdout);
      if (!Array.isArray(rendered)) throw new Error('no documents');
      const objects = rendered.map((document) => document.toJS() as Manifest & { metadata: { labels?: Record<string, string> } });
      const prefix = `exas-${shard}-`;
      expect(objects.map((object) => object.metadata.name).every((name) => name.startsWith(prefix))).toBe(true);
      const deployment = objects.find((object) => object.kind === 'StatefulSet') as Manifest & { spec: { selector: { matchLabels: Record<string, string> } } };
      expect(deployment.spec.selector.matchLabels['exas.example/shard']).toBe(shard.replace('shard-', ''));
      const secret = objects.find((object) => object.kind === 'Secret');
      expect(secret?.stringData?.['gc-client-id']).toContain(shard);
      const config = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === `${prefix}exas-config`);
      expect(config?.data?.['exas-agents.txt']).toBe(readFileSync(join(ROOT, 'deploy', 'kubernetes', 'shards', shard, 'exas-agents.txt'), 'utf8'));
      expect(config?.data?.['exas.yaml']).toContain('file: /etc/exas/config/exas-agents.txt');
      expect(JSON.stringify(deployment)).toContain(`"name":"EXAS_HA_LEASE_NAME","value":"exas-${shard}"`);
    }
  });
});

describe('Dockerfile (deploy/docker/Dockerfile)', () => {
  const text = readFileSync(join(ROOT, 'deploy', 'docker', 'Dockerfile'), 'utf8');

  it('runs the bundle on the official Deno image with the documented permissions', () => {
    expect(text).toMatch(/^FROM denoland\/deno:\$\{DENO_VERSION\}$/m);
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(text)?.[1];
    const command = (JSON.parse(entrypoint ?? '[]') as string[])[2] ?? '';
    expect(command).toContain('--allow-net="$EXAS_ALLOW_NET"');
    expect(command).toContain("'--allow-env=EXAS_*,NO_COLOR,LOG_STREAM,LOG_TOKENS,KUBERNETES_SERVICE_HOST,KUBERNETES_SERVICE_PORT'");
    expect(command).toContain('/var/run/secrets/kubernetes.io/serviceaccount');
    expect(command).toContain('--allow-write=/var/lib/exas ');
    expect(command).not.toMatch(/--allow-all|\s-A\s/);
  });
});

const systemdAnalyze = ['/usr/bin/systemd-analyze', '/bin/systemd-analyze'].find((path) => existsSync(path));

describe('systemd unit (deploy/systemd/exas.service)', () => {
  it.skipIf(systemdAnalyze === undefined)('passes systemd-analyze verify', async () => {
    // verify insists that ExecStart's binary exists; point it at the Deno from node_modules when present.
    const dir = mkdtempSync(join(tmpdir(), 'exas-unit-'));
    try {
      const deno = join(ROOT, 'node_modules', 'deno', 'deno');
      const unit = readFileSync(join(ROOT, 'deploy', 'systemd', 'exas.service'), 'utf8');
      const binary = existsSync(deno) ? realpathSync(deno) : '/bin/true';
      writeFileSync(join(dir, 'exas.service'), unit.replaceAll('/usr/local/bin/deno', binary));
      copyFileSync(join(ROOT, 'deploy', 'systemd', 'exas.env'), join(dir, 'exas.env'));
      const { stdout, stderr } = await run(systemdAnalyze as string, ['verify', join(dir, 'exas.service')]);
      expect(stdout + stderr).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hands secrets over as credentials and reloads the rules with SIGHUP', () => {
    const unit = readFileSync(join(ROOT, 'deploy', 'systemd', 'exas.service'), 'utf8');
    expect(unit).toMatch(/^LoadCredential=gc-client-secret:/m);
    expect(unit).toMatch(/^Environment=EXAS_GC_CLIENT_SECRET_FILE=%d\/gc-client-secret$/m);
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(unit).not.toMatch(/^Environment=EXAS_GC_CLIENT_SECRET=/m);
  });
});

describe('systemd example for two hosts sharing an etcd (deploy/systemd/ha)', () => {
  it('the ha fragment loads with the unit config: etcd lease, password from the credential, identity from the host', () => {
    const text = readFileSync(join(ROOT, 'deploy', 'systemd', 'ha', 'exas.ha.yaml'), 'utf8');
    const files: Record<string, string> = { '/run/credentials/exas.service/etcd-password': 'pw\n', '/etc/exas/etcd-ca.pem': 'CA' };
    const { config, errors } = loadConfig(text, '/etc/exas/exas.yaml', {
      env: { EXAS_GC_CLIENT_ID: 'id', EXAS_GC_CLIENT_SECRET: 'secret', EXAS_HA_IDENTITY: 'host-a', EXAS_ETCD_PASSWORD_FILE: '/run/credentials/exas.service/etcd-password' },
      readFile: (path) => {
        const found = files[path];
        if (found === undefined) throw Object.assign(new Error(path), { code: 'ENOENT' });
        return found;
      },
    });
    expect(errors).toEqual([]);
    expect(config?.ha).toMatchObject({ identity: 'host-a', lease: { backend: 'etcd', name: 'shard-0', durationSeconds: 15, renewSeconds: 5 } });
    expect(config?.ha?.lease.etcd?.password?.reveal()).toBe('pw');
    expect(config?.ha?.lease.etcd?.endpoints).toHaveLength(3);
  });

  it('the drop-in hands the password over as a credential and lets Deno reach every etcd endpoint', () => {
    const dropIn = readFileSync(join(ROOT, 'deploy', 'systemd', 'ha', 'ha.conf'), 'utf8');
    expect(dropIn).toMatch(/^LoadCredential=etcd-password:/m);
    expect(dropIn).toMatch(/^Environment=EXAS_ETCD_PASSWORD_FILE=%d\/etcd-password$/m);
    expect(dropIn).toMatch(/^Environment=EXAS_HA_IDENTITY=%H$/m);
    for (const host of ['etcd-1', 'etcd-2', 'etcd-3']) expect(dropIn).toContain(`${host}.example.internal:2379`);
  });
});
