/**
 * The org's presence catalog: system presence names (`Busy`, `OnQueue`, …) and custom (secondary) presence
 * labels (`Lunch Break`) → presence definition ids, loaded from `GET /api/v2/presence/definitions`, cached and
 * refreshed on a schedule. System definitions win a name clash with a custom label.
 */
import { createLogger } from '../log.ts';
import type { PresenceName } from '../vocabulary.ts';
import type { GcClient } from './client.ts';
import type { GcPresenceDefinition } from './types.ts';
import { normalizeSystemPresence } from './wire.ts';

/** A presence name that is neither a system presence nor a custom label of the org. */
export class UnknownPresenceError extends Error {
  readonly presence: string;
  constructor(presence: string, known: ReadonlyArray<string>) {
    super(`presence '${presence}' is not in the org's presence catalog (known: ${known.join(', ')})`);
    this.name = 'UnknownPresenceError';
    this.presence = presence;
  }
}

export interface PresenceCatalogEntry {
  readonly id: string;
  /** The vocabulary name (`OnQueue`) for a system definition, the label for a custom one. */
  readonly name: string;
  /** The system presence it sits under (`Meal` for custom `Lunch Break`). */
  readonly systemPresence: string | undefined;
  readonly custom: boolean;
}

/** What `validatePresencesAgainstCatalog` and the write target need from a catalog. */
export interface PresenceLookup {
  /** The definition id for a name or label; throws `UnknownPresenceError` for an unknown one. */
  resolve(name: PresenceName): string;
  /** The id, or undefined. */
  tryResolve(name: PresenceName): string | undefined;
  /** The vocabulary name or custom label of a definition id, or undefined when the id is unknown. */
  nameOf(presenceDefinitionId: string): string | undefined;
  /** All known names and labels. */
  names(): string[];
}

export interface PresenceCatalog extends PresenceLookup {
  /** Loads (or reloads) the definitions; the first call must succeed before `resolve` works. */
  load(signal?: AbortSignal): Promise<void>;
  /** The entry for an id (system presence, custom flag). */
  entryOf(presenceDefinitionId: string): PresenceCatalogEntry | undefined;
  /** Starts the periodic refresh (`refreshMs`); a failed refresh keeps the last good catalog. */
  start(): void;
  stop(): void;
  /** Epoch ms of the last successful load (0 before). */
  readonly loadedAt: number;
}

export interface PresenceCatalogOptions {
  /** How often to reload (default 15 minutes). */
  refreshMs?: number;
  /** Which label names a custom presence (default `en_US`, then any label, then `name`). */
  labelLocale?: string;
}

const log = createLogger('gc.catalog');

/** Builds the name ↔ id tables from definitions (exported for tests and for an offline catalog). */
export function buildPresenceLookup(definitions: ReadonlyArray<GcPresenceDefinition>, labelLocale = 'en_US'): PresenceLookup & {
  entryOf(id: string): PresenceCatalogEntry | undefined;
} {
  const byName = new Map<string, PresenceCatalogEntry>();
  const byId = new Map<string, PresenceCatalogEntry>();
  const customs: PresenceCatalogEntry[] = [];
  for (const definition of definitions) {
    if (definition.deactivated === true || typeof definition.id !== 'string') continue;
    const system = normalizeSystemPresence(definition.systemPresence);
    if (definition.type === 'System' || (definition.type === undefined && system !== undefined && definition.name === undefined)) {
      if (system === undefined) continue;
      const entry: PresenceCatalogEntry = { id: definition.id, name: system, systemPresence: system, custom: false };
      byId.set(definition.id, entry);
      if (!byName.has(system)) byName.set(system, entry);
      continue;
    }
    const labels = definition.languageLabels ?? {};
    const label = labels[labelLocale] ?? Object.values(labels)[0] ?? definition.name;
    if (label === undefined) continue;
    const entry: PresenceCatalogEntry = { id: definition.id, name: label, systemPresence: system, custom: true };
    byId.set(definition.id, entry);
    customs.push(entry);
  }
  // Custom labels go in after every system name, so a label such as "Busy" cannot shadow the system presence.
  for (const entry of customs) if (!byName.has(entry.name)) byName.set(entry.name, entry);
  const names = (): string[] => [...byName.keys()];
  return {
    tryResolve: (name) => byName.get(name)?.id,
    resolve(name) {
      const entry = byName.get(name);
      if (entry === undefined) throw new UnknownPresenceError(name, names());
      return entry.id;
    },
    nameOf: (id) => byId.get(id)?.name,
    entryOf: (id) => byId.get(id),
    names,
  };
}

