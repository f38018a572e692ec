/**
 * The emulated org's state: users, presence per user and source, routing status per user (stored
 * independently of presence), presence sources and each user's primary source. Every change of what a
 * user shows is announced to listeners (the notification hub).
 */
import { DEFINITION_BY_ID, definitionByName, type EmulatedPresenceDefinition } from './presence-definitions.ts';
import type { EmulatedUserSeed } from './users.ts';

/** GC's own presence source (the `purecloud` path segment). */
export const PURECLOUD_SOURCE_ID = 'a5e80000-0000-4000-8000-00000000c10d';

export type RestRoutingStatus = 'OFF_QUEUE' | 'IDLE' | 'INTERACTING' | 'NOT_RESPONDING' | 'COMMUNICATING';

export interface SourcePresence {
  definitionId: string;
  message: string | undefined;
  modifiedDate: string;
}

export interface EmulatedUser extends EmulatedUserSeed {
  readonly index: number;
  /** Presence per source id. */
  readonly presences: Map<string, SourcePresence>;
  /** The source written last (what shows when primary sources are not enforced). */
  lastSourceId: string;
  primarySourceId: string;
  routingStatus: RestRoutingStatus;
  routingStartTime: string;
  /**
   * When (emulator clock, epoch ms) what the user shows last changed: presence, routing status. Unlike
   * `modifiedDate` and `routingStartTime`, which carry the writer's event time, these are the moments GC applied
   * the change, so benchmarks can time "until GC holds the state" (bench/sync.bench.ts).
   */
  presenceChangedAt: number;
  routingStatusChangedAt: number;
}

export interface EmulatedSource {
  readonly id: string;
  readonly name: string;
  readonly description: string | undefined;
  readonly type: 'System' | 'User';
}

export type UserChange =
  | { readonly kind: 'presence'; readonly user: EmulatedUser }
  | { readonly kind: 'routingStatus'; readonly user: EmulatedUser };

export interface EmulatorStateOptions {
  /**
   * When true (default), a user shows the presence of their primary source only (real GC): presence injected
   * under another source stays invisible until that source is made primary. False (the emulator's lenient
   * mode): the source written last shows.
   */
  enforcePrimarySource?: boolean;
  /**
   * Starts from an org where a presence source of this name already exists and is every user's primary source
   * (as after a first run with `gc.primarySource: fix`, or `exas doctor --fix`). Default: none, every user's
   * primary source is PURECLOUD, as in a new org.
   */
  primarySourceFor?: string;
  now?: () => number;
}

const OFFLINE = definitionByName('Offline') as EmulatedPresenceDefinition;

export class EmulatorState {
  readonly users: EmulatedUser[] = [];
  readonly byId = new Map<string, EmulatedUser>();
  readonly byExternalId = new Map<string, EmulatedUser>();
  readonly byUsername = new Map<string, EmulatedUser>();
  readonly byEmail = new Map<string, EmulatedUser>();
  readonly byEmployeeId = new Map<string, EmulatedUser>();
  readonly sources = new Map<string, EmulatedSource>();
  private readonly listeners = new Set<(change: UserChange) => void>();
  /** Changes being announced (the first) or waiting for it (see `emit`). */
  private readonly announcing: UserChange[] = [];
  private readonly enforcePrimary: boolean;
  private readonly now: () => number;

  constructor(seeds: ReadonlyArray<EmulatedUserSeed>, options: EmulatorStateOptions = {}) {
    this.enforcePrimary = options.enforcePrimarySource ?? true;
    this.now = options.now ?? Date.now;
    const startedAt = this.now();
    const at = new Date(startedAt).toISOString();
    this.sources.set(PURECLOUD_SOURCE_ID, { id: PURECLOUD_SOURCE_ID, name: 'PURECLOUD', description: 'Genesys Cloud', type: 'System' });
    let primarySourceId = PURECLOUD_SOURCE_ID;
    if (options.primarySourceFor !== undefined) {
      if (options.primarySourceFor === '' || options.primarySourceFor === 'PURECLOUD') throw new Error(`primarySourceFor must name a presence source other than PURECLOUD`);
      primarySourceId = crypto.randomUUID();
      this.sources.set(primarySourceId, { id: primarySourceId, name: options.primarySourceFor, description: 'made primary for every user when the emulator started', type: 'User' });
    }
    seeds.forEach((seed, index) => {
      const user: EmulatedUser = {
        ...seed,
        index,
        presences: new Map([[PURECLOUD_SOURCE_ID, { definitionId: OFFLINE.id, message: undefined, modifiedDate: at }]]),
        lastSourceId: PURECLOUD_SOURCE_ID,
        primarySourceId,
        routingStatus: 'OFF_QUEUE',
        routingStartTime: at,
        presenceChangedAt: startedAt,
        routingStatusChangedAt: startedAt,
      };
      this.users.push(user);
      this.byId.set(user.id, user);
      if (user.externalId !== undefined) this.byExternalId.set(user.externalId, user);
      this.byUsername.set(user.username.toLowerCase(), user);
      this.byEmail.set(user.email.toLowerCase(), user);
      if (user.employeeId !== undefined) this.byEmployeeId.set(user.employeeId, user);
    });
  }

