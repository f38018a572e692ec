/**
 * Engage agent id → GC user id. Stat Server names an agent by its employee id; the matching GC user is found
 * by a configurable key. Cost is O(N / page size) requests, never one per agent:
 * - `list` mode pages through `GET /api/v2/users` in the largest pages GC allows (500) and matches locally
 *   (works for username, email, employee id; GC's user listing does not carry external ids);
 * - `lookup` mode asks per agent (`GET /api/v2/users/externalid/{authority}/{key}`, or user search in groups
 *   of 100 for username / email) and persists the answers in `cachePath`, so each agent is paid for once.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import process from 'node:process';
import { createLogger } from '../log.ts';
import type { GcClient } from './client.ts';
import type { GcUser } from './types.ts';

export type IdentityKey = 'externalId' | 'username' | 'email' | 'employeeId';
export type IdentityMode = 'list' | 'lookup';

export interface IdentityResolverOptions {
  key: IdentityKey;
  /** External id authority for `externalId` (default `engage`; GC compares it case-sensitively). */
  authority?: string;
  /** `list` (default for username/email/employeeId) or `lookup` (default and only choice for externalId). */
  mode?: IdentityMode;
  /** JSON file that keeps lookup answers across restarts. */
  cachePath?: string;
  /** Page size for listing users (default 500, GC's largest). */
  pageSize?: number;
  /**
   * How username / email values are derived from an agent id when matching (default: the agent id itself).
   * e.g. `(id) => \`agent${id}@example.com\``.
   */
  keyOf?: (agentId: string) => string;
  /**
   * More expansions on listing pages handed to `resolve`'s `onPage` (`list` mode), e.g. `['presence',
   * 'routingStatus']`: a page then also says
   * what its users show, so a resync need not read them again by id (GC fills expansions best effort only).
   */
  expand?: readonly string[];
}

/** One listing page's matches (`list` mode), or every lookup answer at once (`lookup` mode; `users` empty). */
export interface IdentityPage {
  /** Agent id → user id of the agents this page matched. */
  readonly resolved: ReadonlyMap<string, string>;
  /** The matched users as GC listed them, with whatever expansions it filled. */
  readonly users: readonly GcUser[];
  /** When the page's request left (epoch ms): what it shows may predate anything learned after. */
  readonly requestedAt: number;
}

export interface IdentityStats {
  /** GC requests this resolver made. */
  requests: number;
  /** Users seen while listing. */
  listedUsers: number;
  /** Answers served from the persisted cache. */
  cacheHits: number;
  /** Agents without a GC user in the last `resolve`. */
  unmatched: number;
}

export interface IdentityResolver {
  /** Maps each agent id that has a GC user; agents without one are left out (see `unmatched()`). */
  resolve(agentIds: ReadonlyArray<string>, signal?: AbortSignal, onPage?: (page: IdentityPage) => void): Promise<Map<string, string>>;
  /** Agent ids the last `resolve` found no user for. */
  unmatched(): string[];
  stats(): IdentityStats;
}

interface CacheFile {
  key: IdentityKey;
  authority: string;
  /** agentId → userId; null when GC said no such user (also worth remembering, until the cache is cleared). */
  users: Record<string, string | null>;
}

const log = createLogger('gc.identity');

/** The value of `key` on a GC user, as listed (`employerInfo` needs `expand=employerInfo`). */
function userKey(user: GcUser, key: IdentityKey): string | undefined {
  switch (key) {
    case 'username':
      return user.username?.toLowerCase();
    case 'email':
      return user.email?.toLowerCase();
    case 'employeeId':
      return typeof user.employerInfo?.employeeId === 'string' ? user.employerInfo.employeeId : undefined;
    default:
      return undefined;
  }
}

/**
 * Creates the identity resolver.
 *
 * @example
 * const identity = createIdentityResolver(client, { key: 'employeeId' });
 * const users = await identity.resolve(['1001', '1002']); // Map { '1001' => '<uuid>', … }
 */
