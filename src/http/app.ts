/**
 * The operator app: health, metrics, dry-run, agent explain, reload/pause, the status page and its summary.
 * A pure factory over `OperatorDeps` (no globals), so tests and the CLI make as many apps as they like.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bearerAuth } from 'hono/bearer-auth';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { createLogger } from '../log.ts';
import { createExasMetrics, isReady, SYNC_STATUSES, type SyncStatus } from '../metrics/index.ts';
import { parseDryRunRequest, runDryRun } from './dry-run.ts';
import { badRequest, details, OperatorHttpError } from './errors.ts';
import { withDeadline } from '../platform/deadline.ts';
import { resolveOptions, type OperatorAppOptions } from './options.ts';
import { PAGE_CSS, PAGE_HTML, PAGE_JS } from './page/assets.ts';
import type { OperatorDeps } from './types.ts';

const log = createLogger('http');

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

  const open: MiddlewareHandler = async (_c, next) => next();
  const unauthorized = { error: 'unauthorized: send the admin token as "Authorization: Bearer <token>"' };
  const admin: MiddlewareHandler =
    settings.adminToken === undefined
      ? open
      : bearerAuth({
          token: settings.adminToken,
          noAuthenticationHeader: { message: unauthorized },
          invalidToken: { message: unauthorized },
          invalidAuthenticationHeader: { message: { error: 'malformed Authorization header: expected "Bearer <token>"' } },
        });
  const probe = settings.protectProbes ? admin : open;
  const limit = bodyLimit({
    maxSize: settings.bodyLimitBytes,
    // `Connection: close`: the rest of the body is never read, and without it the server resets the connection
    // while the client is still sending, so fetch-style clients see "other side closed" instead of this 413.
    onError: (c) => c.json({ error: `request body is larger than ${settings.bodyLimitBytes} bytes` }, 413, { connection: 'close' }),
  });

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

  // Every body is capped, not only the dry run's: no endpoint needs more, and none should buffer more.
  app.use('*', limit);

  app.onError((error, c) => {
    // A 408 leaves the rest of a slow body unread: close the connection rather than wait for it.
    if (error instanceof OperatorHttpError) return c.json(error.body, error.status, error.status === 408 ? { connection: 'close' } : {});
    if (error instanceof HTTPException) return error.getResponse();
    if ((error as { code?: unknown }).code === 'ECONNRESET') {
      // The client went away mid-body (or node:http closed a too-slow request with 408): not a server failure.
      log.debug('client closed the connection before its request was read', { path: c.req.path });
      return c.json({ error: 'the client closed the connection before its request was read' }, 400);
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
    if (!checks.initialResyncDone && checks.lease?.role !== 'standby') notReady.push('initialResyncDone');
    if (checks.paused) notReady.push('notPaused');
    const ready = isReady(checks);
    // High availability: who writes. A standby is ready (it takes over at once), and says who holds the lease.
    const lease = checks.lease === undefined ? {} : { role: checks.lease.role, leaseHolder: checks.lease.holder };
    return c.json({ ready, ...lease, checks, notReady }, ready ? 200 : 503);
  });
  app.get('/metrics', probe, async (c) => {
    const text = await metrics.render();
    return c.body(text, 200, { 'content-type': metrics.contentType });
  });

  app.post('/dry-run', async (c) => {
    const request = parseDryRunRequest(await readJson(c, settings.bodyTimeoutMs));
    // Only candidate rules need the token: a dry run of the live rules shows nothing /agents would not.
    if (request.rulesText !== undefined) await admin(c, async () => {});
    return c.json(runDryRun(request, deps, settings.impactSampleSize));
  });

  app.get('/agents', admin, (c) => {
    const status = c.req.query('status');
    if (status !== undefined && !(SYNC_STATUSES as readonly string[]).includes(status)) {
      throw badRequest(`status must be one of ${SYNC_STATUSES.join(', ')}`, { field: 'status' });
    }
    const offset = integerQuery(c, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const pageSize = integerQuery(c, 'limit', Math.min(50, settings.maxPageSize), 1, settings.maxPageSize);
    const page = deps.agents({ ...(status ? { status: status as SyncStatus } : {}), offset, limit: pageSize });
    return c.json({ total: page.total, offset, limit: pageSize, items: page.items.slice(0, pageSize) });
  });
  app.get('/agents/:agentId', admin, (c) => {
    const agentId = c.req.param('agentId');
    const agent = deps.agent(agentId);
    if (!agent) throw new OperatorHttpError(404, { error: `agent ${agentId} is not in scope` });
    return c.json(agent);
  });

  app.post('/-/reload', admin, async (c) => {
    const result = await deps.reload();
    // The stages log what a reload or pause did; this line records that an operator asked for it over HTTP.
    log.info('operator action', { action: 'reload', result: result.ok ? 'loaded' : 'rejected' });
    if (result.ok) return c.json({ ok: true, hash: result.hash });
    const count = result.errors.length;
    throw badRequest(`the rules file has ${count} error${count === 1 ? '' : 's'}; the last good rules stay live`, {
      details: details(result.errors),
    });
  });
  app.post('/-/pause', admin, (c) => {
    deps.pause();
    log.info('operator action', { action: 'pause' });
    return c.json({ paused: deps.readiness().paused });
  });
  app.post('/-/resume', admin, (c) => {
    deps.resume();
    log.info('operator action', { action: 'resume' });
    return c.json({ paused: deps.readiness().paused });
  });

  app.get('/api/summary', admin, (c) => {
    const checks = deps.readiness();
    return c.json({ ...deps.summary(), readiness: { ready: isReady(checks), checks } });
  });

  app.get('/', (c) => c.html(PAGE_HTML));
  app.get('/page.js', (c) => c.body(PAGE_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' }));
  app.get('/page.css', (c) => c.body(PAGE_CSS, 200, { 'content-type': 'text/css; charset=utf-8' }));

  return app;
}

/** Decodes request bodies strictly: a body that is not UTF-8 is refused, not repaired with U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Reads the body as JSON; invalid UTF-8 or malformed JSON is a 400, a body slower than `timeoutMs` a 408. */
async function readJson(c: Context, timeoutMs: number): Promise<unknown> {
  let text: string;
  try {
    // A slowloris-style body must not hold a request open for good.
    const late = (): Error => new OperatorHttpError(408, { error: `request body not received within ${timeoutMs / 1000} s` });
    text = UTF8.decode(await withDeadline(c.req.arrayBuffer(), timeoutMs, late));
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    // Replacing bad bytes would silently turn an agent id or reason into another one.
    throw badRequest('request body is not valid UTF-8', { field: '' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`malformed JSON: ${error instanceof Error ? error.message : String(error)}`, { field: '' });
  }
}

function integerQuery(c: Context, name: string, fallback: number, min: number, max: number): number {
  const raw = c.req.query(name);
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw badRequest(`${name} must be a whole number`, { field: name });
  const value = Number(raw);
  if (value < min || value > max) throw badRequest(`${name} must be between ${min} and ${max}`, { field: name });
  return value;
}
