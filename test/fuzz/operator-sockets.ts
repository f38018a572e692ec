/**
 * The operator endpoints fuzzed over a real socket, the same on Node and Deno: arbitrary methods, paths, query
 * strings, headers (Host, Origin, Authorization, Content-Type) and bodies (JSON-shaped or not, Content-Length or
 * chunked, up to twice the body limit) are written byte for byte with `node:net`. Every answer is a 2xx or a
 * JSON 4xx/503 with an `error`, never a 500; a wrong token is never echoed; /livez answers afterwards; nothing is
 * logged at error level. http-endpoints.fuzz.test.ts runs it in-process on Node and as `deno run -A` of this
 * file (which prints a one-line JSON summary).
 */
import fc from 'fast-check';
import process from 'node:process';
import { startOperatorServer } from '../../src/http/index.ts';
import { setLogSink } from '../../src/log.ts';
import { CALL_TYPES, ENGAGE_STATES } from '../../src/vocabulary.ts';
import { rawRequest } from '../hostile/operator-surface.fixture.ts';
import { CANDIDATE_BROKEN, CANDIDATE_BUSY } from '../unit/http/request.ts';
import { createFakeDeps } from '../unit/http/fake-deps.ts';
import { anyText, yamlishText } from './arbitraries.ts';

export const TOKEN = 'fuzz-admin-token-5b9c';
export const BODY_LIMIT = 4096;
export const ALLOWED_STATUSES = [200, 400, 401, 403, 404, 408, 409, 413, 415, 429, 503];
const ROUTES = ['/livez', '/readyz', '/metrics', '/dry-run', '/agents', '/agents/1001', '/agents/1004', '/-/reload', '/-/pause', '/-/resume', '/api/summary', '/', '/page.js', '/page.css'];

