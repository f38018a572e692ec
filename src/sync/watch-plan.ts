/**
 * Which GC notification channel watches which synced user, within GC's limits: 20 channels per client and
 * 1,000 topics per channel, two topics per user (`v2.users.{id}.presence` and `.routingStatus`). Users that no
 * channel can hold are checked by periodic bulk reads instead. Pure: the same users and limits give the same plan,
 * and a user keeps its place while it stays in scope (so a scope change resubscribes few channels).
 */

export interface WatchLimits {
  readonly clients: number;
  readonly channelsPerClient: number;
  readonly topicsPerChannel: number;
}

export interface ChannelAssignment {
  readonly client: number;
  readonly channel: number;
  readonly userIds: readonly string[];
}

export interface WatchPlan {
  readonly channels: readonly ChannelAssignment[];
  /** Users beyond every channel's capacity: checked by bulk reads. */
  readonly bulkRead: readonly string[];
}

/** GC notification topics EXAS subscribes to per user. */
export function topicsFor(userId: string): [string, string] {
  return [`v2.users.${userId}.presence`, `v2.users.${userId}.routingStatus`];
}

/** The user id a `v2.users.{id}.*` topic is about, and which part; undefined for other topics. */
export function parseUserTopic(topicName: string): { userId: string; part: 'presence' | 'routingStatus' } | undefined {
  const match = /^v2\.users\.([^.]+)\.(presence|routingStatus)$/.exec(topicName);
  if (match === null) return undefined;
  return { userId: match[1] as string, part: match[2] as 'presence' | 'routingStatus' };
}

/**
 * Places users on channels: previously placed users stay where they were (when that channel still exists),
 * new users fill the emptiest channel of the least-loaded client, and the rest go to bulk reads.
 */
export function planWatch(userIds: ReadonlyArray<string>, limits: WatchLimits, previous?: WatchPlan): WatchPlan {
  const usersPerChannel = Math.floor(limits.topicsPerChannel / 2);
  const slots: Array<{ client: number; channel: number; userIds: string[] }> = [];
  for (let client = 0; client < limits.clients; client += 1) {
    for (let channel = 0; channel < limits.channelsPerClient; channel += 1) slots.push({ client, channel, userIds: [] });
  }
  const wanted = new Set(userIds);
  const placed = new Set<string>();
  if (previous !== undefined) {
    for (const assignment of previous.channels) {
      const slot = slots.find((s) => s.client === assignment.client && s.channel === assignment.channel);
      if (slot === undefined) continue;
      for (const userId of assignment.userIds) {
        if (wanted.has(userId) && !placed.has(userId) && slot.userIds.length < usersPerChannel) {
          slot.userIds.push(userId);
          placed.add(userId);
        }
      }
    }
  }
  const bulkRead: string[] = [];
  for (const userId of wanted) {
    if (placed.has(userId)) continue;
    // Fill channels in order so few channels are opened for a small org; spread across clients round-robin.
    const slot = pickSlot(slots, usersPerChannel, limits.clients);
    if (slot === undefined) bulkRead.push(userId);
    else slot.userIds.push(userId);
    placed.add(userId);
  }
  return { channels: slots.filter((slot) => slot.userIds.length > 0), bulkRead };
}

function pickSlot(
  slots: Array<{ client: number; channel: number; userIds: string[] }>,
  usersPerChannel: number,
  clients: number,
): { client: number; channel: number; userIds: string[] } | undefined {
  // A partly filled channel first (fewest channels open); among clients, the one with the fewest users.
  let best: { client: number; channel: number; userIds: string[] } | undefined;
  const load = new Array<number>(clients).fill(0);
  for (const slot of slots) load[slot.client] = (load[slot.client] ?? 0) + slot.userIds.length;
  for (const slot of slots) {
    if (slot.userIds.length >= usersPerChannel) continue;
    if (best === undefined) {
      best = slot;
      continue;
    }
    const slotOpen = slot.userIds.length > 0;
    const bestOpen = best.userIds.length > 0;
    if (slotOpen !== bestOpen) {
      if (slotOpen) best = slot;
      continue;
    }
    if ((load[slot.client] ?? 0) < (load[best.client] ?? 0)) best = slot;
  }
  return best;
}
