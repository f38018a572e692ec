/**
 * The fault catalogue: each fault starts (and may act again on every tick while it lasts) and ends. A phase of
 * the run applies one fault alone or several combined, with the agent storm running underneath.
 */
import { writeFileSync } from 'node:fs';
import { setGcFaults, switchRules, type ChaosContext } from './context.ts';
import { pick, sample } from './random.ts';

export interface Fault {
  readonly name: string;
  readonly description: string;
  /** GC answers 429 on purpose: the phase is exempt from "no 429 while only EXAS paces" during the fault. */
  readonly emits429?: boolean;
  start(context: ChaosContext): Promise<void>;
  /** Called about every second while the fault lasts. */
  tick?(context: ChaosContext): Promise<void>;
  end(context: ChaosContext): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Drift repairs per user per window EXAS allows (drift.maxReasserts 3 in 300 s): stay at one per user. */
const DRIFT_WINDOW_MS = 300_000;

function drift(context: ChaosContext, users: number): number {
  const now = Date.now();
  const eligible = [...context.userIds.entries()].filter(([, userId]) => now - (context.lastDriftAt.get(userId) ?? -Infinity) > DRIFT_WINDOW_MS);
  let written = 0;
  for (const [, userId] of sample(context.random, eligible, users)) {
    const shown = context.gc.user(userId);
    const presence = pick(context.random, ['Away', 'Meal', 'Training', 'Busy', 'Available'].filter((name) => name !== shown?.presence));
    const routingStatus = pick(context.random, ['OffQueue', 'Idle'].filter((name) => name !== shown?.routingStatus).concat(['OffQueue']));
    const change = context.random() < 0.5 ? { presence } : { presence, routingStatus };
    context.gcHistory.foreign(() => context.gc.setUserState(userId, change));
    context.lastDriftAt.set(userId, now);
    written += 1;
  }
  return written;
}

export const FAULTS: Readonly<Record<string, Fault>> = {
  'gc-503': {
    name: 'gc-503',
    description: 'GC outage: every API and token request answered 503',
    start: async (context) => setGcFaults(context, { outageSeconds: 3600 }),
    end: async (context) => setGcFaults(context, { outageSeconds: undefined }),
  },
  'gc-refused': {
    name: 'gc-refused',
    description: 'GC outage: connection refused (the proxy in front of GC stops listening)',
    start: (context) => context.gcProxy.refuse(),
    end: (context) => context.gcProxy.accept(),
  },
  'gc-timeouts': {
    name: 'gc-timeouts',
    description: 'GC outage: every request takes longer than EXAS\'s gc.timeoutMs',
    start: async (context) => setGcFaults(context, { latencyMs: context.settings.gcTimeoutMs + 1500 }),
    end: async (context) => setGcFaults(context, { latencyMs: undefined }),
  },
  'gc-slow': {
    name: 'gc-slow',
    description: 'slow GC: seconds of latency on every request, below the timeout',
    start: async (context) => setGcFaults(context, { latencyMs: Math.round(context.settings.gcTimeoutMs * 0.6) }),
    end: async (context) => setGcFaults(context, { latencyMs: undefined }),
  },
  '429-storm': {
    name: '429-storm',
    description: '429 storm: every request answered 429 with a long Retry-After',
    emits429: true,
    start: async (context) => setGcFaults(context, { status429Rate: 1, retryAfterSeconds: context.settings.retryAfterSeconds }),
    end: async (context) => setGcFaults(context, { status429Rate: undefined, retryAfterSeconds: undefined }),
  },
  'token-revoked': {
    name: 'token-revoked',
    description: 'token revocation: every issued token dropped (401), notification sockets closed, twice',
    start: async (context) => setGcFaults(context, { revokeTokens: true }),
    tick: async (context) => {
      if (context.random() < 0.3) setGcFaults(context, { revokeTokens: true });
    },
    end: async () => {},
  },
  'stat-drops': {
    name: 'stat-drops',
    description: 'Stat Server drops its clients (repeatedly)',
    start: async (context) => context.statServer.applyFaults({ disconnect: true }),
    tick: async (context) => {
      if (context.random() < 0.5) context.statServer.applyFaults({ disconnect: true });
    },
    end: async () => {},
  },
  'stat-refused': {
    name: 'stat-refused',
    description: 'Stat Server refuses connections (primary and backup)',
    start: async (context) => context.statServer.applyFaults({ refuseSeconds: 3600 }),
    end: async (context) => context.statServer.applyFaults({ refuseSeconds: 0 }),
  },
  'stat-backup-switch': {
    name: 'stat-backup-switch',
    description: 'Stat Server primary down: switch to the backup (primary back at the end)',
    start: async (context) => context.statServer.applyFaults({ primaryDown: true }),
    end: async (context) => context.statServer.applyFaults({ primaryDown: false }),
  },
  'stat-invalid': {
    name: 'stat-invalid',
    description: 'statistics invalid for 10% of agents, then valid again',
    start: async (context) => {
      const agents = sample(context.random, context.engage.agentIds, Math.ceil(context.engage.agentIds.length / 10));
      invalidNow = agents;
      context.statServer.applyFaults({ invalidAgents: agents });
    },
    end: async (context) => {
      context.statServer.applyFaults({ validAgents: invalidNow });
      invalidNow = [];
    },
  },
  'stat-unknown-agents': {
    name: 'stat-unknown-agents',
    description: '5% of agents unknown to Stat Server, statistics reopened (refused batches split); known again at the end',
    start: async (context) => {
      unknownNow = sample(context.random, context.engage.agentIds, Math.ceil(context.engage.agentIds.length / 20));
      context.statServer.applyFaults({ unknownAgents: unknownNow });
      context.statServer.applyFaults({ disconnect: true });
      // Each of them changes now, unseen by EXAS (its statistics went with the drop), so GC shows the change only
      // after EXAS opens them again.
      for (const agentId of unknownNow) {
        const loggedOff = context.engage.current(agentId).state === 'LoggedOff';
        context.engage.set(agentId, loggedOff ? { state: 'Ready', callType: 'None', reason: null } : { state: 'LoggedOff', callType: 'None', reason: null });
      }
    },
    // EXAS opens them at its next slow retry (statServer.refusedRetrySeconds: 10 in the chaos config).
    end: async (context) => {
      context.statServer.applyFaults({ knownAgents: unknownNow });
      unknownNow = [];
    },
  },
  'exas-sigkill': {
    name: 'exas-sigkill',
    description: 'EXAS killed with SIGKILL mid-batch (GC slowed so batches are in flight), restarted',
    start: async (context) => {
      setGcFaults(context, { latencyMs: 700 });
      await sleep(1200);
      await context.exas.kill9();
      setGcFaults(context, { latencyMs: undefined });
    },
    end: async (context) => {
      await context.exas.start();
    },
  },
  'store-corrupt': {
    name: 'store-corrupt',
    description: 'EXAS killed, its store file corrupted, restarted',
    start: async (context) => {
      await context.exas.kill9();
      writeFileSync(context.storePath, '{"version": 1, "entries": [ {"userId": "trunc');
    },
    end: async (context) => {
      await context.exas.start();
    },
  },
  drift: {
    name: 'drift',
    description: 'a foreign writer changes users in GC (drift)',
    start: async (context) => {
      context.timeline.add('drift written', { users: drift(context, 40) });
    },
    tick: async (context) => {
      if (context.random() < 0.5) context.timeline.add('drift written', { users: drift(context, 20) });
    },
    end: async () => {},
  },
  'rules-reload': {
    name: 'rules-reload',
    description: 'the rules file changes mid-storm and EXAS reloads it (SIGHUP)',
    start: async (context) => switchRules(context),
    end: async () => {},
  },
};

let invalidNow: string[] = [];
let unknownNow: string[] = [];
