/**
 * The resync orchestrator: when and how every in-scope user is driven to its mapped state again, and the
 * start-up sequence that leads to the first resync.
 *
 * Reasons and what each does before deciding every agent again (the writer sends only what differs):
 * - `start`: after scope, statistics and identity (and the store) are in; waits for the drift watch to be in
 *   place, then reads GC in bulk (a standby too: a takeover soon after then sends only changes).
 * - `statserver-reconnect`: re-peeks every agent (a reconnect or backup switch may have missed events).
 * - `gc-recovered`: GC answers again after an outage: reads GC in bulk (what changed there meanwhile).
 * - `failover` (HA takeover): what was decided before the previous leader stopped is taken as written, then GC
 *   is read in bulk (retried until it succeeds) to correct the rest.
 * - rules reload: not a tracked resync; every agent is decided again with the new rules.
 * - `scope-change`: new users are tracked (they were decided as they were resolved).
 *
 * With identity pages that carry GC state (`pagedIdentity`), the start-up resync streams instead
 * (src/sync/cold-resync.ts): writes begin with the first page, the drift watch is set up after the writes, then a
 * gap check reads every page once more (streaming-start.ts).
 */
import type { Logger } from '../../log.ts';
import type { LeaseView } from '../../ha/types.ts';
import type { PagedIdentityLookup } from '../cold-resync.ts';
import type { ConnectionEvent, StatSource } from '../../statserver/stat-source.ts';
import { sameState } from '../desired-state.ts';
import { createResyncTracker, type ResyncProgress, type ResyncReason, type ResyncTracker } from '../resync.ts';
import type { RulesHolder } from '../rules-holder.ts';
import type { Writer } from '../writer/index.ts';
import { timeAt, type AgentTable } from './agent-table.ts';
import type { GcObservation, GcStateReader } from './gc-observation.ts';
import type { Intake } from './intake.ts';
import type { Ledger } from './ledger.ts';
import { describe, StoppedError, type RunControl } from './run-control.ts';
import type { ScopeIdentity } from './scope-identity.ts';
import { streamingStartUp } from './streaming-start.ts';

export interface ResyncOrchestrator {
  readonly tracker: ResyncTracker;
  /** Whether identity was resolved once (readiness uses it when GC set-up is not reported otherwise). */
  readonly identityResolvedOnce: boolean;
  /** Whether the start-up resync began (intake pushes nothing before). */
  readonly initialResyncBegun: boolean;
  /** Whether the streaming start-up resync runs (intake pushes: its users' pages are seeded as read). */
  readonly streaming: boolean;
  /** Subscribes to the source and the rules, starts the progress loop. */
  attach(): Array<() => void>;
  /** The start-up sequence: scope, statistics and identity (each retried), the store, the first resync, loops. */
  startUp(): Promise<void>;
  resync(reason: ResyncReason, assumeWrittenBefore?: number): Promise<void>;
  /** `resync`, logging a failure instead of throwing. */
  resyncSafely(reason: ResyncReason, assumeWrittenBefore?: number): Promise<void>;
  /** HA: this instance took the lease. */
  takeOver(assumeWrittenBefore: number): void;
  /** New users entered scope: tracked as a `scope-change` resync unless one runs. */
  scopeEntered(userIds: readonly string[]): void;
  checkResync(): ResyncProgress | undefined;
}

export interface ResyncOrchestratorOptions {
  readonly table: AgentTable;
  readonly ledger: Ledger;
  readonly intake: Pick<Intake, 'apply' | 'applyAll' | 'onObservation' | 'forgetLatency'>;
  readonly observation: Pick<GcObservation, 'seedFromGc' | 'seedRead' | 'during' | 'canCheckByPages' | 'checkByPages'>;
  readonly scope: ScopeIdentity;
  readonly writer: Pick<Writer, 'get' | 'stats' | 'seedAcknowledged' | 'retryFailed'>;
  readonly rules: Pick<RulesHolder, 'onChange'>;
  readonly source: StatSource;
  readonly run: RunControl;
  /** Whether GC can be read in bulk (logs say how many users differed only then). */
  readonly canReadGc: boolean;
  readonly watchBeforeRead: (() => Promise<void>) | undefined;
  /** Identity pages that carry GC state: the start-up resync streams (see the header). */
  readonly pagedIdentity?: PagedIdentityLookup | undefined;
  /** By-id reads for users a page listed without state (the connector's bulk reader). */
  readonly gcState?: GcStateReader | undefined;
  /** Called once the streaming start's gap check has read every user (or failed, or there is none). */
  readonly onStartChecked?: (() => void) | undefined;
  readonly lease?: (() => LeaseView) | undefined;
  readonly progressIntervalMs: number;
  readonly now: () => number;
  readonly log: Logger;
}