const method = fc.oneof(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'), fc.stringMatching(/^[A-Z]{1,8}$/));
const pathSegment = fc.oneof(
  fc.constantFrom('..', '.', '%2e%2e', '%2F', '%00', '%ff', '%', 'agents', '-', 'dry-run', '😀', '?', '#', '//'),
  fc.webSegment(),
  fc.string({ maxLength: 10 }).map(encodeURIComponent),
);
const path = fc.oneof(
  fc.constantFrom(...ROUTES),
  fc.tuple(fc.constantFrom(...ROUTES), fc.array(pathSegment, { maxLength: 3 })).map(([route, rest]) => [route, ...rest].join('/')),
  fc.array(pathSegment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`),
);
const query = fc.oneof(
  fc.constant(''),
  fc.dictionary(fc.constantFrom('status', 'offset', 'limit', 'x', ''), fc.oneof(fc.constantFrom('in-sync', 'error', '-1', '0', '1', '99999999999999999999', '1e3', ''), fc.string({ maxLength: 8 })), { maxKeys: 3 }).map(
    (params) => `?${new URLSearchParams(params).toString()}`,
  ),
);
const authorization = fc.oneof(
  fc.constant(undefined),
  fc.constant(`Bearer ${TOKEN}`),
  fc.constantFrom('Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', `bearer ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Bearer  ${TOKEN}`, 'Bearer a b'),
  fc.string({ maxLength: 40 }).filter((value) => /^[\x20-\x7e]*$/.test(value)),
);
const contentType = fc.oneof(fc.constant(undefined), fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/json; charset=utf-8', '*/*'));
/** Where a browser would say the request comes from, and which Host it names (DNS rebinding). */
const origin = fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, fc.constantFrom('null', 'http://attacker.example', 'http://127.0.0.1', 'https://localhost'));
const host = fc.oneof({ arbitrary: fc.constant('127.0.0.1'), weight: 4 }, fc.constantFrom('localhost', 'attacker.example', '[::1]', '10.0.0.7:9464', 'LOCALHOST.', '127.0.0.1:1', 'a b'));
const framing = fc.constantFrom('length' as const, 'length' as const, 'chunked' as const);

/** A dry-run body: mostly the real shape with wrong values sprinkled in, so validation paths are exercised. */
const event = fc.record(
  {
    agentId: fc.oneof(fc.constantFrom('1001', '1002', '1003', '1004', ''), fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 })),
    state: fc.oneof(fc.constantFrom(...ENGAGE_STATES), fc.jsonValue({ maxDepth: 1 })),
    callType: fc.oneof(fc.constantFrom(...CALL_TYPES), fc.jsonValue({ maxDepth: 1 })),
    reason: fc.oneof(fc.constantFrom(null, 'Break', 'Meal', 'Lunch'), fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })),
    at: fc.oneof(fc.integer(), fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);
const dryRunBody = fc
  .record(
    {
      events: fc.oneof(fc.array(event, { maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })),
      rules: fc.oneof(fc.constantFrom(CANDIDATE_BUSY, CANDIDATE_BROKEN), yamlishText, fc.jsonValue({ maxDepth: 1 })),
      live: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 0 })),
      explain: fc.oneof(fc.boolean(), fc.jsonValue({ maxDepth: 0 })),
      extra: fc.jsonValue({ maxDepth: 1 }),
      ['__proto__']: fc.jsonValue({ maxDepth: 1 }),
    },
    { requiredKeys: [] },
  )
  .map((value) => JSON.stringify(value));
const body = fc.oneof(
  fc.constant(undefined),
  dryRunBody,
  anyText,
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.uint8Array({ maxLength: 300 }),
  fc.integer({ min: BODY_LIMIT - 64, max: BODY_LIMIT * 2 }).map((size) => `{"events":[],"rules":"${'x'.repeat(size)}"}`),
);

export const request = fc.record({ method, path, query, authorization, contentType, origin, host, framing, body, extraHeader: fc.tuple(fc.constantFrom('x-forwarded-for', 'cookie', 'accept', 'x-a'), fc.string({ maxLength: 30 }).filter((v) => /^[\x20-\x7e]*$/.test(v))) });


type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

/** The request as bytes: request line, headers, then the body with a Content-Length or chunked. */
function toBytes(input: FuzzRequest): Buffer {
  const lines = [`${input.method} ${input.path}${input.query} HTTP/1.1`, `Host: ${input.host}`, 'Connection: close'];
  if (input.authorization !== undefined) lines.push(`Authorization: ${input.authorization}`);
  if (input.contentType !== undefined) lines.push(`Content-Type: ${input.contentType}`);
  if (input.origin !== undefined) lines.push(`Origin: ${input.origin}`);
  lines.push(`${input.extraHeader[0]}: ${input.extraHeader[1]}`);
  const body = input.body === undefined ? undefined : typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : Buffer.from(input.body);
  if (body === undefined) return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  if (input.framing === 'chunked') {
    lines.push('Transfer-Encoding: chunked');
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    const chunk = body.length > 0 ? [Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')] : [];
    return Buffer.concat([head, ...chunk, Buffer.from('0\r\n\r\n')]);
  }
  lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

export interface SocketFuzzSummary {
  readonly runtime: string;
  readonly runs: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly errorLogLines: readonly string[];
  readonly failure: string | null;
}

/** Runs `runs` fuzzed requests against a real operator server (with or without tokens) over raw sockets. */
export async function fuzzOverSockets(options: { runs: number; seed: number; tokened: boolean }): Promise<SocketFuzzSummary> {
  const errorLogLines: string[] = [];
  const previousSink = setLogSink((line) => {
    if (line.includes('"level":"error"')) errorLogLines.push(line);
  });
  const deps = createFakeDeps();
  const server = await startOperatorServer(deps, { bodyLimitBytes: BODY_LIMIT, ...(options.tokened ? { adminToken: TOKEN } : {}), headersTimeoutMs: 5_000, requestTimeoutMs: 10_000 });
  const statuses: Record<string, number> = {};
  let failure: string | null = null;
  let lastError = '';
  try {
    await fc.assert(
      fc.asyncProperty(request, async (input) => {
        try {
          await check(input);
        } catch (error) {
          lastError = error instanceof Error ? error.message : String(error);
          throw error;
        }
      }),
      { numRuns: options.runs, seed: options.seed },
    );
    async function check(input: FuzzRequest): Promise<void> {
        const answer = await rawRequest(server.port, toBytes(input));
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        // A server may reset a client still sending a body over the limit (after or instead of its 413).
        const bodyBytes = input.body === undefined ? 0 : typeof input.body === 'string' ? Buffer.byteLength(input.body) : input.body.length;
        if (answer.status === 0 && bodyBytes > BODY_LIMIT) return;
        // A request line the HTTP parser refuses (a method or path with spaces, say) gets 400 from the runtime, maybe without a body.
        if (answer.status === 400 && !answer.headers['content-type']) return;
        if (!ALLOWED_STATUSES.includes(answer.status)) throw new Error(`status ${answer.status} for ${input.method} ${input.path}: ${answer.body.slice(0, 200)}`);
        const readiness = answer.status === 503 && /^\/readyz\/?$/.test(input.path);
        if (answer.status >= 400 && input.method !== 'HEAD' && !readiness && answer.body !== '') {
          if (!/application\/json/.test(answer.headers['content-type'] ?? '')) throw new Error(`non-JSON error ${answer.status}: ${answer.body.slice(0, 100)}`);
          if (typeof (JSON.parse(answer.body) as { error?: unknown }).error !== 'string') throw new Error(`error body without "error": ${answer.body.slice(0, 100)}`);
        }
        if (input.authorization !== undefined && input.authorization !== `Bearer ${TOKEN}` && input.authorization.length > 12 && answer.body.includes(input.authorization.slice(7))) {
          throw new Error('a wrong credential was echoed back');
        }
    }
    const live = await rawRequest(server.port, 'GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    if (live.status !== 200) throw new Error(`/livez answered ${live.status} after fuzzing`);
    if (deps.rules()?.hash !== createFakeDeps().rules()?.hash) throw new Error('fuzzing changed the live rules');
  } catch (error) {
    failure = `${lastError}\n${error instanceof Error ? error.message : String(error)}`.slice(0, 2000);
  } finally {
    await server.close();
    setLogSink(previousSink);
  }
  return { runtime: 'Deno' in globalThis ? 'deno' : 'node', runs: options.runs, statuses, errorLogLines, failure };
}

if ((import.meta as ImportMeta & { main?: boolean }).main === true) {
  const [runs = '200', seed = '9401', tokened = 'true'] = process.argv.slice(2);
  const summary = await fuzzOverSockets({ runs: Number(runs), seed: Number(seed), tokened: tokened === 'true' });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
}
