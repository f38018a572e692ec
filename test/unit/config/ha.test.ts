/** Config `ha:`: absent means one instance; defaults; positioned errors; the etcd password as a secret. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.ts';

const CREDENTIALS = { EXAS_GC_CLIENT_ID: 'exas-demo', EXAS_GC_CLIENT_SECRET: 'exas-demo-secret' };
const noFiles = (path: string): string => {
  throw Object.assign(new Error(`no ${path}`), { code: 'ENOENT' });
};

describe('config ha', () => {
  it('absent: a single instance (ha null)', () => {
    const { config, errors } = loadConfig('', '/etc/exas/config.yaml', { env: CREDENTIALS, readFile: noFiles });
    expect(errors).toEqual([]);
    expect(config?.ha).toBeNull();
  });

  it('etcd with defaults: 15 s lease, 5 s renewal, identity from POD_NAME, endpoints without a trailing slash', () => {
    const text = 'ha:\n  lease:\n    backend: etcd\n    name: shard-a\n    etcd:\n      endpoints: [http://127.0.0.1:2379/]\n';
    const { config, errors } = loadConfig(text, '/etc/exas/config.yaml', { env: { ...CREDENTIALS, POD_NAME: 'exas-a-0' }, readFile: noFiles });
    expect(errors).toEqual([]);
    expect(config?.ha).toEqual({
      identity: 'exas-a-0',
      lease: {
        backend: 'etcd',
        name: 'shard-a',
        durationSeconds: 15,
        renewSeconds: 5,
        kubernetes: { kubeconfig: null, namespace: null },
        etcd: { endpoints: ['http://127.0.0.1:2379'], tls: null, username: null, password: null },
      },
    });
  });

  it('without POD_NAME outside a pod: host name and pid', () => {
    const text = 'ha:\n  lease:\n    backend: kubernetes\n    name: shard-a\n';
    const { config } = loadConfig(text, '/etc/exas/config.yaml', { env: CREDENTIALS, readFile: noFiles });
    expect(config?.ha?.identity).toMatch(new RegExp(`-${process.pid}$`));
    expect(config?.ha?.lease.etcd).toBeNull();
  });

  it('positioned errors: unknown backend, renewal not shorter than the lease, etcd without endpoints', () => {
    const bad = loadConfig('ha:\n  lease:\n    backend: zookeeper\n    name: a\n', 'exas.yaml', { env: CREDENTIALS });
    expect(bad.errors[0]).toMatchObject({ file: 'exas.yaml', line: 3, key: 'ha.lease.backend' });

    const slow = loadConfig('ha:\n  lease:\n    backend: kubernetes\n    name: a\n    durationSeconds: 10\n    renewSeconds: 10\n', 'exas.yaml', { env: CREDENTIALS });
    expect(slow.errors).toHaveLength(1);
    expect(slow.errors[0]).toMatchObject({ line: 6, key: 'ha.lease.renewSeconds' });
    expect(slow.errors[0]!.message).toMatch(/less than durationSeconds/);

    const noEndpoints = loadConfig('ha:\n  lease:\n    backend: etcd\n    name: a\n', 'exas.yaml', { env: CREDENTIALS });
    expect(noEndpoints.errors[0]).toMatchObject({ line: 3, key: 'ha.lease.backend' });

    const noLease = loadConfig('ha:\n  identity: me\n', 'exas.yaml', { env: CREDENTIALS });
    expect(noLease.errors[0]!.message).toMatch(/lease/);
  });

  it('the etcd password comes from a file or the environment, never inline without a warning, and never prints', () => {
    const text = 'ha:\n  lease:\n    backend: etcd\n    name: a\n    etcd:\n      endpoints: [https://etcd:2379]\n      username: exas\n      passwordFile: /run/secrets/etcd\n      tls: { caFile: ca.pem }\n';
    const { config, errors } = loadConfig(text, '/etc/exas/config.yaml', { env: CREDENTIALS, readFile: (path) => (path === '/run/secrets/etcd' ? 's3cret\n' : noFiles(path)) });
    expect(errors).toEqual([]);
    const etcd = config!.ha!.lease.etcd!;
    expect(etcd.password?.reveal()).toBe('s3cret');
    expect(JSON.stringify(config)).not.toContain('s3cret');
    expect(etcd.tls).toEqual({ caFile: '/etc/exas/ca.pem', certFile: null, keyFile: null });

    const fromEnv = loadConfig('ha:\n  lease:\n    backend: etcd\n    name: a\n    etcd:\n      endpoints: [http://e:2379]\n      username: exas\n', 'exas.yaml', { env: { ...CREDENTIALS, EXAS_ETCD_PASSWORD: 'from-env' } });
    expect(fromEnv.config!.ha!.lease.etcd!.password?.reveal()).toBe('from-env');

    const inline = loadConfig('ha:\n  lease:\n    backend: etcd\n    name: a\n    etcd:\n      endpoints: [http://e:2379]\n      username: exas\n      password: pw\n', 'exas.yaml', { env: CREDENTIALS });
    expect(inline.warnings.some((warning) => warning.key === 'ha.lease.etcd.password')).toBe(true);

    const orphan = loadConfig('ha:\n  lease:\n    backend: etcd\n    name: a\n    etcd:\n      endpoints: [http://e:2379]\n', 'exas.yaml', { env: { ...CREDENTIALS, EXAS_ETCD_PASSWORD: 'x' } });
    expect(orphan.errors[0]!.message).toMatch(/no username/);
  });
});
