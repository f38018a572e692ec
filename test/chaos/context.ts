/** Everything a fault can touch during a chaos run. */
import { writeFileSync } from 'node:fs';
import type { GcEmulator, GcFaults } from '../../src/emulators/gc/index.ts';
import type { StatServerEmulator } from '../../src/emulators/statserver/index.ts';
import type { RulesProgram } from '../../src/rules/index.ts';
import type { EngageDriver } from './engage-driver.ts';
import type { ExasController } from './exas-controller.ts';
import type { GcHistory } from './gc-history.ts';
import type { RefusableProxy } from './tcp-proxy.ts';
import type { Timeline } from './timeline.ts';

/** Two rules files the run switches between (a reload mid-storm changes what agents map to). */
export interface RulesVersions {
  readonly file: string;
  readonly texts: readonly [string, string];
  readonly programs: readonly [RulesProgram, RulesProgram];
  active: 0 | 1;
}

export interface ChaosContext {
  readonly gc: GcEmulator;
  readonly gcProxy: RefusableProxy;
  readonly statServer: StatServerEmulator;
  readonly engage: EngageDriver;
  readonly gcHistory: GcHistory;
  readonly exas: ExasController;
  readonly rules: RulesVersions;
  readonly random: () => number;
  readonly timeline: Timeline;
  readonly storePath: string;
  /** agent id → GC user id. */
  readonly userIds: ReadonlyMap<string, string>;
  /** Last drift time per user (EXAS caps re-asserts per user per window; the suite stays under the cap). */
  readonly lastDriftAt: Map<string, number>;
  readonly settings: { readonly retryAfterSeconds: number; readonly gcTimeoutMs: number; readonly faultMs: number };
  /** The GC emulator faults currently in force (the emulator replaces all faults at once, so they are merged here). */
  gcFaults: GcFaults;
}

/** Merges `change` into the active GC faults (undefined removes a fault) and applies them. */
export function setGcFaults(context: ChaosContext, change: Partial<Record<keyof GcFaults, number | boolean | undefined>>): void {
  const merged: Record<string, number | boolean | undefined> = { ...context.gcFaults, ...change };
  for (const key of Object.keys(merged)) if (merged[key] === undefined || key === 'revokeTokens') delete merged[key];
  context.gcFaults = merged as GcFaults;
  context.gc.setFaults({ ...context.gcFaults, ...(change.revokeTokens === true ? { revokeTokens: true } : {}) });
}

/** Writes the other rules version to the rules file and tells EXAS to reload it (SIGHUP). */
export function switchRules(context: ChaosContext): void {
  const next = context.rules.active === 0 ? 1 : 0;
  writeFileSync(context.rules.file, context.rules.texts[next]);
  context.rules.active = next;
  context.exas.sighup();
  context.timeline.add('rules reloaded', { version: next === 0 ? 'default' : 'variant' });
}

export function activeProgram(context: ChaosContext): RulesProgram {
  return context.rules.programs[context.rules.active];
}
