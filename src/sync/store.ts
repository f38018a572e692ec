/**
 * The store: the last state GC acknowledged per user, persisted so a restart resends only what changed
 * (DESIGN.md "Store", issue 6 part 4).
 *
 * One JSON snapshot file, replaced atomically: write a temp file beside it, fsync, rename over the old one,
 * fsync the directory. A crash at any point leaves either the old or the new snapshot, never a mix. Chosen
 * over an embedded database because the data is one small record per user, written in whole snapshots at
 * most once per `debounceMs`, read once at start, and it adds no native dependency (the bundle runs on Node
 * and Deno; `node:sqlite` is not in Node 20). 100k users is about 5 MB per snapshot.
 *
 * A missing, corrupt or incompatible file is never fatal: `load()` reports it and returns an empty map, which
 * makes the writer resync everyone (bounded by the budget). A corrupt file is kept aside as `<path>.corrupt`.
 */
import { Buffer } from 'node:buffer';
import { promises as fsPromises } from 'node:fs';
import process from 'node:process';
import { basename, dirname, join } from 'node:path';
import { createLogger, type Logger } from '../log.ts';
import { isRoutingStatus, type GcUserState } from '../vocabulary.ts';

/** The schema version written into every snapshot. Bump it (and add a migration) when the layout changes. */
export const STORE_SCHEMA_VERSION = 1;
/** The `format` field of a snapshot, so EXAS never reads some other JSON file as its store. */
export const STORE_FORMAT = 'exas-acknowledged-state';

/** One user's acknowledged state: what GC holds, the writer's version for it, and when it was acknowledged. */
export interface AcknowledgedEntry {
  readonly state: GcUserState;
  readonly version: number;
  /** Epoch ms. */
  readonly at: number;
}

/**
 * The users confirmed to have EXAS's presence source (`sourceId`) as primary source in GC. A lasting GC
 * setting: saved so a restart never checks them again (src/sync/primary-source.ts).
 */
export interface PrimarySourceConfirmations {
  readonly sourceId: string;
  readonly users: Iterable<string>;
}

/**
 * The acknowledged states to save, visited once per save. A `Map` of entries is one; the connector keeps them on
 * its per-agent records instead (a map and an entry object per user cost about 90 bytes a user at 50,000).
 * `primarySource`, when given, is saved beside them.
 */
export interface AcknowledgedEntries {
  forEach(visit: (entry: AcknowledgedEntry, userId: string) => void): void;
  readonly primarySource?: PrimarySourceConfirmations | undefined;
}

/** How `load()` went. Anything but `loaded` means "resync everyone". */
export type StoreLoadStatus = 'loaded' | 'missing' | 'corrupt' | 'incompatible';

export interface StoreLoadResult {
  readonly entries: Map<string, AcknowledgedEntry>;
  /** The saved primary-source confirmations (absent from a store saved without them, or unreadable). */
  readonly primarySource?: { readonly sourceId: string; readonly users: string[] };
  readonly status: StoreLoadStatus;
  /** Why the file was not loaded (for logs), when it was not. */
  readonly detail?: string;
}

/** Numbers for metrics. */
export interface StoreStats {
  saves: number;
  saveFailures: number;
  /** Failed saves since the last good one (0 when the last save worked). */
  consecutiveFailures: number;
  /** Epoch ms of the last successful save (0 before the first). */
  lastSaveAt: number;
  lastSaveBytes: number;
  lastSaveEntries: number;
}

/** Persists the acknowledged state per user. */
export interface AcknowledgedStore {
  /** Reads the snapshot. Never throws: a bad or missing file yields an empty map and a status saying why. */
  load(): Promise<StoreLoadResult>;
  /** Writes a snapshot of `entries` now (atomically). Rejects with `StoreWriteError`; the old file stays intact. */
  save(entries: AcknowledgedEntries): Promise<void>;
  /**
   * Asks for a save within `debounceMs`: many calls make one write, of what `snapshot()` returns when the
   * write starts. Failures are logged and retried on the same schedule; they never throw.
   */
  scheduleSave(snapshot: () => AcknowledgedEntries): void;
  /** Performs a scheduled save now, if one is pending (for shutdown). Never throws. */
  flush(): Promise<void>;
  /** Flushes and cancels the timer. */
  close(): Promise<void>;
  stats(): StoreStats;
  readonly path: string;
}