const PROGRESS_LOG_MS = 5_000;

export function createResyncOrchestrator(options: ResyncOrchestratorOptions): ResyncOrchestrator {
  const { table, ledger, intake, observation, writer, source, run, now, log } = options;
  const tracker = createResyncTracker((userId) => {
    const view = writer.get(userId);
    return view !== undefined && !view.failed && (view.pendingSince !== undefined || view.inFlight);
  }, now);
  let identityResolvedOnce = false;
  let initialResyncBegun = false;
  let streaming = false;

  const inScopeUsers = (): string[] => [...table.userIds()];

  const { checkResync, beginResync } = createResyncLog(tracker, writer, now, log);

  /** The bulk read of `start` and `gc-recovered`: a failure is logged and the acknowledged states are trusted. */
  const readGc = async (reason: ResyncReason): Promise<void> => {
    try {
      const differing = await observation.seedFromGc(inScopeUsers());
      if (options.canReadGc) log.info('GC state read in bulk', { reason, users: table.userCount, differing });
    } catch (error) {
      log.warn('bulk read of GC state failed; trusting the acknowledged states', { reason: describe(error) });
    }
  };

  const resync = async (reason: ResyncReason, assumeWrittenBefore?: number): Promise<void> => {
    if (reason === 'failover') await takeOverFirst(options, assumeWrittenBefore);
    if (reason === 'statserver-reconnect') {
      // The source also re-peeks on reconnect; reading here makes the resync's start point explicit.
      const observations = await source.peek();
      for (const observed of observations) intake.onObservation(observed);
    }
    if (reason === 'start' && options.watchBeforeRead !== undefined) {
      try {
        await options.watchBeforeRead();
      } catch (error) {
        log.warn('drift watch not in place before the start-up read of GC state; reading anyway', { reason: describe(error) });
      }
    }
    // A standby reads too: what GC holds at its start seeds its writer, so a takeover soon after sends only changes.
    if (reason === 'gc-recovered' || reason === 'start') await readGc(reason);
    intake.applyAll('resync');
    // Users parked by a permanent failure (e.g. a presence missing from the catalog) get another try.
    if (reason !== 'statserver-reconnect') writer.retryFailed();
    beginResync(reason, inScopeUsers());
  };

  const resyncSafely = async (reason: ResyncReason, assumeWrittenBefore?: number): Promise<void> => {
    try {
      await resync(reason, assumeWrittenBefore);
    } catch (error) {
      if (!(error instanceof StoppedError)) log.warn('resync failed', { reason, error: describe(error) });
    }
  };

  const onConnection = (event: ConnectionEvent): void => {
    if (run.stopped) return;
    if (event.state === 'disconnected') {
      log.warn('Stat Server disconnected; states are stale until reconnect', { endpoint: event.endpoint, reason: event.error });
      return;
    }
    log.info('Stat Server connected', { endpoint: event.endpoint });
    // The first connect is covered by the start-up resync; later ones (reconnect, backup switch) resync.
    if (initialResyncBegun) void resyncSafely('statserver-reconnect');
  };

  const progressLoop = (): void => {
    if (options.progressIntervalMs <= 0) return;
    run.schedule(options.progressIntervalMs, () => {
      if (tracker.inProgress) checkResync();
      progressLoop();
    });
  };

  const scopeEntered = (userIds: readonly string[]): void => {
    if (userIds.length > 0 && !tracker.inProgress) beginResync('scope-change', userIds);
  };

  return {
    tracker,
    get identityResolvedOnce() {
      return identityResolvedOnce;
    },
    get initialResyncBegun() {
      return initialResyncBegun;
    },
    get streaming() {
      return streaming;
    },
    attach() {
      const offs = [
        source.onObservation(intake.onObservation),
        source.onConnection(onConnection),
        options.rules.onChange(() => {
          // A good file: recompute every agent's desired state; the writer sends only what changed.
          if (!identityResolvedOnce) return;
          intake.applyAll('reload');
          log.info('rules applied to every agent', { agents: table.size, writerPending: writer.stats().pendingUsers });
        }),
      ];
      progressLoop();
      return offs;
    },
    async startUp() {
      const scope = options.scope;
      await scope.readScope();
      if (options.pagedIdentity !== undefined) {
        return streamingStartUp(options.pagedIdentity, {
          ...options,
          checkResync,
          streaming: (on) => void (streaming = on),
          resolved: () => void (identityResolvedOnce = true),
          begin() {
            initialResyncBegun = true;
            intake.applyAll('resync');
            writer.retryFailed();
            beginResync('start', inScopeUsers());
            scope.startLoops(scopeEntered);
          },
        });
      }
      // Stat Server and GC are independent: a down GC must not keep statistics closed, nor the reverse.
      const statSide = run.retrying('opening statistics', () => scope.openAndPeek([...table.agentIds()]));
      const gcSide = run.retrying('resolving GC users', () => scope.resolveIdentities([...table.agentIds()], 'resync')).then(async () => {
        identityResolvedOnce = true;
        await ledger.seedFromStore();
      });
      await Promise.all([statSide, gcSide]);
      initialResyncBegun = true;
      await resync('start');
      scope.startLoops(scopeEntered);
    },
    resync,
    resyncSafely,
    takeOver(assumeWrittenBefore) {
      if (!initialResyncBegun || run.stopped) return;
      void resyncSafely('failover', assumeWrittenBefore);
    },
    scopeEntered,
    checkResync,
  };
}

