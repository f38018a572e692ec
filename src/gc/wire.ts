/**
 * Conversion between DESIGN.md's vocabulary and GC's wire spellings, in one place. GC spells the same thing
 * differently per endpoint: routing status is `OffQueue` in the inject events but `OFF_QUEUE` in
 * `/routingstatus` and notifications; system presence is `OnQueue` in presence definitions, `On Queue` or
 * `ON_QUEUE` elsewhere.
 */
import { ROUTING_STATUSES, SYSTEM_PRESENCES, type RoutingStatus, type SystemPresence } from '../vocabulary.ts';

/** A routing status as read from GC: EXAS's vocabulary plus `NotResponding`, which GC sets and EXAS never does. */
export type ObservedRoutingStatus = RoutingStatus | 'NotResponding';

/** REST / notification spelling (`RoutingStatus.status`). */
export type RestRoutingStatus = 'OFF_QUEUE' | 'IDLE' | 'INTERACTING' | 'NOT_RESPONDING' | 'COMMUNICATING';

const TO_REST: Record<ObservedRoutingStatus, RestRoutingStatus> = {
  OffQueue: 'OFF_QUEUE',
  Idle: 'IDLE',
  Interacting: 'INTERACTING',
  Communicating: 'COMMUNICATING',
  NotResponding: 'NOT_RESPONDING',
};
const FROM_REST = new Map<string, ObservedRoutingStatus>(
  Object.entries(TO_REST).map(([name, rest]) => [rest, name as ObservedRoutingStatus]),
);

/** `Idle` → `IDLE` (for `PUT /api/v2/users/{userId}/routingstatus`). */
export function toRestRoutingStatus(status: ObservedRoutingStatus): RestRoutingStatus {
  return TO_REST[status];
}

/** `IDLE` (or the inject spelling `Idle`) → `Idle`; undefined for anything else. */
export function fromWireRoutingStatus(value: unknown): ObservedRoutingStatus | undefined {
  if (typeof value !== 'string') return undefined;
  const rest = FROM_REST.get(value);
  if (rest !== undefined) return rest;
  return value === 'NotResponding' || (ROUTING_STATUSES as readonly string[]).includes(value)
    ? (value as ObservedRoutingStatus)
    : undefined;
}

/** The inject endpoint's spelling is EXAS's own (`OffQueue`, `Idle`, …); kept as a function so the edge is explicit. */
export function toInjectRoutingStatus(status: RoutingStatus): RoutingStatus {
  return status;
}

const SYSTEM_BY_KEY = new Map<string, SystemPresence>(SYSTEM_PRESENCES.map((name) => [squash(name), name]));

function squash(value: string): string {
  return value.replace(/[\s_-]/g, '').toUpperCase();
}

/** `On Queue`, `ON_QUEUE`, `OnQueue` → `OnQueue`; undefined when it names no system presence. */
export function normalizeSystemPresence(value: unknown): SystemPresence | undefined {
  return typeof value === 'string' ? SYSTEM_BY_KEY.get(squash(value)) : undefined;
}
