/**
 * The bridge protocol (docs/statserver.md "Bridge"): JSON text frames between EXAS and a Platform SDK bridge
 * program next to Stat Server. A frame holds one message or an array of messages. This file reads what the
 * bridge sends (pure, never throws) and builds what EXAS sends.
 */
import { field, toEpochMs, type NormalizerOptions } from './normalize.ts';
import type { StatisticRole } from './agent-table.ts';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A message from the bridge, read. */
export type BridgeMessage =
  | { readonly kind: 'info'; readonly agentId: string; readonly role: StatisticRole; readonly value: unknown; readonly at: number }
  | { readonly kind: 'invalid'; readonly agentId: string; readonly role: StatisticRole; readonly at: number }
  | { readonly kind: 'valid'; readonly agentId: string; readonly role: StatisticRole }
  | { readonly kind: 'snapshot-begin' }
  | { readonly kind: 'snapshot-end' }
  | { readonly kind: 'peek-done'; readonly id: string }
  | { readonly kind: 'disconnected'; readonly reason: string }
  | { readonly kind: 'garbage'; readonly detail: string };

/** Which statistic a bridge message names: `CurrentState`, or `CurrentStateReason` / `CurrentStateReasons`. */
function roleOf(statistic: unknown): StatisticRole | undefined {
  if (statistic === 'CurrentState') return 'currentState';
  if (statistic === 'CurrentStateReason' || statistic === 'CurrentStateReasons') return 'reasons';
  return undefined;
}

/** Reads one frame (text) into messages; malformed parts come back as `garbage` entries. */
export function readBridgeMessages(frame: string, unit: NormalizerOptions['timestampUnit'], now: number): BridgeMessage[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(frame);
  } catch {
    return [{ kind: 'garbage', detail: 'frame is not JSON' }];
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return list.map((raw) => readOne(raw, unit, now));
}

function readOne(raw: unknown, unit: NormalizerOptions['timestampUnit'], now: number): BridgeMessage {
  if (!isObject(raw)) return { kind: 'garbage', detail: 'message is not an object' };
  const message = raw['message'];
  switch (message) {
    case 'SnapshotBegin':
      return { kind: 'snapshot-begin' };
    case 'SnapshotEnd':
      return { kind: 'snapshot-end' };
    case 'PeekDone':
      return typeof raw['id'] === 'string' ? { kind: 'peek-done', id: raw['id'] } : { kind: 'garbage', detail: 'PeekDone without id' };
    case 'Disconnected':
      return { kind: 'disconnected', reason: typeof raw['reason'] === 'string' ? raw['reason'] : 'bridge lost Stat Server' };
    case 'EventInfo':
    case 'EventStatisticInvalid':
    case 'EventStatisticValid': {
      const role = roleOf(raw['Statistic']);
      if (role === undefined) return { kind: 'garbage', detail: `${message} without Statistic CurrentState|CurrentStateReason` };
      const stateValue = raw['StateValue'];
      const fromTree = isObject(stateValue) ? field(stateValue, 'agentId') : undefined;
      const agentId = typeof raw['ObjectId'] === 'string' ? raw['ObjectId'] : typeof fromTree === 'string' ? fromTree : undefined;
      if (agentId === undefined || agentId === '') return { kind: 'garbage', detail: `${message} without ObjectId` };
      if (message === 'EventStatisticValid') return { kind: 'valid', agentId, role };
      const at = timeOf(raw, stateValue, unit, now);
      if (message === 'EventStatisticInvalid') return { kind: 'invalid', agentId, role, at };
      return { kind: 'info', agentId, role, value: stateValue, at };
    }
    default:
      return { kind: 'garbage', detail: `unknown message ${JSON.stringify(message) ?? 'undefined'}` };
  }
}

function timeOf(raw: Json, stateValue: unknown, unit: NormalizerOptions['timestampUnit'], now: number): number {
  const timestamp = raw['Timestamp'];
  if (typeof timestamp === 'number' && Number.isFinite(timestamp)) return toEpochMs(timestamp, unit);
  const time = isObject(stateValue) ? field(stateValue, 'time') : undefined;
  if (typeof time === 'number' && Number.isFinite(time)) return toEpochMs(time, 's');
  return now;
}

/** Messages EXAS sends to the bridge. */
export type ExasToBridge =
  | { message: 'Scope'; agentIds: string[] }
  | { message: 'Open'; agentIds: string[] }
  | { message: 'Close'; agentIds: string[] }
  | { message: 'Peek'; id: string; agentIds?: string[] };
