/**
 * Resync at the request floor (issue 17 part 3): GC state is read from the identity listing pages themselves
 * (`GET /api/v2/users?expand=presence&expand=routingStatus`, 500 users a request) instead of identity pages and
 * then reads by id (100 users a request), and writing starts with the first page instead of after the last read.
 *
 * - `streamColdStart`: the start-up resync as a stream. For each identity page: its agents get their users (the
 *   store's entries for them seeded), what the page showed is seeded as acknowledged, and those agents are
 *   decided and handed to the writer, which sends while the next pages are read. GC fills expansions best effort
 *   only (its SDK says so): users listed without them are read by id, 100 a request, and only those.
 * - `readAllByPages`: one pass over every listing page with state, for the GC-recovery and takeover reads and the
 *   gap check below; synced users no page showed with state are read by id.
 * - `afterColdStart`: notification channels are set up only once the start-up writes are out (they would
 *   otherwise take budget slots before the injects), and then the listing is read once more to close the gap.
 *
 * Why the gap check: a user's state was read from its page before its topics were subscribed, so a change made
 * in GC by someone else in between sent EXAS no notification, and nothing would look at that user again (a
 * watched user has no periodic read). Subscribing before reading cannot work on a cold start (the topics name
 * user ids, which the pages bring), and paying 2 calls a channel before the first write delayed every inject.
 * So: read, write, subscribe, then read the pages once more (N / 500 requests, after the writes, so they delay
 * nothing) and judge each user as a notification would. A change made after a user's page read and before its
 * subscription is then seen by that read; one made after the subscription is notified.
 */
/** What a read says GC shows for a user; parts GC did not give are absent. */
export interface ObservedGcState {
  presence?: string;
  routingStatus?: string;
}

/** Reads users' state by id (the connector's bulk reader), 100 a request. */
export interface ByIdReader {
  read(userIds: readonly string[], signal?: AbortSignal): Promise<Map<string, ObservedGcState>>;
}

/** One listing page's GC state. */
export interface StatePage {
  /** User id → what the page showed, for the users GC expanded. */
  readonly states: ReadonlyMap<string, ObservedGcState>;
  /** Users the page listed without their state (an expansion GC left out): to be read by id. */
  readonly unread: readonly string[];
  /** When the page's request left (epoch ms): what it shows may predate anything EXAS learned after. */
  readonly requestedAt: number;
}

/** An identity listing page: the agents it matched, with their users' state. */
export interface IdentityStatePage extends StatePage {
  /** Agent id → user id of the agents this page matched. */
  readonly resolved: ReadonlyMap<string, string>;
}

/** Identity resolution page by page (`identity.mode: list`); resolves with every match, as `IdentityLookup`. */
export type PagedIdentityLookup = (agentIds: readonly string[], onPage: (page: IdentityStatePage) => void, signal?: AbortSignal) => Promise<Map<string, string>>;

/** Every GC user's state, listed in pages; `keep` limits a page to the users EXAS syncs. */
export type PagedStateReader = (onPage: (page: StatePage) => void, keep: (userId: string) => boolean, signal?: AbortSignal) => Promise<void>;

/** What the streaming start needs of the connector. */
export interface ColdStartSteps {
  readonly agentIds: readonly string[];
  readonly identity: PagedIdentityLookup;
  /** Gives the page's agents their users (listeners are told later) and seeds the store's entries for them. */
  assign(resolved: ReadonlyMap<string, string>): void;
  /** Seeds what a read showed as acknowledged (`requestedAt`: when the read left). */
  seed(requestedAt: number, states: ReadonlyMap<string, ObservedGcState>): void;
  /** Decides the agents of these users and hands the result to the writer. */
  apply(userIds: readonly string[]): void;
  /** Reads users by id (the fallback for users listed without state); absent: they are decided unread. */
  readonly byId?: ByIdReader;
  readonly now: () => number;
}

