/**
 * Fuzz target: the operator HTTP endpoints over real sockets. Structured requests (see operator-sockets.ts) on
 * Node and on Deno; then raw byte soups (request lines, headers and framing) on Node. Every answer is a 2xx or a
 * JSON 4xx/503 with an `error`, never a 500, and the server keeps serving.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOperatorServer } from '../../src/http/index.ts';
import { started } from '../helpers/servers.ts';
import { openRaw } from '../hostile/raw-http.ts';
import { setLogSink, type LogSink } from '../../src/log.ts';
import { createFakeDeps } from '../unit/http/fake-deps.ts';
import { BODY_LIMIT, fuzzOverSockets, type SocketFuzzSummary } from './operator-sockets.ts';
import { FUZZ_TIMEOUT_MS, fuzzParameters, fuzzRuns } from './profile.ts';

const DENO = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));
const SOCKET_FUZZ = fileURLToPath(new URL('./operator-sockets.ts', import.meta.url));

describe('operator HTTP endpoints fuzz', () => {
  const lines: string[] = [];
  let previous: LogSink;
  beforeAll(() => {
    previous = setLogSink((line) => lines.push(line));
  });
  afterAll(() => {
    setLogSink(previous);
  });

  for (const tokened of [false, true]) {
    it(
      `${tokened ? 'with an admin token' : 'without a token'}, on Node over raw sockets: arbitrary requests get 2xx or a JSON error, never a 500, and the server keeps serving`,
      async () => {
        const summary = await fuzzOverSockets({ runs: fuzzRuns(400), seed: 9401, tokened });
        expect(summary.failure).toBeNull();
        expect(summary.errorLogLines).toEqual([]);
        // The guards and the routes were both reached: refusals and successes.
        expect(Object.keys(summary.statuses)).toEqual(expect.arrayContaining(['200', '403', '404', '415']));
      },
      FUZZ_TIMEOUT_MS,
    );
    it.runIf(existsSync(DENO))(
      `${tokened ? 'with an admin token' : 'without a token'}, on Deno over raw sockets: the same property`,
      () => {
        const run = spawnSync(DENO, ['run', '-A', SOCKET_FUZZ, String(fuzzRuns(200)), '9403', String(tokened)], { encoding: 'utf8', timeout: FUZZ_TIMEOUT_MS, env: { ...process.env, NO_COLOR: '1' } });
        expect(run.status, run.stderr).toBe(0);
        const summary = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as SocketFuzzSummary;
        expect(summary).toMatchObject({ runtime: 'deno', failure: null, errorLogLines: [] });
      },
      FUZZ_TIMEOUT_MS,
    );
  }
  it(
    'over a real socket: arbitrary request lines, headers and framing get an HTTP answer or a clean close, never a hang or a crash',
    async () => {
      const server = await started(() => startOperatorServer(createFakeDeps(), { bodyLimitBytes: BODY_LIMIT, headersTimeoutMs: 2_000, requestTimeoutMs: 4_000 }));
      const token = fc.oneof(
        fc.constantFrom('GET', 'POST', 'HEAD', ' ', '/', '/dry-run', '/livez', '/agents/1001', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2', '\r\n', '\n', ':', 'Content-Length: ', 'Transfer-Encoding: chunked', 'Host: x', '0', '5', '-1', '99999999999', '{}', '\u0000', '\u00ff', 'Expect: 100-continue', 'Connection: close', 'Upgrade: websocket'),
        fc.string({ maxLength: 12, unit: 'binary-ascii' }),
      );
      // The same path answers a well-formed request (so an empty answer below is a close, not a broken client).
      const probe = await openRaw(server.port);
      await probe.write('GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(await probe.closed).toMatch(/^HTTP\/1\.1 200 /);
      let answered = 0;
      const raw = fc.array(token, { minLength: 1, maxLength: 30 }).map((parts) => `${parts.join('')}\r\n\r\n`);
      await fc.assert(
        fc.asyncProperty(raw, async (bytes) => {
          const client = await openRaw(server.port);
          await client.write(Buffer.from(bytes, 'latin1'));
          // Half-close: the server sees the end of the request bytes, answers what it can and closes.
          client.socket.end();
          const answer = await client.closed;
          if (answer !== '') {
            expect(answer).toMatch(/^HTTP\/1\.[01] \d{3} /);
            answered += 1;
          }
        }),
        fuzzParameters(150, 9402),
      );
      // Most random byte soups are still answered (400 from the parser, 404, 413…), not just dropped.
      expect(answered).toBeGreaterThan(0);
      const live = await fetch(`${server.url}/livez`);
      expect(live.status).toBe(200);
      expect(lines.filter((line) => line.includes('"level":"error"'))).toEqual([]);
    },
    FUZZ_TIMEOUT_MS,
  );
});