/**
 * Creates the catalog for a client's org.
 *
 * @example
 * const catalog = createPresenceCatalog(client, { refreshMs: 600_000 });
 * await catalog.load();
 * catalog.resolve('Lunch Break'); // → presence definition id
 */
export function createPresenceCatalog(client: GcClient, options: PresenceCatalogOptions = {}): PresenceCatalog {
  const refreshMs = options.refreshMs ?? 15 * 60_000;
  if (!(refreshMs > 0)) throw new Error('refreshMs must be > 0');
  let lookup: ReturnType<typeof buildPresenceLookup> | undefined;
  let loadedAt = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  const current = (): ReturnType<typeof buildPresenceLookup> => {
    if (lookup === undefined) throw new Error('presence catalog not loaded: call load() first');
    return lookup;
  };
  const catalog: PresenceCatalog = {
    get loadedAt() {
      return loadedAt;
    },
    async load(signal) {
      const definitions = await client.getPresenceDefinitions(signal ? { signal } : {});
      lookup = buildPresenceLookup(definitions, options.labelLocale);
      loadedAt = Date.now();
      log.debug('presence catalog loaded', { definitions: definitions.length });
    },
    resolve: (name) => current().resolve(name),
    tryResolve: (name) => current().tryResolve(name),
    nameOf: (id) => current().nameOf(id),
    entryOf: (id) => current().entryOf(id),
    names: () => current().names(),
    start() {
      if (timer !== undefined) return;
      timer = setInterval(() => {
        catalog.load().catch((error: unknown) => log.warn('presence catalog refresh failed; keeping the last one', { error }));
      }, refreshMs);
      (timer as { unref?: () => void }).unref?.();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
  return catalog;
}

/** One unknown presence name found by `validatePresencesAgainstCatalog`. */
export interface PresenceValidationError {
  readonly presence: string;
  readonly message: string;
}

/**
 * Checks every presence a rules file sets (system names and custom labels; `keep` is skipped) against the
 * org's catalog, and returns one error per unknown name. Empty means the rules fit the org.
 *
 * @example
 * const errors = validatePresencesAgainstCatalog(['Busy', 'Lunch Brake'], catalog);
 * // [{ presence: 'Lunch Brake', message: "presence 'Lunch Brake' is not ... (did you mean 'Lunch Break'?)" }]
 */
export function validatePresencesAgainstCatalog(names: ReadonlyArray<string>, catalog: PresenceLookup): PresenceValidationError[] {
  const known = catalog.names();
  const errors: PresenceValidationError[] = [];
  for (const name of new Set(names)) {
    if (name === 'keep' || catalog.tryResolve(name) !== undefined) continue;
    const near = known.find((candidate) => candidate.toLowerCase() === name.toLowerCase()) ?? closest(name, known);
    errors.push({
      presence: name,
      message: `presence '${name}' is not a system presence or custom presence label of the org${near ? ` (did you mean '${near}'?)` : ''}; known: ${known.join(', ')}`,
    });
  }
  return errors;
}

function closest(name: string, candidates: ReadonlyArray<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 4)) + 1;
  for (const candidate of candidates) {
    const distance = levenshtein(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best;
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
