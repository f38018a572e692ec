/**
 * The streaming start-up resync: the connector's hook for resync at the request floor, whose policy lives in
 * src/sync/cold-resync.ts. The same steps as the orchestrator's `startUp`, page by page: each identity page
 * assigns its agents' users (and seeds their stored entries), seeds what the page showed as read, and decides
 * those agents, so the writer sends while the next pages are read. The drift watch is set up once the writes are
 * out, then a gap check reads every page once more and judges each user as a notification would.
 *
 * While it streams, intake pushes (its users' pages are seeded as read) and the notification listeners are not
 * told of new users (the channels would take budget slots before the injects).
 */
import type { Logger } from '../../log.ts';
import type { LeaseView } from '../../ha/types.ts';
import { afterColdStart, streamColdStart, type PagedIdentityLookup } from '../cold-resync.ts';
import type { ResyncProgress } from '../resync.ts';
import type { AgentTable } from './agent-table.ts';
import type { GcObservation, GcStateReader } from './gc-observation.ts';
import type { Intake } from './intake.ts';
import type { Ledger } from './ledger.ts';
import { describe, StoppedError, type RunControl } from './run-control.ts';
import type { ScopeIdentity } from './scope-identity.ts';

export interface StreamingStartSteps {
  readonly table: AgentTable;
  readonly ledger: Pick<Ledger, 'loadStored' | 'seedStored'>;
  readonly intake: Pick<Intake, 'apply'>;
  readonly observation: Pick<GcObservation, 'seedRead' | 'during' | 'canCheckByPages' | 'checkByPages'>;
  readonly scope: Pick<ScopeIdentity, 'openAndPeek' | 'assignUsers' | 'holdUserNotices' | 'notifyUsers'>;
  readonly run: RunControl;
  /** By-id reads for users a page listed without state. */
  readonly gcState?: GcStateReader | undefined;
  /** Resolves once the drift watch is in place (awaited after the writes). */
  readonly watchBeforeRead: (() => Promise<void>) | undefined;
  /** Called once the gap check has read every user (or failed, or there is none). */
  readonly onStartChecked?: (() => void) | undefined;
  readonly lease?: (() => LeaseView) | undefined;
  checkResync(): ResyncProgress | undefined;
  /** The stream runs (true) or ended (false). */
  streaming(on: boolean): void;
  /** Identity was resolved once. */
  resolved(): void;
  /** Every page is in: the start-up resync begins as in `startUp` (decide all, track, start the loops). */
  begin(): void;
  readonly now: () => number;
  readonly log: Logger;
}

/** Runs the streaming start-up resync; resolves once the drift watch is set up (the gap check goes on). */
export async function streamingStartUp(paged: PagedIdentityLookup, steps: StreamingStartSteps): Promise<void> {
  const { table, ledger, intake, observation, scope, run, now, log } = steps;
  const isStandby = (): boolean => steps.lease?.().role === 'standby';
  steps.streaming(true);
  scope.holdUserNotices(true);
  const stored = await ledger.loadStored();
  let seeded = 0;
  const statSide = run.retrying('opening statistics', () => scope.openAndPeek([...table.agentIds()]));
  const gcSide = run
    .retrying('resolving GC users', () =>
      observation.during(() =>
        streamColdStart(
          {
            agentIds: [...table.agentIds()],
            identity: paged,
            assign: (resolved) => {
              for (const userId of scope.assignUsers(resolved, 'resync')) {
                const entry = stored?.get(userId);
                if (entry !== undefined && ledger.seedStored(userId, entry)) seeded += 1;
              }
            },
            seed: (readAt, states) => void observation.seedRead(readAt, states),
            apply: (userIds) => {
              for (const userId of userIds) {
                const slot = table.slotOfUser(userId);
                if (slot !== undefined) intake.apply(slot, 'resync');
              }
            },
            ...(steps.gcState === undefined ? {} : { byId: steps.gcState }),
            now,
          },
          run.signal,
        ),
      ),
    )
    .then(({ resolved, pages, readById }) => {
      steps.resolved();
      const missing = [...table.agentIds()].filter((agentId) => !resolved.has(agentId));
      if (missing.length > 0) log.warn('agents without a GC user; not synced until one appears', { count: missing.length, sample: missing.slice(0, 10) });
      log.info('GC users and state read from identity pages; writes began with the first page', { users: table.userCount, pages, readById, fromStore: seeded });
    });
  try {
    await Promise.all([statSide, gcSide]);
  } finally {
    steps.streaming(false);
    scope.holdUserNotices(false);
  }
  steps.begin();
  await afterColdStart({
    // A standby's writes wait behind the closed gate: nothing to wait for, no drift of its own to watch.
    settled: () => isStandby() || steps.checkResync()?.done !== false,
    progress: () => steps.checkResync()?.settled ?? Number.NaN,
    wait: (ms) => run.wait(ms),
    now,
    watch: async () => {
      scope.notifyUsers();
      try {
        await steps.watchBeforeRead?.();
      } catch (error) {
        log.warn('drift watch not in place after the start-up writes', { reason: describe(error) });
      }
    },
    recheck: () => {
      if (!observation.canCheckByPages || run.stopped || isStandby()) return steps.onStartChecked?.();
      void observation
        .checkByPages()
        .catch((error: unknown) => {
          if (!(error instanceof StoppedError)) log.warn('gap check of GC state after the start-up resync failed', { reason: describe(error) });
        })
        .finally(() => steps.onStartChecked?.());
    },
  });
}
