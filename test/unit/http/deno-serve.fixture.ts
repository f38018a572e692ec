// Run by server.test.ts under Deno (`deno run -A`): starts the operator server (Deno.serve there), probes it and
// prints one JSON line. Not a test file itself, so vitest never loads it under Node.
import { createOfflineDeps, startOperatorServer } from '../../../src/http/index.ts';

const server = await startOperatorServer(createOfflineDeps({ rules: null }), { bodyLimitBytes: 100 });
const live = await fetch(`${server.url}/livez`);
const big = await fetch(`${server.url}/dry-run`, { method: 'POST', body: 'x'.repeat(1000) });
const metrics = await fetch(`${server.url}/metrics`);
const text = await metrics.text();
console.log(
  JSON.stringify({
    runtime: 'Deno' in globalThis ? 'deno' : 'node',
    host: server.host,
    livez: live.status,
    oversized: big.status,
    metrics: metrics.status,
    contentType: metrics.headers.get('content-type'),
    notReady: text.includes('exas_ready 0'),
  }),
);
await live.body?.cancel();
await big.body?.cancel();
await server.close();