  onChange(listener: (change: UserChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Whether a user shows their primary source's presence only (real GC), not the source written last. */
  get enforcesPrimarySource(): boolean {
    return this.enforcePrimary;
  }

  /**
   * The source "someone else" (the control API, GC's own UI) changes what a user shows through: GC's own source,
   * or under strict primary sources the user's primary source (once an integration's source is primary, a
   * change in GC's UI no longer shows; a foreign change that does show is one made under that source).
   */
  foreignSourceId(user: EmulatedUser): string {
    return this.enforcePrimary ? user.primarySourceId : PURECLOUD_SOURCE_ID;
  }

  /** The source whose presence the user shows. */
  shownSourceId(user: EmulatedUser): string {
    if (this.enforcePrimary) return user.presences.has(user.primarySourceId) ? user.primarySourceId : PURECLOUD_SOURCE_ID;
    return user.lastSourceId;
  }

  /** The presence the user shows (definition, source, modified date). */
  shownPresence(user: EmulatedUser): SourcePresence & { sourceId: string } {
    const sourceId = this.shownSourceId(user);
    return { ...(user.presences.get(sourceId) as SourcePresence), sourceId };
  }

  /** The presence of one source; with primary sources not enforced, what the user shows. */
  presenceOf(user: EmulatedUser, sourceId: string): (SourcePresence & { sourceId: string }) | undefined {
    if (!this.enforcePrimary) return this.shownPresence(user);
    const presence = user.presences.get(sourceId);
    return presence === undefined ? undefined : { ...presence, sourceId };
  }

  shownDefinition(user: EmulatedUser): EmulatedPresenceDefinition {
    return DEFINITION_BY_ID.get(this.shownPresence(user).definitionId) ?? OFFLINE;
  }

  setPresence(user: EmulatedUser, sourceId: string, definitionId: string, options: { message?: string; at?: number } = {}): void {
    const before = this.shownPresence(user);
    const modifiedDate = new Date(options.at ?? this.now()).toISOString();
    user.presences.set(sourceId, { definitionId, message: options.message, modifiedDate });
    user.lastSourceId = sourceId;
    const after = this.shownPresence(user);
    if (before.definitionId !== after.definitionId || before.sourceId !== after.sourceId || before.message !== after.message) {
      this.emit({ kind: 'presence', user });
    }
  }

  setPrimarySource(user: EmulatedUser, sourceId: string): void {
    const before = this.shownPresence(user).definitionId;
    user.primarySourceId = sourceId;
    if (this.shownPresence(user).definitionId !== before) this.emit({ kind: 'presence', user });
  }

  setRoutingStatus(user: EmulatedUser, status: RestRoutingStatus, at?: number): void {
    if (user.routingStatus === status) return;
    user.routingStatus = status;
    user.routingStartTime = new Date(at ?? this.now()).toISOString();
    this.emit({ kind: 'routingStatus', user });
  }

  /**
   * Announces a change to every listener. A change a listener makes meanwhile (a rule reacting to another change)
   * is announced after the current one has reached every listener, so all see changes in the order they happened.
   */
  private emit(change: UserChange): void {
    if (change.kind === 'presence') change.user.presenceChangedAt = this.now();
    else change.user.routingStatusChangedAt = this.now();
    this.announcing.push(change);
    if (this.announcing.length > 1) return;
    try {
      for (let next: UserChange | undefined = change; next !== undefined; this.announcing.shift(), next = this.announcing[0]) {
        for (const listener of this.listeners) listener(next);
      }
    } finally {
      this.announcing.length = 0;
    }
  }
}