/** A save failed; the previous snapshot is untouched. */
export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError';
  constructor(
    readonly path: string,
    override readonly cause: unknown,
  ) {
    super(`could not write the acknowledged-state store ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** The file operations the store uses; injectable so tests can fail a write halfway. */
export interface StoreFileHandle {
  /** Appends `data` at the file's current position (a snapshot is written in several chunks). */
  writeFile(data: string): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreFileSystem {
  readFile(path: string): Promise<string>;
  open(path: string, flags: string): Promise<StoreFileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
}

/** Options of `createFileStore`. */
export interface FileStoreOptions {
  /** The longest a scheduled save waits, ms; also the shortest gap between scheduled saves. Default 1 000. */
  debounceMs?: number;
  /** Keep a corrupt file as `<path>.corrupt` for inspection. Default true. */
  keepCorrupt?: boolean;
  /** Epoch-ms clock (for `savedAt`). Default `Date.now`. */
  now?: () => number;
  timers?: { setTimeout(callback: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  fileSystem?: StoreFileSystem;
  logger?: Logger;
}

const nodeFileSystem: StoreFileSystem = {
  readFile: (path) => fsPromises.readFile(path, 'utf8'),
  open: async (path, flags) => {
    const handle = await fsPromises.open(path, flags, 0o600);
    return {
      writeFile: (data) => handle.writeFile(data, 'utf8'),
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  },
  rename: (from, to) => fsPromises.rename(from, to),
  unlink: (path) => fsPromises.unlink(path),
  mkdir: async (path) => {
    await fsPromises.mkdir(path, { recursive: true });
  },
};

/**
 * On-disk shape: users as compact tuples [presence, routingStatus, version, at] to keep 100k users small.
 * `primarySource` is optional (an older EXAS ignores it; a store without it has nobody confirmed), so it needs
 * no schema version of its own.
 */
interface SnapshotFile {
  format: string;
  schemaVersion: number;
  savedAt: string;
  users: Record<string, [string, string, number, number]>;
  primarySource?: { sourceId: string; users: string[] };
}

/** Migrations from older schema versions to the current one (none yet: version 1 is the first). */
const MIGRATIONS: Record<number, (document: Record<string, unknown>) => Record<string, unknown>> = {};

class InvalidSnapshot extends Error {}

type ParsedSnapshot = { entries: Map<string, AcknowledgedEntry>; primarySource?: { sourceId: string; users: string[] }; primarySourceProblem?: string };

/** The optional confirmations; a bad one is dropped (users are checked again), never the acknowledged states. */
function parsePrimarySource(value: unknown): { sourceId: string; users: string[] } | string | undefined {
  if (value === undefined) return undefined;
  const record = value as { sourceId?: unknown; users?: unknown } | null;
  if (typeof record !== 'object' || record === null || typeof record.sourceId !== 'string' || record.sourceId === '') return 'primarySource.sourceId is not a string';
  if (!Array.isArray(record.users) || !record.users.every((userId) => typeof userId === 'string' && userId !== '')) return 'primarySource.users is not a list of user ids';
  return { sourceId: record.sourceId, users: record.users as string[] };
}

function parseSnapshot(text: string): ParsedSnapshot | { incompatible: string } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new InvalidSnapshot(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new InvalidSnapshot('not a JSON object');
  let record = document as Record<string, unknown>;
  if (record['format'] !== STORE_FORMAT) throw new InvalidSnapshot(`format is not ${STORE_FORMAT}`);
  let version = record['schemaVersion'];
  if (typeof version !== 'number' || !Number.isInteger(version)) throw new InvalidSnapshot('schemaVersion is missing');
  while (version !== STORE_SCHEMA_VERSION) {
    const migrate = typeof version === 'number' ? MIGRATIONS[version] : undefined;
    if (migrate === undefined) return { incompatible: `schema version ${String(version)}, this EXAS reads ${STORE_SCHEMA_VERSION}` };
    record = migrate(record);
    version = record['schemaVersion'];
  }
  const users = record['users'];
  if (typeof users !== 'object' || users === null || Array.isArray(users)) throw new InvalidSnapshot('users is not an object');
  const entries = new Map<string, AcknowledgedEntry>();
  for (const [userId, value] of Object.entries(users as Record<string, unknown>)) {
    if (!Array.isArray(value) || value.length !== 4) throw new InvalidSnapshot(`user ${userId}: not a [presence, routingStatus, version, at] tuple`);
    const [presence, routingStatus, entryVersion, at] = value as unknown[];
    if (typeof presence !== 'string' || presence === '' || presence === 'keep') throw new InvalidSnapshot(`user ${userId}: bad presence`);
    if (!isRoutingStatus(routingStatus)) throw new InvalidSnapshot(`user ${userId}: bad routing status`);
    if (typeof entryVersion !== 'number' || !Number.isInteger(entryVersion) || entryVersion < 0) {
      throw new InvalidSnapshot(`user ${userId}: bad version`);
    }
    if (typeof at !== 'number' || !Number.isFinite(at)) throw new InvalidSnapshot(`user ${userId}: bad time`);
    entries.set(userId, { state: { presence, routingStatus }, version: entryVersion, at });
  }
  const primarySource = parsePrimarySource(record['primarySource']);
  if (typeof primarySource === 'string') return { entries, primarySourceProblem: primarySource };
  return primarySource === undefined ? { entries } : { entries, primarySource };
}

/** Users per chunk of a snapshot's text. */
const USERS_PER_CHUNK = 2_000;

/**
 * A snapshot's text (the JSON of a `SnapshotFile` and a newline) in chunks of `USERS_PER_CHUNK` users, made as
 * they are written. Building the whole document first made about 8 MiB of garbage per save at 50,000 users
 * (an object of 50,000 tuples and the text of all of them), once a second while a resync acknowledges users.
 * The users are taken at the call, so the file is the ledger as it was then, however long writing takes.
 */
function serializeInChunks(entries: AcknowledgedEntries, savedAt: number): { chunks: Iterable<string>; users: number } {
  // Columns, not the entries: an entry visited may be made for the visit, and 50,000 of them kept while the
  // chunks are written would be ~3 MiB; the states are shared objects and the numbers sit unboxed in their arrays.
  const columns: Columns = { userIds: [], states: [], versions: [], ats: [] };
  entries.forEach((entry, userId) => {
    columns.userIds.push(userId);
    columns.states.push(entry.state);
    columns.versions.push(entry.version);
    columns.ats.push(entry.at);
  });
  // The confirmed users are taken at the call too (a Set the keeper keeps adding to while chunks are written).
  const primary = entries.primarySource === undefined ? undefined : { sourceId: entries.primarySource.sourceId, users: [...entries.primarySource.users] };
  return { chunks: chunksOf(columns, savedAt, primary), users: columns.userIds.length };
}

/** A snapshot's users, one array per field. */
interface Columns {
  readonly userIds: string[];
  readonly states: GcUserState[];
  readonly versions: number[];
  readonly ats: number[];
}

function* chunksOf(columns: Columns, savedAt: number, primary: { sourceId: string; users: string[] } | undefined): Generator<string> {
  const head: Omit<SnapshotFile, 'users'> = { format: STORE_FORMAT, schemaVersion: STORE_SCHEMA_VERSION, savedAt: new Date(savedAt).toISOString() };
  const { userIds, states, versions, ats } = columns;
  let chunk = `${JSON.stringify(head).slice(0, -1)},"users":{`;
  for (let index = 0; index < userIds.length; index += 1) {
    const state = states[index]!;
    const tuple: SnapshotFile['users'][string] = [state.presence, state.routingStatus, versions[index]!, ats[index]!];
    chunk += `${index === 0 ? '' : ','}${JSON.stringify(userIds[index])}:${JSON.stringify(tuple)}`;
    if ((index + 1) % USERS_PER_CHUNK === 0) {
      yield chunk;
      chunk = '';
    }
  }
  if (primary === undefined) {
    yield `${chunk}}}\n`;
    return;
  }
  chunk += `},"primarySource":{"sourceId":${JSON.stringify(primary.sourceId)},"users":[`;
  for (let index = 0; index < primary.users.length; index += 1) {
    chunk += `${index === 0 ? '' : ','}${JSON.stringify(primary.users[index])}`;
    if ((index + 1) % USERS_PER_CHUNK === 0) {
      yield chunk;
      chunk = '';
    }
  }
  yield `${chunk}]}}\n`;
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
    ? (error as { code: string }).code
    : undefined;
}

/**
 * Reads the store file: its entries, or why there are none (missing, unreadable, another schema version, corrupt;
 * a corrupt file is kept aside as `<path>.corrupt` when `keepCorrupt`). Never throws: each case is a full resync.
 */
async function loadStoreFile(path: string, fileSystem: StoreFileSystem, keepCorrupt: boolean, log: Logger): Promise<StoreLoadResult> {
  let text: string;
  try {
    text = await fileSystem.readFile(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      log.info('no acknowledged-state store yet; full resync', { path });
      return { entries: new Map(), status: 'missing' };
    }
    const detail = `unreadable: ${error instanceof Error ? error.message : String(error)}`;
    log.warn('acknowledged-state store unreadable; full resync', { path, detail });
    return { entries: new Map(), status: 'corrupt', detail };
  }
  try {
    const parsed = parseSnapshot(text);
    if ('incompatible' in parsed) {
      log.warn('acknowledged-state store has another schema version; full resync', { path, detail: parsed.incompatible });
      return { entries: new Map(), status: 'incompatible', detail: parsed.incompatible };
    }
    if (parsed.primarySourceProblem !== undefined) {
      log.warn('acknowledged-state store: the primary-source confirmations are unreadable; those users are checked again', { path, detail: parsed.primarySourceProblem });
    }
    log.info('acknowledged-state store loaded', { path, users: parsed.entries.size, ...(parsed.primarySource ? { primarySourceConfirmed: parsed.primarySource.users.length } : {}) });
    return { entries: parsed.entries, ...(parsed.primarySource ? { primarySource: parsed.primarySource } : {}), status: 'loaded' };
  } catch (error) {
    const detail = error instanceof InvalidSnapshot ? error.message : `unreadable snapshot: ${String(error)}`;
    log.warn('acknowledged-state store is corrupt; full resync', { path, detail });
    if (keepCorrupt) {
      await fileSystem.rename(path, `${path}.corrupt`).catch((renameError: unknown) =>
        log.warn('could not keep the corrupt store aside', { path, error: String(renameError) }),
      );
    }
    return { entries: new Map(), status: 'corrupt', detail };
  }
}

/**
 * A file-backed acknowledged-state store.
 *
 * @example
 * const store = createFileStore('/var/lib/exas/acknowledged.json');
 * const { entries, status } = await store.load(); // status 'corrupt' → empty map, full resync
 * for (const [userId, entry] of entries) writer.seedAcknowledged(userId, entry.state, entry.version);
 */
export function createFileStore(path: string, options: FileStoreOptions = {}): AcknowledgedStore {
  if (typeof path !== 'string' || path === '') throw new Error('store path must be a non-empty string');
  const debounceMs = options.debounceMs ?? 1_000;
  if (!Number.isFinite(debounceMs) || debounceMs < 0) throw new Error(`store option debounceMs must be a non-negative number, got ${debounceMs}`);
  const fileSystem = options.fileSystem ?? nodeFileSystem;
  const now = options.now ?? Date.now;
  const timers = options.timers ?? {
    setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms),
    clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  const keepCorrupt = options.keepCorrupt ?? true;
  const log = options.logger ?? createLogger('sync.store');
  const directory = dirname(path);
  const counters: StoreStats = { saves: 0, saveFailures: 0, consecutiveFailures: 0, lastSaveAt: 0, lastSaveBytes: 0, lastSaveEntries: 0 };

  let tempCounter = 0;
  let writing: Promise<void> = Promise.resolve();
  let scheduled: (() => AcknowledgedEntries) | undefined;
  let timer: unknown;
  let activeRun: Promise<void> | undefined;
  let closed = false;

  const load = (): Promise<StoreLoadResult> => loadStoreFile(path, fileSystem, keepCorrupt, log);

  async function writeSnapshot(entries: AcknowledgedEntries): Promise<void> {
    const savedAt = now();
    const { chunks, users } = serializeInChunks(entries, savedAt);
    let bytes = 0;
    tempCounter += 1;
    const temp = join(directory, `.${basename(path)}.${process.pid}.${tempCounter}.tmp`);
    let handle: StoreFileHandle | undefined;
    try {
      await fileSystem.mkdir(directory);
      handle = await fileSystem.open(temp, 'wx');
      for (const chunk of chunks) {
        await handle.writeFile(chunk);
        bytes += Buffer.byteLength(chunk);
      }
      // Data must be on disk before the rename makes it the store, or a power cut could leave an empty file.
      await handle.sync();
      await handle.close();
      handle = undefined;
      await fileSystem.rename(temp, path);
    } catch (error) {
      if (handle !== undefined) await handle.close().catch(() => undefined);
      await fileSystem.unlink(temp).catch(() => undefined);
      counters.saveFailures += 1;
      counters.consecutiveFailures += 1;
      throw new StoreWriteError(path, error);
    }
    await syncDirectory();
    counters.saves += 1;
    counters.consecutiveFailures = 0;
    counters.lastSaveAt = savedAt;
    counters.lastSaveBytes = bytes;
    counters.lastSaveEntries = users;
  }

  /** Makes the rename itself durable; best effort (some platforms cannot open a directory). */
  async function syncDirectory(): Promise<void> {
    if (options.fileSystem !== undefined) return;
    try {
      const handle = await fsPromises.open(directory, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch {
      // Not supported here (e.g. Windows); the rename is still atomic.
    }
  }

  function save(entries: AcknowledgedEntries): Promise<void> {
    // Serialise writes so an older snapshot can never be renamed over a newer one.
    const next = writing.then(() => writeSnapshot(entries));
    writing = next.catch(() => undefined);
    return next;
  }

  async function runScheduled(): Promise<void> {
    timer = undefined;
    const snapshot = scheduled;
    scheduled = undefined;
    if (snapshot === undefined) return;
    try {
      await save(snapshot());
    } catch (error) {
      // Warned every time (not once): a store that cannot be written loses the warm start after a restart.
      log.warn('acknowledged-state save failed; will retry', {
        path,
        consecutiveFailures: counters.consecutiveFailures,
        lastSuccessAt: counters.lastSaveAt === 0 ? null : new Date(counters.lastSaveAt).toISOString(),
        error: error instanceof Error ? error.message : String(error),
      });
      if (scheduled === undefined) scheduleSave(snapshot);
    }
  }

  function startRun(): Promise<void> {
    const run = runScheduled().finally(() => {
      if (activeRun === run) activeRun = undefined;
    });
    activeRun = run;
    return run;
  }

  function scheduleSave(snapshot: () => AcknowledgedEntries): void {
    scheduled = snapshot;
    if (timer !== undefined || closed) return;
    timer = timers.setTimeout(() => void startRun(), debounceMs);
  }

  async function flush(): Promise<void> {
    // Let a save that is already running finish (it may re-arm a retry), then write what is pending now.
    if (activeRun !== undefined) await activeRun;
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
    await startRun();
    await writing;
  }

  async function close(): Promise<void> {
    await flush();
    closed = true;
    if (timer !== undefined) timers.clearTimeout(timer);
    timer = undefined;
  }

  return { load, save, scheduleSave, flush, close, stats: () => ({ ...counters }), path };
}