/**
 * The first steps of a takeover: what the standby decided before the previous leader may have stopped is taken
 * as written, then GC is read in bulk (retried until it succeeds) so the writer sends only the differences.
 */
async function takeOverFirst(options: ResyncOrchestratorOptions, assumeWrittenBefore: number | undefined): Promise<void> {
  const { table, writer, observation, run, log } = options;
  const assumed = assumeWrittenBefore === undefined ? 0 : assumeWritten(options, assumeWrittenBefore);
  log.info('taking over: changes since the previous leader may have stopped are written first', {
    reason: 'failover',
    assumedWritten: assumed,
    owed: writer.stats().pendingUsers,
    ...(assumeWrittenBefore === undefined ? {} : { changedSince: new Date(assumeWrittenBefore).toISOString() }),
  });
  // What was taken as written must be checked: the read is retried until it succeeds.
  const differing = await run.retrying('bulk read of GC state after takeover', () => observation.seedFromGc([...table.userIds()]));
  if (options.canReadGc) log.info('GC state read in bulk', { reason: 'failover', users: table.userCount, differing });
}

/**
 * A takeover: the standby decided the same states as the leader, which wrote them; taking them as acknowledged
 * leaves owed only what changed since the leader may have stopped (and the bulk read then corrects the rest).
 * Returns how many users were taken as written.
 */
function assumeWritten({ table, ledger, writer, intake }: Pick<ResyncOrchestratorOptions, 'table' | 'ledger' | 'writer' | 'intake'>, before: number): number {
  let assumed = 0;
  for (const slot of table.slots()) {
    const userId = table.userId[slot] ?? null;
    const desired = table.desired[slot] ?? null;
    if (userId === null || desired === null) continue;
    // When the agent's Engage state began (Stat Server's time), else when this instance decided it: a standby
    // started moments ago decided everything recently, but the leader had most of those states long before.
    const changedAt = table.snapshot[slot]?.at ?? timeAt(table.desiredAt, slot);
    if (changedAt === undefined || changedAt >= before) continue;
    if (sameState(ledger.get(userId), desired)) continue;
    ledger.set(userId, desired);
    writer.seedAcknowledged(userId, desired);
    intake.forgetLatency(userId);
    assumed += 1;
  }
  return assumed;
}

/** Starts tracked resyncs and logs their progress (every 5 s at most) and end. */
function createResyncLog(
  tracker: ResyncTracker,
  writer: Pick<Writer, 'stats'>,
  now: () => number,
  log: Logger,
): { checkResync(): ResyncProgress | undefined; beginResync(reason: ResyncReason, userIds: readonly string[]): void } {
  let lastProgressLog = 0;
  const checkResync = (): ResyncProgress | undefined => {
    const progress = tracker.check();
    if (progress === undefined) return undefined;
    const at = now();
    if (progress.done) {
      log.info('resync done', { reason: progress.reason, users: progress.total, durationMs: at - progress.startedAt });
    } else if (at - lastProgressLog >= PROGRESS_LOG_MS) {
      lastProgressLog = at;
      log.info('resync progress', { reason: progress.reason, settled: progress.settled, users: progress.total, ratio: round(progress.ratio) });
    }
    return progress;
  };
  return {
    checkResync,
    beginResync(reason, userIds) {
      tracker.begin(reason, userIds);
      lastProgressLog = now();
      log.info('resync started', { reason, users: userIds.length, writerPending: writer.stats().pendingUsers });
      checkResync();
    },
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
