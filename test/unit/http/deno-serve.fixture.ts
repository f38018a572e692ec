// Run by server.test.ts under Deno (`deno run -A`): starts the operator server (node:http compat there, as under
// Node), probes it and prints one JSON line. Not a test file itself, so vitest never loads it under Node.
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

/**
 * A slowloris client: the request line, then one header byte every 25 ms, never the blank line. Resolves the
 * status the server answers before it closes the connection (0 for none).
 */
function slowHeadersStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const header = `X-Slow: ${'a'.repeat(10_000)}`;
    let sent = 0;
    let answer = '';
    let timer: ReturnType<typeof setInterval> | undefined;
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('POST /dry-run HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      timer = setInterval(() => {
        if (sent < header.length && !socket.destroyed) socket.write(header[sent++]!);
      }, 25);
    });
    socket.on('data', (chunk) => {
      answer += String(chunk);
    });
    socket.on('close', () => {
      clearInterval(timer);
      resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0));
    });
    socket.on('error', () => undefined);
    setTimeout(() => reject(new Error('the slow-header client was never cut off')), 10_000);
  });
}

const server = await startOperatorServer(createOfflineDeps({ rules: null }), { bodyLimitBytes: 100, bodyTimeoutMs: 200, headersTimeoutMs: 300, requestTimeoutMs: 2_000 });
const live = await fetch(`${server.url}/livez`);
const big = await fetch(`${server.url}/dry-run`, { method: 'POST', body: 'x'.repeat(1000) });
// A body that starts and never ends: the server's requestTimeout or the app's body deadline, whichever comes first, gives 408.
const slowBody = await stalledBodyStatus(server.port);
// Headers that never end: node:http's headersTimeout cuts the client off under Deno as under Node.
const slowHeaders = await slowHeadersStatus(server.port);
const metrics = await fetch(`${server.url}/metrics`);
const text = await metrics.text();
console.log(
  JSON.stringify({
    runtime: 'Deno' in globalThis ? 'deno' : 'node',
    host: server.host,
    livez: live.status,
    oversized: big.status,
    slowBody,
    slowHeaders,
    metrics: metrics.status,
    contentType: metrics.headers.get('content-type'),
    notReady: text.includes('exas_ready 0'),
  }),
);
await live.body?.cancel();
await big.body?.cancel();
await server.close();
