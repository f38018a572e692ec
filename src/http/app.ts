/**
 * The operator app: health, metrics, dry-run, agent explain, reload/pause, the status page and its summary.
 * A pure factory over `OperatorDeps` (no globals), so tests and the CLI make as many apps as they like.
 *
 * Every request passes, in order: the Host check (not for /livez, /readyz, /metrics, which probes and scrapers
 * reach by pod IP), the Origin check for state-changing methods, the body read (capped in size and time) and
 * the Content-Type check; then the route checks the token's scope. Dry runs run on worker threads.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { createLogger } from '../log.ts';
import { createExasMetrics, isReady, SYNC_STATUSES, type MetricsSnapshot, type SyncStatus } from '../metrics/index.ts';
import { covers, grantResolver, refusal, type Grant, type Scope } from './auth.ts';
import { bodyOf, keepBody, readBody } from './body.ts';
import { ASK_CHUNK, type DryRunAnswer, type DryRunJobResult, type DryRunQuestion } from './dry-run.ts';
import { badRequest, details, OperatorHttpError } from './errors.ts';
import { checkContentType, checkHost, checkOrigin, hostPolicy } from './guards.ts';
import { createOperatorJobPool } from './jobs.ts';
import { WorkerFailedError } from '../platform/worker-pool.ts';
import { resolveOptions, type OperatorAppOptions } from './options.ts';
import { CHARTS_JS, EDITOR_JS, PAGE_CSS, PAGE_HTML, PAGE_JS } from './page/assets.ts';
import type { RulesCheckJobResult } from './rules-check.ts';
import type { LiveAgent, OperatorDeps } from './types.ts';

const log = createLogger('http');

/** Paths probes and scrapers reach by any address (pod IP, node port): no Host check. */
const PROBE_PATHS = new Set(['/livez', '/readyz', '/metrics']);
/** Routes whose work is CPU on a worker (dry runs, rules checks): they share the concurrency cap. */
const CPU_JOB_PATHS = new Set(['/dry-run', '/rules/check']);

/**
 * Creates the operator app over `deps`.
 *
 * @example
 * const app = createOperatorApp(deps, { adminToken: process.env.EXAS_HTTP_TOKEN });
 * const response = await app.request('/readyz');
 */
