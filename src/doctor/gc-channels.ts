/**
 * Drift watching: each client can create a notification channel and subscribe to a synced user's presence and
 * routing status topics (GC answers each topic `Permitted` or `Rejected` with the missing permissions), and
 * the subscriptions can be removed again. GC has no call that deletes a channel: the doctor's channel is left
 * with no topics and no socket, and GC drops it when it expires (24 h). It holds one of the client's channels
 * until then.
 */
import { GcPermissionError, missingPermissionsOf, type GcClient } from '../gc/index.ts';
import type { Check } from './checklist.ts';
import { describeError, type DoctorContext } from './context.ts';
import { NIL_USER_ID } from './gc-access.ts';

async function probeChannel(client: GcClient, userId: string): Promise<{ rejected: Array<{ topic: string; reason: string; missing: string[] }> }> {
  const channel = await client.createChannel();
  const topics = [`v2.users.${userId}.presence`, `v2.users.${userId}.routingStatus`];
  try {
    const answered = await client.subscribe(channel.id, topics, { replace: true });
    const rejected = answered
      .filter((topic) => topic.state === 'Rejected')
      .map((topic) => ({ topic: topic.id, reason: topic.rejectionReason ?? 'rejected', missing: topic.missingPermissions ?? [] }));
    return { rejected };
  } finally {
    // Removed: an empty list replaces the subscriptions.
    await client.subscribe(channel.id, [], { replace: true });
  }
}

export async function checkChannels(context: DoctorContext): Promise<Check[]> {
  if (context.config.drift.policy === 'off') return [];
  const userId = context.users === null ? undefined : [...context.users.values()][0];
  const checks: Check[] = [];
  for (const [index, client] of context.clients.entries()) {
    const name = `client ${index}`;
    try {
      const { rejected } = await probeChannel(client, userId ?? NIL_USER_ID);
      if (rejected.length === 0) {
        checks.push({
          id: `gc.channel.${index}`,
          group: 'gc',
          status: 'pass',
          summary: `${name}: a notification channel can be created, subscribed to a user's presence and routing status, and cleared`,
        });
      } else {
        const missing = [...new Set(rejected.flatMap((topic) => topic.missing))];
        checks.push({
          id: `gc.channel.${index}`,
          group: 'gc',
          status: 'fail',
          summary: `${name}: GC rejects the drift topics: ${rejected.map((topic) => `${topic.topic} (${topic.reason})`).join(', ')}`,
          remedy: missing.length > 0 ? `add ${missing.join(', ')} to a role of the OAuth client` : 'give the OAuth client the rights to view user presence and routing status',
          data: { rejected },
        });
      }
    } catch (error) {
      const missing = error instanceof GcPermissionError ? missingPermissionsOf(error) : [];
      checks.push({
        id: `gc.channel.${index}`,
        group: 'gc',
        status: 'fail',
        summary: `${name}: notification channel: ${describeError(error)}`,
        remedy:
          missing.length > 0
            ? `add ${missing.join(', ')} to a role of the OAuth client`
            : 'a client holds at most 20 channels: another process may hold them all (or set drift.policy: off)',
      });
    }
  }
  return checks;
}
