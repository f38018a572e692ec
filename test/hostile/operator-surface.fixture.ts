/**
 * The operator server attacked over raw sockets, the same way on Node and Deno: `probeOperatorSurface()` starts
 * the real server (node:http under Node and Deno) with an admin and a read token, sends each
 * request byte for byte, and returns what each answered. operator-surface.test.ts runs it in-process on Node
 * and as `deno run -A` of this file, which prints the result as one JSON line.
 */
import { connect } from 'node:net';
import process from 'node:process';
import { createOperatorJobPool, startOperatorServer, type OperatorJobPool } from '../../src/http/index.ts';
import { setLogSink } from '../../src/log.ts';
import { loadRules } from '../../src/rules/index.ts';
import { createFakeDeps, DEFAULT_RULES_TEXT } from '../unit/http/fake-deps.ts';

export const ADMIN = 'probe-admin-token-7c1e4b9a';
export const READ = 'probe-read-token-0d5f2a61';
/** Where the live rules "are" on the server: an anonymous dry run must never show this path. */
export const RULES_PATH = '/srv/exas/secret-dir/exas.rules.yaml';

export interface RawAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Sends `request` as is (a string as UTF-8) on a fresh connection and collects the answer until the server closes it. */
export function rawRequest(port: number, request: string | Uint8Array): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after the answer (a server closing on a client still sending a too-large body) keeps the answer;
    // a reset before any byte arrived is status 0.
    socket.on('error', (error) => {
      if (chunks.length === 0 && !(error as { code?: string }).code?.startsWith('EC')) reject(error);
    });
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = rest.join('\r\n\r\n');
      // A chunked answer: keep the payload only.
      if (headers['transfer-encoding'] === 'chunked') body = dechunk(body);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0), headers, body });
    });
  });
}

function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const line = rest.indexOf('\r\n');
    if (line < 0) return out;
    const size = parseInt(rest.slice(0, line), 16);
    if (!(size > 0)) return out;
    out += rest.slice(line + 2, line + 2 + size);
    rest = rest.slice(line + 2 + size + 2);
  }
}

/** An HTTP/1.1 request with `Connection: close`; `body` gets a Content-Length unless `chunked`. */
export function http(method: string, path: string, options: { headers?: Record<string, string>; body?: string; chunked?: boolean; host?: string } = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${options.host ?? '127.0.0.1'}`, 'Connection: close'];
  for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`${name}: ${value}`);
  if (options.chunked) {
    lines.push('Transfer-Encoding: chunked');
    const body = options.body ?? '';
    const bytes = Buffer.byteLength(body);
    return `${lines.join('\r\n')}\r\n\r\n${bytes > 0 ? `${bytes.toString(16)}\r\n${body}\r\n` : ''}0\r\n\r\n`;
  }
  if (options.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(options.body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${options.body ?? ''}`;
}

const admin = { authorization: `Bearer ${ADMIN}` };
const reader = { authorization: `Bearer ${READ}` };
const json = { 'content-type': 'application/json' };

/** Holds every job until `release()`: makes "two dry runs at once" deterministic. */
export function heldPool(inner: OperatorJobPool): OperatorJobPool & { release(): void; started: Promise<void> } {
  let release: () => void = () => undefined;
  let started: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const first = new Promise<void>((resolve) => (started = resolve));
  return {
    isolated: inner.isolated,
    pending: () => inner.pending(),
    close: () => inner.close(),
    release: () => release(),
    started: first,
    async run(job, options) {
      started();
      await gate;
      return inner.run(job, options);
    },
  };
}

