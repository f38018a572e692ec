/** `exas run` with an `ha:` lease it cannot reach the credentials for: exit 2 with a clear log line, no crash. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/index.ts';
import { runSidecar } from '../../../src/cli/run.ts';
import { setLogSink } from '../../../src/log.ts';

describe('exas run with ha', () => {
  it('a Kubernetes lease outside a pod without a kubeconfig is a config error (exit 2), not a crash', async () => {
    const text = 'ha:\n  identity: me\n  lease:\n    backend: kubernetes\n    name: shard-a\n';
    const { config } = loadConfig(text, '/etc/exas/exas.yaml', { env: { EXAS_GC_CLIENT_ID: 'id', EXAS_GC_CLIENT_SECRET: 'secret' } });
    expect(config).not.toBeNull();
    const lines: string[] = [];
    const previous = setLogSink((line) => lines.push(line));
    const previousHost = process.env['KUBERNETES_SERVICE_HOST'];
    delete process.env['KUBERNETES_SERVICE_HOST'];
    try {
      const signals = { on: () => undefined, off: () => undefined };
      expect(await runSidecar(config!, signals)).toBe(2);
    } finally {
      setLogSink(previous);
      if (previousHost !== undefined) process.env['KUBERNETES_SERVICE_HOST'] = previousHost;
    }
    expect(lines.join('\n')).toMatch(/cannot start with this config.*not in a pod/);
  });
});
