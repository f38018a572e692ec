/**
 * Readers for the envelopes around statistic values: Statistics API v3 update / response items and the
 * service-state message, and PSDK-shaped `EventInfo` JSON from a bridge. Pure; never throw.
 */
import { field, toEpochMs, type NormalizerOptions } from './normalize.ts';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** One statistic value as the Statistics API delivers it (update, subscription response or peek). */
export interface StatisticItem {
  readonly subscriptionId: string | null;
  readonly statisticId: string;
  readonly objectId: string | null;
  /** Epoch ms (the item's `timestamp`, else the tree's `time`, else `fallbackNow`). */
  readonly at: number;
  readonly value: unknown;
  /**
   * Stat Server reported the statistic invalid. Not documented for the Statistics API; EXAS reads an item
   * whose `value` is null/absent, or that carries `valid: false` or `state: "Invalid"`, as invalid.
   */
  readonly invalid: boolean;
}

/**
 * The statistic items of a `/statistics/v3/updates` message or a `StatisticDataResponse`: `{statistics}` or
 * `{data: {statistics}}` (the official clients accept both). Items without a `statisticId` are skipped and
 * counted by the caller through `skipped`.
 */
export function readStatisticItems(
  message: unknown,
  unit: NormalizerOptions['timestampUnit'],
  fallbackNow: number,
): { items: StatisticItem[]; skipped: number } {
  const body = isObject(message) && isObject(message['data']) && !Array.isArray(message['statistics']) ? message['data'] : message;
  const list = isObject(body) ? body['statistics'] : undefined;
  if (!Array.isArray(list)) return { items: [], skipped: message === undefined ? 0 : 1 };
  const items: StatisticItem[] = [];
  let skipped = 0;
  for (const raw of list) {
    if (!isObject(raw) || typeof raw['statisticId'] !== 'string') {
      skipped += 1;
      continue;
    }
    const value = raw['value'];
    const timestamp = raw['timestamp'];
    const treeTime = isObject(value) ? field(value, 'time') : undefined;
    const at =
      typeof timestamp === 'number' && Number.isFinite(timestamp)
        ? toEpochMs(timestamp, unit)
        : typeof treeTime === 'number' && Number.isFinite(treeTime)
          ? toEpochMs(treeTime, 's')
          : fallbackNow;
    const invalid = value === null || value === undefined || raw['valid'] === false || raw['state'] === 'Invalid';
    items.push({
      subscriptionId: typeof raw['subscriptionId'] === 'string' ? raw['subscriptionId'] : null,
      statisticId: raw['statisticId'],
      objectId: typeof raw['objectId'] === 'string' ? raw['objectId'] : null,
      at,
      value,
      invalid,
    });
  }
  return { items, skipped };
}

/** `serviceState` of a `/statistics/v3/service` message (direct or wrapped in `data`), or null. */
export function readServiceState(message: unknown): 'Available' | 'Unavailable' | 'Unknown' | null {
  const body = isObject(message) && isObject(message['data']) ? message['data'] : message;
  if (!isObject(body)) return null;
  const state = body['serviceState'];
  return state === 'Available' || state === 'Unavailable' || state === 'Unknown' ? state : null;
}

/** `status.code` of a Statistics API response (0 is OK), or null when absent. */
export function readStatusCode(response: unknown): number | null {
  if (!isObject(response) || !isObject(response['status'])) return null;
  const code = response['status']['code'];
  return typeof code === 'number' ? code : null;
}