export async function probeOperatorSurface(): Promise<Record<string, unknown>> {
  const errorLines: string[] = [];
  const previousSink = setLogSink((line) => {
    if (/"level":"error"/.test(line)) errorLines.push(line);
  });
  const deps = createFakeDeps();
  // The live rules as the server has them: loaded from an absolute path.
  const live = loadRules(DEFAULT_RULES_TEXT, RULES_PATH).program;
  deps.rules = () => live;
  const inner = createOperatorJobPool(1);
  const jobs = heldPool(inner);
  const server = await startOperatorServer(deps, { adminToken: ADMIN, readToken: READ, jobs, maxConcurrentDryRuns: 1, maxDryRunEvents: 50 });
  const port = server.port;
  const ask = (request: string): Promise<RawAnswer> => rawRequest(port, request);
  const out: Record<string, unknown> = { runtime: 'Deno' in globalThis ? 'deno' : 'node', isolated: jobs.isolated };
  try {
    // Two dry runs at once with a limit of one: the second is 429 with Retry-After, then the first completes.
    const firstDryRun = ask(http('POST', '/dry-run', { headers: json, body: '{"events":[]}' }));
    await jobs.started;
    const second = await ask(http('POST', '/dry-run', { headers: json, body: '{"events":[]}' }));
    out['concurrentDryRun'] = { status: second.status, retryAfter: second.headers['retry-after'] ?? null };
    jobs.release();
    out['firstDryRun'] = (await firstDryRun).status;

    const pause = await ask(http('POST', '/-/pause', { headers: admin }));
    out['pauseNoBody'] = { status: pause.status, body: pause.body, paused: deps.readiness().paused };
    out['resumeChunkedEmpty'] = (await ask(http('POST', '/-/resume', { headers: admin, chunked: true }))).status;
    out['pauseNoToken'] = (await ask(http('POST', '/-/pause'))).status;
    out['pauseReadToken'] = (await ask(http('POST', '/-/pause', { headers: reader }))).status;
    out['pauseWrongToken'] = (await ask(http('POST', '/-/pause', { headers: { authorization: 'Bearer not-the-token' } }))).status;
    out['pauseTextPlain'] = (await ask(http('POST', '/-/pause', { headers: { ...admin, 'content-type': 'text/plain' }, body: '{}' }))).status;
    out['pauseFormEncoded'] = (await ask(http('POST', '/-/pause', { headers: { ...admin, 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' }))).status;
    out['dryRunTextPlain'] = (await ask(http('POST', '/dry-run', { headers: { 'content-type': 'text/plain' }, body: '{"events":[]}' }))).status;
    out['pauseForeignOrigin'] = (await ask(http('POST', '/-/pause', { headers: { ...admin, origin: 'http://attacker.example' } }))).status;
    out['pauseNullOrigin'] = (await ask(http('POST', '/-/pause', { headers: { ...admin, origin: 'null' } }))).status;
    out['pauseOwnOrigin'] = (await ask(http('POST', '/-/pause', { headers: { ...admin, origin: `http://127.0.0.1:${port}` }, host: `127.0.0.1:${port}` }))).status;
    out['pauseCrossSiteFetch'] = (await ask(http('POST', '/-/pause', { headers: { ...admin, 'sec-fetch-site': 'cross-site' } }))).status;
    out['resume'] = (await ask(http('POST', '/-/resume', { headers: admin }))).status;
    out['summaryForeignHost'] = (await ask(http('GET', '/api/summary', { headers: reader, host: 'attacker.example' }))).status;
    out['pageForeignHost'] = (await ask(http('GET', '/', { host: `attacker.example:${port}` }))).status;
    out['summaryLocalhost'] = (await ask(http('GET', '/api/summary', { headers: reader, host: `localhost:${port}` }))).status;
    out['summaryNoToken'] = (await ask(http('GET', '/api/summary'))).status;
    out['agentsReadToken'] = (await ask(http('GET', '/agents', { headers: reader }))).status;
    out['livezForeignHost'] = (await ask(http('GET', '/livez', { host: 'attacker.example' }))).status;
    out['metricsForeignHost'] = (await ask(http('GET', '/metrics', { host: '10.1.2.3:9464' }))).status;
    out['readyzForeignHost'] = (await ask(http('GET', '/readyz', { host: 'attacker.example' }))).status;

    const oddMethods: Record<string, number> = {};
    for (const [method, path] of [['DELETE', '/livez'], ['OPTIONS', '/'], ['OPTIONS', '/-/pause'], ['PUT', '/dry-run'], ['PATCH', '/-/reload'], ['HEAD', '/livez'], ['GET', '/-/pause'], ['POST', '/livez'], ['POST', '/nowhere']] as const) {
      oddMethods[`${method} ${path}`] = (await ask(http(method, path, { headers: admin }))).status;
    }
    out['oddMethods'] = oddMethods;

    const chunked = await ask(http('POST', '/dry-run', { headers: json, chunked: true, body: '{"events":[{"agentId":"1002","state":"Ready"}]}' }));
    out['dryRunChunked'] = { status: chunked.status, rule: (JSON.parse(chunked.body) as { results: Array<{ rule: { name: string } }> }).results[0]?.rule.name };
    out['dryRunNoBody'] = (await ask(http('POST', '/dry-run'))).status;
    out['dryRunProto'] = JSON.parse((await ask(http('POST', '/dry-run', { headers: json, body: '{"__proto__":{"polluted":true},"events":[]}' }))).body) as unknown;
    out['dryRunNestedProto'] = (await ask(http('POST', '/dry-run', { headers: json, body: '{"events":[{"agentId":"1","state":"Ready","constructor":{"prototype":1}}]}' }))).status;
    out['dryRunTooManyEvents'] = JSON.parse((await ask(http('POST', '/dry-run', { headers: json, body: JSON.stringify({ events: Array.from({ length: 51 }, () => ({ agentId: 'a', state: 'Ready' })) }) }))).body) as unknown;

    const event = JSON.stringify({ events: [{ agentId: '1001', state: 'AfterCallWork' }], explain: true });
    const anonymous = await ask(http('POST', '/dry-run', { headers: json, body: event }));
    const withRead = await ask(http('POST', '/dry-run', { headers: { ...json, ...reader }, body: event }));
    out['dryRunAnonymous'] = { status: anonymous.status, leaksPath: anonymous.body.includes('/srv/exas'), leaksUserId: anonymous.body.includes('user-1001'), result: (JSON.parse(anonymous.body) as { results: unknown[] }).results[0] };
    out['dryRunRead'] = { status: withRead.status, showsPath: withRead.body.includes(RULES_PATH), showsUserId: withRead.body.includes('user-1001'), presence: (JSON.parse(withRead.body) as { results: Array<{ presence: string | null }> }).results[0]?.presence };
    const candidate = JSON.stringify({ events: [], rules: 'version: 1\nrules:\n  - name: all-busy\n    presence: Busy\n    routingStatus: OffQueue\n', live: true });
    out['candidateAnonymous'] = (await ask(http('POST', '/dry-run', { headers: json, body: candidate }))).status;
    out['candidateRead'] = (await ask(http('POST', '/dry-run', { headers: { ...json, ...reader }, body: candidate }))).status;
    out['errorLogLines'] = errorLines.length;
    return out;
  } finally {
    await server.close();
    await inner.close();
    setLogSink(previousSink);
  }
}

if ((import.meta as ImportMeta & { main?: boolean }).main === true) {
  try {
    process.stdout.write(`${JSON.stringify(await probeOperatorSurface())}\n`);
    process.exit(0);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  }
}