export interface ColdStartResult {
  readonly resolved: Map<string, string>;
  readonly pages: number;
  /** Users read by id because their page came without their state. */
  readonly readById: number;
}

/**
 * The start-up resync as a stream: identity page → users assigned → state seeded → agents decided and written,
 * while the next page is read. Resolves once every page and every fallback read is done.
 */
export async function streamColdStart(steps: ColdStartSteps, signal?: AbortSignal): Promise<ColdStartResult> {
  let pages = 0;
  let readById = 0;
  const fallbacks: Array<Promise<void>> = [];
  const fallback = (userIds: readonly string[]): void => {
    if (userIds.length === 0) return;
    readById += userIds.length;
    const read = steps.byId;
    if (read === undefined) {
      steps.apply(userIds);
      return;
    }
    const requestedAt = steps.now();
    // Not awaited here: the next identity page goes on meanwhile (both wait for budget slots in turn).
    const done = read.read(userIds, signal).then((states) => {
      steps.seed(requestedAt, states);
      steps.apply(userIds);
    });
    // Awaited below; if the pages fail first, a failed read must not become an unhandled rejection.
    done.catch(() => undefined);
    fallbacks.push(done);
  };
  const resolved = await steps.identity(
    steps.agentIds,
    (page) => {
      pages += 1;
      steps.assign(page.resolved);
      steps.seed(page.requestedAt, page.states);
      steps.apply([...page.states.keys()]);
      fallback(page.unread);
    },
    signal,
  );
  await Promise.all(fallbacks);
  return { resolved, pages, readById };
}

/**
 * Reads every listing page with state and hands each to `take`; synced users no page showed with state (left
 * out of an expansion, or not listed) are read by id and handed over too. About N / 500 requests for N users
 * where GC fills the expansions, instead of N / 100.
 */
export async function readAllByPages(
  pages: PagedStateReader,
  synced: () => readonly string[],
  byId: ByIdReader | undefined,
  take: (requestedAt: number, states: ReadonlyMap<string, ObservedGcState>) => void,
  now: () => number,
  signal?: AbortSignal,
): Promise<{ readById: number }> {
  const seen = new Set<string>();
  const users = new Set(synced());
  await pages(
    (page) => {
      for (const userId of page.states.keys()) seen.add(userId);
      take(page.requestedAt, page.states);
    },
    (userId) => users.has(userId),
    signal,
  );
  const rest = synced().filter((userId) => !seen.has(userId));
  if (rest.length > 0 && byId !== undefined) {
    const requestedAt = now();
    take(requestedAt, await byId.read(rest, signal));
  }
  return { readById: rest.length };
}

/** What the steps after the streaming start need. */
export interface AfterColdStartSteps {
  /** Whether the start-up resync's writes are all out (no user still owed). */
  settled(): boolean;
  /** Settled users so far (progress: waiting stops when it stalls). */
  progress(): number;
  /** Waits `ms` (rejects when the connector stops). */
  wait(ms: number): Promise<void>;
  /** Tells the notification watcher the synced users and resolves once their channels are up (or gave up). */
  watch(): Promise<void>;
  /** Reads every synced user once more and judges drift on it (the gap check); in the background. */
  recheck(): void;
  /** How long the writes may go without progress before the watch is set up anyway (default 30 s). */
  readonly stallMs?: number;
  readonly now?: () => number;
}

/**
 * After the streaming start: wait until its writes are out (or stop progressing: GC down must not keep drift
 * unwatched for long), then set up the notification channels, then start the gap check (see the header).
 */
export async function afterColdStart(steps: AfterColdStartSteps): Promise<void> {
  const stallMs = steps.stallMs ?? 30_000;
  const now = steps.now ?? Date.now;
  let last = steps.progress();
  let lastMoved = now();
  while (!steps.settled()) {
    await steps.wait(1_000);
    const progress = steps.progress();
    if (progress !== last) {
      last = progress;
      lastMoved = now();
    } else if (now() - lastMoved >= stallMs) break;
  }
  await steps.watch();
  steps.recheck();
}
