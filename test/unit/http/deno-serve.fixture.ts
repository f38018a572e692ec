// Run by server.test.ts under Deno (`deno run -A`): starts the operator server (Deno.serve there), probes it and
// prints one JSON line. Not a test file itself, so vitest never loads it under Node.
import { connect } from 'node:net';
import { createOfflineDeps, startOperatorServer } from '../../../src/http/index.ts';

/** Sends headers promising 50 body bytes, then 11 of them and nothing more; resolves the answer's status. */
function stalledBodyStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('POST /dry-run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{"events":[');
    });
    let answer = '';
    socket.on('data', (chunk) => {
      answer += String(chunk);
      const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (match) {
        socket.destroy();
        resolve(Number(match[1]));
      }
    });
    socket.on('error', reject);
  });
}

const server = await startOperatorServer(createOfflineDeps({ rules: null }), { bodyLimitBytes: 100, bodyTimeoutMs: 200 });
const live = await fetch(`${server.url}/livez`);
const big = await fetch(`${server.url}/dry-run`, { method: 'POST', body: 'x'.repeat(1000) });
// A body that starts and never ends (slowloris): Deno.serve has no body timeout of its own, the app's gives 408.
const slowBody = await stalledBodyStatus(server.port);
const metrics = await fetch(`${server.url}/metrics`);
const text = await metrics.text();
console.log(
  JSON.stringify({
    runtime: 'Deno' in globalThis ? 'deno' : 'node',
    host: server.host,
    livez: live.status,
    oversized: big.status,
    slowBody,
    metrics: metrics.status,
    contentType: metrics.headers.get('content-type'),
    notReady: text.includes('exas_ready 0'),
  }),
);
await live.body?.cancel();
await big.body?.cancel();
await server.close();
