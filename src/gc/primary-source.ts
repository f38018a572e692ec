/**
 * Presence injected under EXAS's own source shows in GC only where that source is the user's primary
 * source. This checks each synced user (`GET /api/v2/presence/users/{userId}/primarysource`) and, when asked,
 * makes EXAS's source primary (`PUT` the same path). Both draw on the client's budget: one request per user
 * to check, one more per user to fix, so the caller runs it once at startup and again only for new users.
 */
import { createLogger } from '../log.ts';
import type { GcClient } from './client.ts';
import { GcError, isRetryable } from './errors.ts';

export interface PrimarySourceReport {
  checked: number;
  alreadyPrimary: number;
  madePrimary: number;
  /** Users whose primary source is another one and were left so (`fix` off). */
  notPrimary: string[];
  failed: Array<{ userId: string; message: string }>;
}

const log = createLogger('gc.primary-source');

/**
 * Checks (and with `fix`, default true, sets) `sourceId` as the primary presence source of each user.
 * Stops early on a transient error (429, 5xx, network) and reports the rest as failed, for a later retry.
 */
export async function ensurePrimarySource(
  client: GcClient,
  userIds: ReadonlyArray<string>,
  sourceId: string,
  options: { fix?: boolean; signal?: AbortSignal } = {},
): Promise<PrimarySourceReport> {
  const fix = options.fix ?? true;
  const report: PrimarySourceReport = { checked: 0, alreadyPrimary: 0, madePrimary: 0, notPrimary: [], failed: [] };
  for (let index = 0; index < userIds.length; index += 1) {
    const userId = userIds[index] as string;
    try {
      const primary = await client.getPrimarySource(userId, options.signal);
      report.checked += 1;
      if (primary?.sourceId === sourceId) {
        report.alreadyPrimary += 1;
        continue;
      }
      if (!fix) {
        report.notPrimary.push(userId);
        continue;
      }
      await client.setPrimarySource(userId, sourceId, options.signal);
      report.madePrimary += 1;
    } catch (error) {
      if (!(error instanceof GcError)) throw error;
      report.failed.push({ userId, message: error.message });
      if (isRetryable(error)) {
        for (const rest of userIds.slice(index + 1)) report.failed.push({ userId: rest, message: `not checked: ${error.message}` });
        break;
      }
    }
  }
  if (report.notPrimary.length > 0) {
    log.warn('EXAS presence source is not primary for some users; their injected presence will not show', { count: report.notPrimary.length });
  }
  return report;
}