export function createOperatorApp(deps: OperatorDeps, options: OperatorAppOptions = {}): Hono {
  const settings = resolveOptions(options);
  const metrics = settings.metrics ?? createExasMetrics();
  // Pulled values come from deps, and the readiness gauges and exas_paused show exactly what /readyz answers.
  metrics.setSource(deps.metrics);
  metrics.setReadiness(() => deps.readiness());
  const jobs = settings.jobs ?? createOperatorJobPool(settings.maxConcurrentDryRuns);
  const grantOf = grantResolver(settings.adminToken, settings.readToken);
  const acceptsHost = hostPolicy(settings.listenHost, settings.allowedHosts);

  const needs =
    (scope: Scope): MiddlewareHandler =>
    async (c, next) => {
      const grant = grantOf(c.req.header('authorization') ?? null);
      if (!covers(grant, scope)) throw refusal(grant, scope);
      await next();
    };
  const open: MiddlewareHandler = async (_c, next) => next();
  const probe = settings.protectProbes ? needs('read') : open;

  let dryRunsRunning = 0;
  const tooManyDryRuns = (running: number): OperatorHttpError =>
    // The body is left unread and the connection closed. Reading and dropping it instead (so that a client
    // still sending is not reset) cost this thread too much: a client retrying every 50 ms made it read
    // 28 MB/s of refused bodies, and the sync's p99 went from 1.4x to 2.5x quiet. The price: a client that
    // ignores Retry-After and has not read the 429 when the reset comes sees a failed request instead (the
    // bench's "status 0" answers, `0 (ECONNRESET)` or `0 (UND_ERR_SOCKET)`).
    new OperatorHttpError(429, { error: `${running} dry runs are running; at most ${settings.maxConcurrentDryRuns} at once: retry shortly` }, { 'retry-after': '1', connection: 'close' });

  const app = new Hono();
  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
    }),
  );

  app.use('*', async (c, next) => {
    // DNS rebinding: a page on attacker.example that resolves to 127.0.0.1 sends Host: attacker.example.
    if (!PROBE_PATHS.has(c.req.path)) checkHost(c.req.raw, acceptsHost);
    checkOrigin(c.req.raw);
    // Excess dry runs are refused before their body is read: a flood of them costs this thread next to nothing.
    if (CPU_JOB_PATHS.has(c.req.path) && dryRunsRunning >= settings.maxConcurrentDryRuns) throw tooManyDryRuns(dryRunsRunning);
    // Every body is capped and read here, once, from the runtime's own stream: no endpoint needs more.
    const body = await readBody(c.req.raw, settings.bodyLimitBytes, settings.bodyTimeoutMs);
    checkContentType(c.req.raw, body);
    keepBody(c, body);
    await next();
  });

  app.onError((error, c) => {
    if (error instanceof OperatorHttpError) return c.json(error.body, error.status, error.headers);
    if (error instanceof WorkerFailedError) {
      // A job that exhausted its worker's heap (or crashed it): the worker is replaced; EXAS goes on.
      log.warn('an operator worker stopped while running a job', { path: c.req.path, reason: error.message });
      return c.json({ error: 'the job stopped its worker (too large?); the worker was replaced: retry with less' }, 503);
    }
    const code = (error as { code?: unknown }).code;
    if (code === 'ECONNRESET' || code === 'ABORT_ERR' || (error as { name?: unknown }).name === 'AbortError') {
      // The client went away mid-body (or node:http closed a too-slow request with 408): not a server failure.
      log.debug('client closed the connection before its request was read', { path: c.req.path });
      return c.json({ error: 'the client closed the connection before its request was read' }, 400, { connection: 'close' });
    }
    log.error('operator endpoint failed', { path: c.req.path, error });
    return c.json({ error: 'internal error' }, 500);
  });
  app.notFound((c) => c.json({ error: `no such endpoint: ${c.req.method} ${c.req.path}` }, 404));

  app.get('/livez', probe, (c) => c.json({ status: 'alive' }));
  app.get('/readyz', probe, (c) => {
    const checks = deps.readiness();
    const notReady: string[] = [];
    if (!checks.rulesLoaded) notReady.push('rulesLoaded');
    if (!checks.statServerConnected) notReady.push('statServerConnected');
    if (!checks.gcTokenValid) notReady.push('gcTokenValid');
    if (!checks.gcReachable) notReady.push('gcReachable');
    if (!checks.initialResyncDone && checks.lease?.role !== 'standby') notReady.push('initialResyncDone');
    if (checks.paused) notReady.push('notPaused');
    if ((checks.gcMissingPermissions?.length ?? 0) > 0) notReady.push('gcPermissions');
    if (checks.primarySourceReady === false) notReady.push('primarySourceReady');
    if (checks.lease?.healthy === false) notReady.push('leaseServiceReachable');
    const ready = isReady(checks);
    // High availability: who writes. A standby is ready (it takes over at once), and says who holds the lease.
    const lease = checks.lease === undefined ? {} : { role: checks.lease.role, leaseHolder: checks.lease.holder, ...(checks.lease.unhealthyReason === undefined ? {} : { leaseProblem: checks.lease.unhealthyReason }) };
    return c.json({ ready, ...lease, checks, notReady }, ready ? 200 : 503);
  });
  app.get('/metrics', probe, async (c) => {
    const text = await metrics.render();
    return c.body(text, 200, { 'content-type': metrics.contentType });
  });

  app.post('/dry-run', async (c) => {
    const grant: Grant = grantOf(c.req.header('authorization') ?? null);
    if (dryRunsRunning >= settings.maxConcurrentDryRuns) throw tooManyDryRuns(dryRunsRunning);
    dryRunsRunning += 1;
    try {
      const program = deps.rules();
      const onAsk = (question: DryRunQuestion): DryRunAnswer => {
        if (question.kind === 'presences') {
          const out: Record<string, string> = Object.create(null) as Record<string, string>;
          for (const agentId of question.agentIds.slice(0, ASK_CHUNK)) {
            const presence = deps.agent(agentId)?.acknowledged?.presence;
            if (presence !== undefined) out[agentId] = presence;
          }
          return out;
        }
        if (question.kind === 'requests') {
          // A preview depends only on the agent and the decision (the job asks once per distinct pair).
          const results = question.changes.slice(0, ASK_CHUNK).map((change) => ({ ...change, presenceChanged: false, rule: null }));
          return deps.previewRequests?.(results) ?? results.map(() => []);
        }
        // One page of the live agents: skipping to `offset` is a cheap walk, building the page is the cost.
        const page: LiveAgent[] = [];
        let index = 0;
        for (const agent of deps.liveAgents?.() ?? []) {
          if (index >= question.offset + ASK_CHUNK) break;
          if (index >= question.offset) page.push(agent);
          index += 1;
        }
        return page;
      };
      const result = (await jobs.run(
        {
          kind: 'dry-run',
          job: {
            body: bodyOf(c),
            grant,
            live: program === null ? null : { text: program.source, file: program.file },
            limits: { maxEvents: settings.maxDryRunEvents, maxResponseBytes: settings.maxResponseBytes, impactSampleSize: settings.impactSampleSize },
            connector: { agents: true, liveAgents: deps.liveAgents !== undefined, previewRequests: deps.previewRequests !== undefined },
          },
        },
        { onAsk },
      )) as DryRunJobResult;
      if (result.kind === 'error') throw new OperatorHttpError(result.status, result.body, { ...result.headers });
      // The answer's bytes, built by the job: this thread only writes them.
      return c.body(result.bytes as Uint8Array<ArrayBuffer>, 200, { 'content-type': 'application/json' });
    } finally {
      dryRunsRunning -= 1;
    }
  });

  app.post('/rules/check', needs('read'), async (c) => {
    if (dryRunsRunning >= settings.maxConcurrentDryRuns) throw tooManyDryRuns(dryRunsRunning);
    dryRunsRunning += 1;
    try {
      const result = (await jobs.run({ kind: 'rules-check', body: bodyOf(c) })) as RulesCheckJobResult;
      if (result.kind === 'error') throw new OperatorHttpError(result.status, result.body);
      return c.json(result.response);
    } finally {
      dryRunsRunning -= 1;
    }
  });

  app.get('/agents', needs('read'), (c) => {
    const status = c.req.query('status');
    if (status !== undefined && !(SYNC_STATUSES as readonly string[]).includes(status)) {
      throw badRequest(`status must be one of ${SYNC_STATUSES.join(', ')}`, { field: 'status' });
    }
    const offset = integerQuery(c, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const pageSize = integerQuery(c, 'limit', Math.min(50, settings.maxPageSize), 1, settings.maxPageSize);
    const q = c.req.query('q') ?? '';
    if (q.length > 200) throw badRequest('q must be at most 200 characters', { field: 'q' });
    const page = deps.agents({ ...(status ? { status: status as SyncStatus } : {}), ...(q === '' ? {} : { idContains: q }), offset, limit: pageSize });
    return c.json({ total: page.total, offset, limit: pageSize, items: page.items.slice(0, pageSize) });
  });
  app.get('/agents/:agentId', needs('read'), (c) => {
    const agentId = c.req.param('agentId');
    const agent = deps.agent(agentId);
    if (!agent) throw new OperatorHttpError(404, { error: `agent ${agentId} is not in scope` });
    return c.json(agent);
  });

  app.post('/-/reload', needs('admin'), async (c) => {
    const result = await deps.reload();
    // The stages log what a reload or pause did; this line records that an operator asked for it over HTTP.
    log.info('operator action', { action: 'reload', result: result.ok ? 'loaded' : 'rejected' });
    if (result.ok) return c.json({ ok: true, hash: result.hash });
    const count = result.errors.length;
    throw badRequest(`the rules file has ${count} error${count === 1 ? '' : 's'}; the last good rules stay live`, {
      details: details(result.errors),
    });
  });
  app.post('/-/pause', needs('admin'), (c) => {
    deps.pause();
    log.info('operator action', { action: 'pause' });
    return c.json({ paused: deps.readiness().paused });
  });
  app.post('/-/resume', needs('admin'), (c) => {
    deps.resume();
    log.info('operator action', { action: 'resume' });
    return c.json({ paused: deps.readiness().paused });
  });

  app.get('/api/summary', needs('read'), (c) => {
    const checks = deps.readiness();
    return c.json({ ...deps.summary(), readiness: { ready: isReady(checks), checks }, warnings: healthWarnings(deps.metrics()) });
  });

  app.get('/api/history', needs('read'), (c) => {
    const history = metrics.history;
    return c.json({ intervalSeconds: history.intervalMs / 1000, capacity: history.capacity, samples: history.samples() });
  });

  app.get('/', (c) => c.html(PAGE_HTML));
  app.get('/page.js', (c) => c.body(PAGE_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/page.css', (c) => c.body(PAGE_CSS, 200, { 'content-type': 'text/css; charset=utf-8' }));
  app.get('/charts.js', (c) => c.body(CHARTS_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  // The playground's editor: CodeMirror bundled from src/http/page/editor/ (about 360 kB).
  app.get('/editor.js', (c) => c.body(EDITOR_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' }));

  return app;
}

/** Problems the status page shows as a warning line: a failing store, a refused rules file. */
export function healthWarnings(snapshot: MetricsSnapshot): string[] {
  const warnings: string[] = [];
  const store = snapshot.store;
  if (store !== undefined && store.consecutiveFailures > 0) {
    const last = store.lastSaveAt === 0 ? 'never saved' : `last saved ${new Date(store.lastSaveAt).toISOString()}`;
    warnings.push(`acknowledged-state store: the last ${store.consecutiveFailures} save${store.consecutiveFailures === 1 ? '' : 's'} failed (${last}); a restart would resync every user`);
  }
  const rejected = snapshot.rules.lastRejection;
  if (rejected !== undefined) {
    const why = rejected.reason === 'tests' ? "its own tests fail" : rejected.reason === 'unreadable' ? 'it cannot be read' : 'it has errors';
    warnings.push(`rules file refused (${why}): ${rejected.message}; the last good rules stay live`);
  }
  return warnings;
}

function integerQuery(c: Context, name: string, fallback: number, min: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw badRequest(`${name} must be a whole number`, { field: name });
  const value = Number(raw);
  if (value < min || value > max) throw badRequest(`${name} must be between ${min} and ${max}`, { field: name });
  return value;
}
