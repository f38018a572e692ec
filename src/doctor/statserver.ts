/**
 * Stat Server: each configured endpoint connects (with the sidecar's own adapter and credentials), and on the
 * first that does, the scope's statistics (or the `--sample`) open: agents Stat Server refuses are named with
 * its message, and the others' current states are counted.
 */
import type { ExasConfig } from '../config/index.ts';
import type { Logger, LogFields } from '../log.ts';
import { createBridgeSource, createStatisticsApiSource, type AgentObservation, type StatSource } from '../statserver/index.ts';
import type { Check } from './checklist.ts';
import { describeError, plural, type DoctorContext } from './context.ts';

const EXAMPLES = 5;

/** A logger that keeps the sources' warnings (why a connection failed) instead of printing them. */
function capturingLogger(into: string[]): Logger {
  const keep = (message: string, fields?: LogFields): void => {
    const error = fields?.['error'];
    into.push(typeof error === 'string' ? error : message);
  };
  const logger: Logger = { debug: () => undefined, info: () => undefined, warn: keep, error: keep, child: () => logger };
  return logger;
}

function sourceFor(config: ExasConfig, baseUrl: string, timeoutMs: number, logger: Logger): StatSource {
  const stat = config.statServer;
  if (stat.source === 'bridge') {
    return createBridgeSource({
      urls: [baseUrl],
      reconnect: { initialMs: timeoutMs, maxMs: timeoutMs },
      ...(stat.bearerToken === null ? {} : { token: stat.bearerToken.reveal() }),
      reasonKey: stat.reasonKey,
      settleMs: stat.settleMs,
      peekTimeoutMs: timeoutMs,
      logger,
    });
  }
  return createStatisticsApiSource({
    endpoints: [{ baseUrl }],
    apiKey: stat.apiKey?.reveal() ?? '',
    ...(stat.bearerToken === null ? {} : { bearerToken: stat.bearerToken.reveal() }),
    reasonKey: stat.reasonKey,
    settleMs: stat.settleMs,
    batchSize: stat.batchSize,
    // One attempt per endpoint: the next would come only after the doctor has moved on.
    reconnect: { initialMs: timeoutMs, maxMs: timeoutMs },
    requestTimeoutMs: timeoutMs,
    logger,
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts `source` and waits until it counts as connected: at once for the Statistics API (its first attempt has
 * settled when `start` resolves), after the bridge's first snapshot for a bridge. 'failed' when it never does.
 */
function connected(source: StatSource, waitsForSnapshot: boolean): Promise<'connected' | 'failed'> {
  return new Promise((resolve, reject) => {
    const unsubscribe = source.onConnection((event) => {
      if (event.state !== 'connected') return;
      unsubscribe();
      resolve('connected');
    });
    source.start().then(
      () => {
        if (source.isConnected() || !waitsForSnapshot) {
          unsubscribe();
          resolve(source.isConnected() ? 'connected' : 'failed');
        }
      },
      (error: unknown) => {
        unsubscribe();
        reject(error);
      },
    );
  });
}

export async function checkStatServer(context: DoctorContext): Promise<Check[]> {
  const { config } = context;
  const stat = config.statServer;
  if (stat.bridgeListen !== null) {
    return [
      {
        id: 'statserver.endpoint.0',
        group: 'statserver',
        status: 'warn',
        summary: `bridge listen mode (${stat.bridgeListen.host}:${stat.bridgeListen.port}): the bridge dials EXAS, so the doctor cannot reach it`,
        remedy: 'start the sidecar and check /readyz once the bridge has connected',
      },
    ];
  }
  const timeoutMs = context.options.statServerTimeoutMs ?? 10_000;
  const checks: Check[] = [];
  let opened: { source: StatSource; baseUrl: string } | undefined;
  const sources: StatSource[] = [];
  try {
    for (const [index, endpoint] of stat.endpoints.entries()) {
      const warnings: string[] = [];
      const source = sourceFor(config, endpoint.baseUrl, timeoutMs, capturingLogger(warnings));
      sources.push(source);
      const started = await withTimeout(connected(source, stat.source === 'bridge'), timeoutMs + 1000);
      if (started === 'connected') {
        checks.push({ id: `statserver.endpoint.${index}`, group: 'statserver', status: 'pass', summary: `${endpoint.baseUrl}: connected` });
        opened ??= { source, baseUrl: endpoint.baseUrl };
      } else {
        checks.push({
          id: `statserver.endpoint.${index}`,
          group: 'statserver',
          status: 'fail',
          summary: `${endpoint.baseUrl}: cannot connect: ${warnings.at(-1) ?? (started === 'timeout' ? `no connection within ${timeoutMs / 1000} s` : 'not connected')}`,
          remedy: stat.source === 'bridge' ? 'check the bridge URL and statServer.bearerToken' : 'check the URL, statServer.apiKey / bearerToken, and that this host can reach the gateway',
        });
      }
      if (opened?.source !== source) await source.stop();
    }
    const scope = context.scope;
    if (opened === undefined || scope === null) {
      checks.push({
        id: 'statserver.statistics',
        group: 'statserver',
        status: 'skip',
        summary: `statistics not opened: ${opened === undefined ? 'no endpoint connected' : 'the scope could not be read'}`,
      });
      return checks;
    }
    checks.push(await openStatistics(context, opened.source, opened.baseUrl, scope));
    return checks;
  } catch (error) {
    checks.push({ id: 'statserver.statistics', group: 'statserver', status: 'fail', summary: `Stat Server: ${describeError(error)}` });
    return checks;
  } finally {
    await Promise.allSettled(sources.map((source) => source.stop()));
  }
}

async function openStatistics(context: DoctorContext, source: StatSource, baseUrl: string, scope: readonly string[]): Promise<Check> {
  const refused = new Set<string>();
  const unsubscribe = source.onObservation((observation) => {
    if (observation.kind === 'unknown' && observation.reason === 'open-failed') refused.add(observation.agentId);
  });
  let observations: AgentObservation[];
  try {
    await source.open(scope);
    observations = await source.peek(scope);
  } finally {
    unsubscribe();
  }
  const byAgent = new Map<string, AgentObservation>();
  for (const observation of observations) {
    const agentId = observation.kind === 'snapshot' ? observation.snapshot.agentId : observation.agentId;
    if (observation.kind === 'unknown' && observation.reason === 'open-failed') refused.add(agentId);
    byAgent.set(agentId, observation);
  }
  context.observations = byAgent;
  const states = new Map<string, number>();
  const unknown = new Map<string, number>();
  for (const agentId of scope) {
    const observation = byAgent.get(agentId);
    if (refused.has(agentId)) continue;
    if (observation?.kind === 'snapshot') states.set(observation.snapshot.state, (states.get(observation.snapshot.state) ?? 0) + 1);
    else {
      const reason = observation?.reason ?? 'no answer';
      unknown.set(reason, (unknown.get(reason) ?? 0) + 1);
    }
  }
  const sorted = (counts: Map<string, number>): string =>
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, count]) => `${name} ${count}`)
      .join(', ');
  const withState = [...states.values()].reduce((sum, count) => sum + count, 0);
  const sampled = context.options.sample !== undefined ? ' (sample)' : '';
  const details = [
    ...(states.size > 0 ? [`states: ${sorted(states)}`] : []),
    ...(unknown.size > 0 ? [`state unknown: ${sorted(unknown)}`] : []),
  ];
  const refusedList = scope.filter((agentId) => refused.has(agentId));
  const messageOf = (agentId: string): string => source.refusal(agentId)?.message ?? 'refused by Stat Server';
  const data = {
    endpoint: baseUrl,
    agents: scope.length,
    withState,
    refused: refusedList.length,
    refusedExamples: refusedList.slice(0, EXAMPLES),
    states: Object.fromEntries(states),
    unknown: Object.fromEntries(unknown),
  };
  if (refusedList.length > 0) {
    return {
      id: 'statserver.statistics',
      group: 'statserver',
      status: 'fail',
      summary: `Stat Server refuses the statistics of ${refusedList.length} of ${plural(scope.length, 'agent')}${sampled}; ${withState} report a state`,
      details: [
        ...refusedList.slice(0, EXAMPLES).map((agentId) => `${agentId}: ${messageOf(agentId)}`),
        ...(refusedList.length > EXAMPLES ? [`… and ${refusedList.length - EXAMPLES} more`] : []),
        ...details,
      ],
      remedy: 'check that these employee ids are agents in the Engage configuration, or take them out of scope',
      data,
    };
  }
  return {
    id: 'statserver.statistics',
    group: 'statserver',
    status: unknown.size > 0 ? 'warn' : 'pass',
    summary: `statistics of ${plural(scope.length, 'agent')}${sampled} opened on ${baseUrl}; ${withState} report a state`,
    details,
    ...(unknown.size > 0 ? { remedy: "agents whose state is unknown are left as they are in GC until Stat Server reports one (see docs/statserver.md)" } : {}),
    data,
  };
}
