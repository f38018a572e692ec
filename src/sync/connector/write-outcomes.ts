/**
 * The writer's outcomes, as the connector takes them: an acknowledged write moves the ledger, settles the drift
 * guard's ask and ends the event → GC latency; a failure is kept for the agent view. Both feed GC's health: a run
 * of retryable failures marks GC down, and the next answer after that asks for a `gc-recovered` resync.
 */
import type { Logger } from '../../log.ts';
import type { GcUserState } from '../../vocabulary.ts';
import { sameState } from '../desired-state.ts';
import type { DriftGuard } from '../drift.ts';
import { createGcHealth, type GcHealth } from '../gc-health.ts';
import type { StatePart } from '../drift.ts';
import type { AgentTable } from './agent-table.ts';
import type { GcObservation } from './gc-observation.ts';
import type { Intake } from './intake.ts';
import type { Ledger } from './ledger.ts';

export interface WriteOutcomes {
  readonly gcHealth: GcHealth;
  handleAcknowledged(userId: string, state: GcUserState, version: number): void;
  handleFieldAcknowledged(userId: string, field: StatePart): void;
  handleFailed(userId: string, error: string, retryable: boolean, wholeRequest?: boolean): void;
}

export interface WriteOutcomesOptions {
  readonly table: AgentTable;
  readonly ledger: Ledger;
  readonly intake: Pick<Intake, 'acknowledged'>;
  readonly observation: Pick<GcObservation, 'noteFieldLearned' | 'noteAcknowledged'>;
  readonly drift: Pick<DriftGuard, 'noteSettled'>;
  /** GC answers again after an outage. */
  readonly onRecovered: () => void;
  readonly now: () => number;
  readonly log: Logger;
}

export function createWriteOutcomes(options: WriteOutcomesOptions): WriteOutcomes {
  const { table, ledger, observation, now, log } = options;
  const gcHealth = createGcHealth();

  // Write retries are the writer's (the GC client never retries a write, except once after a 401).
  /** A write GC took (a whole user or one field of one): an outage, if any, is over. */
  const gcAnswered = (): void => {
    if (gcHealth.success()) {
      log.info('GC answers again after an outage; resyncing', { outages: gcHealth.outages });
      options.onRecovered();
    }
  };

  return {
    gcHealth,
    handleFieldAcknowledged(userId, field) {
      observation.noteFieldLearned(userId, field);
      gcAnswered();
    },
    handleAcknowledged(userId, state, version) {
      const before = ledger.get(userId);
      ledger.set(userId, state, version);
      const slot = table.slotOfUser(userId);
      const at = now();
      observation.noteAcknowledged(userId, before, state, at);
      if (slot !== undefined) {
        table.acknowledgedAt[slot] = at;
        table.lastError[slot] = null;
        if (sameState(table.desired[slot] ?? undefined, state)) options.drift.noteSettled(userId);
      }
      options.intake.acknowledged(userId, version, at);
      gcAnswered();
    },
    handleFailed(userId, error, retryable, wholeRequest = false) {
      const slot = table.slotOfUser(userId);
      const agentId = slot === undefined ? undefined : table.agentId[slot];
      if (slot !== undefined) table.lastError[slot] = { message: error, at: now() };
      const wasDown = gcHealth.down;
      gcHealth.failure(retryable);
      if (!wasDown && gcHealth.down) log.warn('GC looks down: writes keep failing; the writer retries with backoff', { reason: error });
      // A whole request refused (a 403 for a batch of 100 users, say) was logged once by the writer: not once per user.
      if (!retryable && !wholeRequest) log.warn('write failed and will not be retried until the desired state changes', { agentId, userId, reason: error });
    },
  };
}