export function createIdentityResolver(client: GcClient, options: IdentityResolverOptions): IdentityResolver {
  const key = options.key;
  if (!['externalId', 'username', 'email', 'employeeId'].includes(key)) {
    throw new Error(`key must be one of externalId, username, email, employeeId (got '${String(key)}')`);
  }
  const mode: IdentityMode = options.mode ?? (key === 'externalId' ? 'lookup' : 'list');
  if (key === 'externalId' && mode === 'list') throw new Error("key 'externalId' needs mode 'lookup': GC's user listing carries no external ids");
  if (key === 'employeeId' && mode === 'lookup') throw new Error("key 'employeeId' needs mode 'list': GC has no per-user lookup by employee id");
  const authority = options.authority ?? 'engage';
  const pageSize = options.pageSize ?? 500;
  const keyOf = options.keyOf ?? ((agentId: string) => agentId);
  const stats: IdentityStats = { requests: 0, listedUsers: 0, cacheHits: 0, unmatched: 0 };
  let lastUnmatched: string[] = [];
  let cache: CacheFile | undefined;

  const loadCache = async (): Promise<CacheFile> => {
    if (cache !== undefined) return cache;
    cache = { key, authority, users: {} };
    if (options.cachePath === undefined) return cache;
    try {
      const parsed = JSON.parse(await readFile(options.cachePath, 'utf8')) as Partial<CacheFile>;
      // A cache made for another key or authority answers a different question: start over.
      if (parsed.key === key && parsed.authority === authority && parsed.users && typeof parsed.users === 'object') cache.users = parsed.users;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') log.warn('identity cache unreadable; starting empty', { path: options.cachePath, error });
    }
    return cache;
  };
  const saveCache = async (): Promise<void> => {
    if (options.cachePath === undefined || cache === undefined) return;
    await mkdir(dirname(options.cachePath), { recursive: true });
    const temporary = `${options.cachePath}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(cache), 'utf8');
    await rename(temporary, options.cachePath);
  };

  const counted = async <T>(call: () => Promise<T>): Promise<T> => {
    stats.requests += 1;
    return call();
  };

  const resolveByListing = async (agentIds: ReadonlyArray<string>, signal?: AbortSignal, onPage?: (page: IdentityPage) => void): Promise<Map<string, string>> => {
    const wanted = new Map<string, string>(); // match value → agent id
    for (const agentId of agentIds) wanted.set(key === 'employeeId' ? keyOf(agentId) : keyOf(agentId).toLowerCase(), agentId);
    const found = new Map<string, string>();
    // The state expansions only for a caller that takes the pages (a resync); a plain identity refresh skips them.
    const expandList = [...(key === 'employeeId' ? ['employerInfo'] : []), ...(onPage === undefined ? [] : (options.expand ?? []))];
    const expand = expandList.length > 0 ? expandList : undefined;
    for (let pageNumber = 1; ; pageNumber += 1) {
      const requestedAt = Date.now();
      const page = await counted(() => client.listUsers({ pageSize, pageNumber, ...(expand ? { expand } : {}), ...(signal ? { signal } : {}) }));
      stats.listedUsers += page.entities.length;
      const resolved = onPage === undefined ? undefined : new Map<string, string>();
      const users: GcUser[] = [];
      for (const user of page.entities) {
        const value = userKey(user, key);
        const agentId = value === undefined ? undefined : wanted.get(value);
        if (agentId === undefined) continue;
        found.set(agentId, user.id);
        if (resolved === undefined) continue;
        resolved.set(agentId, user.id);
        users.push(user);
      }
      if (resolved !== undefined && resolved.size > 0) onPage?.({ resolved, users, requestedAt });
      const lastPage = page.pageCount !== undefined ? pageNumber >= page.pageCount : page.entities.length < pageSize;
      if (lastPage || page.entities.length === 0 || found.size === wanted.size) break;
    }
    return found;
  };

  const resolveByLookup = async (agentIds: ReadonlyArray<string>, signal?: AbortSignal): Promise<Map<string, string>> => {
    const file = await loadCache();
    const found = new Map<string, string>();
    const missing: string[] = [];
    for (const agentId of agentIds) {
      if (Object.prototype.hasOwnProperty.call(file.users, agentId)) {
        stats.cacheHits += 1;
        const userId = file.users[agentId];
        if (typeof userId === 'string') found.set(agentId, userId);
      } else missing.push(agentId);
    }
    if (missing.length === 0) return found;
    try {
      if (key === 'externalId') {
        for (const agentId of missing) {
          const user = await counted(() => client.getUserByExternalId(authority, keyOf(agentId), signal));
          file.users[agentId] = user?.id ?? null;
          if (user) found.set(agentId, user.id);
        }
      } else {
        const byValue = new Map(missing.map((agentId) => [keyOf(agentId).toLowerCase(), agentId]));
        for (let start = 0; start < missing.length; start += 100) {
          const group = missing.slice(start, start + 100).map((agentId) => keyOf(agentId));
          const users = await counted(() => client.searchUsersExact(key as 'username' | 'email', group, { pageSize: 100, ...(signal ? { signal } : {}) }));
          for (const agentId of missing.slice(start, start + 100)) file.users[agentId] ??= null;
          for (const user of users) {
            const agentId = byValue.get(userKey(user, key) ?? '');
            if (agentId !== undefined) {
              file.users[agentId] = user.id;
              found.set(agentId, user.id);
            }
          }
        }
      }
    } finally {
      // Whatever was paid for is kept, even when a later lookup failed.
      await saveCache();
    }
    return found;
  };

  return {
    async resolve(agentIds, signal, onPage) {
      const unique = [...new Set(agentIds)];
      const requestedAt = Date.now();
      const found = mode === 'list' ? await resolveByListing(unique, signal, onPage) : await resolveByLookup(unique, signal);
      // Lookups carry no state: their users come as one page without it (a resync reads them by id).
      if (mode === 'lookup' && found.size > 0) onPage?.({ resolved: found, users: [], requestedAt });
      lastUnmatched = unique.filter((agentId) => !found.has(agentId));
      stats.unmatched = lastUnmatched.length;
      if (lastUnmatched.length > 0) log.warn('agents without a GC user', { key, count: lastUnmatched.length, sample: lastUnmatched.slice(0, 5) });
      return found;
    },
    unmatched: () => [...lastUnmatched],
    stats: () => ({ ...stats }),
  };
}

/**
 * Lists every active GC user that carries a value for `key` (username, email or employee id; the listing
 * has no external ids), in pages of `pageSize` (default 500): the scope "every synced user" with
 * O(N / page size) requests. Returns key value → user id (usernames and emails lower-cased).
 */
export async function listUsersByKey(
  client: GcClient,
  key: Exclude<IdentityKey, 'externalId'>,
  options: { pageSize?: number; signal?: AbortSignal } = {},
): Promise<Map<string, string>> {
  const pageSize = options.pageSize ?? 500;
  const out = new Map<string, string>();
  const expand = key === 'employeeId' ? ['employerInfo'] : undefined;
  for (let pageNumber = 1; ; pageNumber += 1) {
    const page = await client.listUsers({ pageSize, pageNumber, ...(expand ? { expand } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    for (const user of page.entities) {
      const value = userKey(user, key);
      if (value !== undefined && value !== '') out.set(value, user.id);
    }
    const lastPage = page.pageCount !== undefined ? pageNumber >= page.pageCount : page.entities.length < pageSize;
    if (lastPage || page.entities.length === 0) return out;
  }
}

/**
 * Lists every active GC user in pages of `pageSize` (default 500) with `expand`, handing each page to `onPage`
 * with the time its request left: what a resync reads GC state from at about N / 500 requests (against N / 100
 * reading by id), where GC fills the expansions.
 */
export async function listUserPages(
  client: GcClient,
  options: { expand: readonly string[]; pageSize?: number; signal?: AbortSignal },
  onPage: (users: readonly GcUser[], requestedAt: number) => void,
): Promise<void> {
  const pageSize = options.pageSize ?? 500;
  for (let pageNumber = 1; ; pageNumber += 1) {
    const requestedAt = Date.now();
    const page = await client.listUsers({ pageSize, pageNumber, expand: [...options.expand], ...(options.signal ? { signal: options.signal } : {}) });
    onPage(page.entities, requestedAt);
    const lastPage = page.pageCount !== undefined ? pageNumber >= page.pageCount : page.entities.length < pageSize;
    if (lastPage || page.entities.length === 0) return;
  }
}

/**
 * Reads a static scope file: the Engage agent ids to sync. Accepts a JSON array, a JSON/YAML-like object with
 * an `agents` array, or plain text with one id per line (`#` starts a comment).
 */
export async function loadScopeFile(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    const parsed = JSON.parse(trimmed) as unknown;
    const list = Array.isArray(parsed) ? parsed : (parsed as { agents?: unknown }).agents;
    if (!Array.isArray(list)) throw new Error(`${path}: expected a JSON array of agent ids or {"agents": [...]}`);
    return list.map((value) => String(value));
  }
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().replace(/^-\s*/, ''))
    .filter((line) => line !== '' && line !== 'agents:');
}
