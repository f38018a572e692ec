/**
 * `startDemo`: the Stat Server emulator (a crowd walking through states), the GC emulator and the real
 * sidecar, in one process on loopback, wired with the default rules. The emulators keep their `/emulator/…`
 * control APIs, so a person (or a test) can set agents, inject faults and read GC users while it runs.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExasConfig } from '../config/index.ts';
import { startGcEmulator, type GcEmulator } from '../emulators/gc/index.ts';
import { emulatedAgentIds, startStatServerEmulator, type StatServerEmulator } from '../emulators/statserver/index.ts';
import { setLogLevel } from '../log.ts';
import { createSidecar, type Sidecar } from '../sidecar/index.ts';
import { demoConfig, DemoConfigError } from './config.ts';
import { demoProgress, type DemoProgress } from './progress.ts';

/** Options of `startDemo`; every one has a default (see `DEMO_DEFAULTS`). */
export interface DemoOptions {
  /** Sidecar HTTP port on 127.0.0.1 (default 8080; 0 picks a free one). */
  readonly port?: number;
  /** Stat Server emulator port (default 0: a free one). */
  readonly statPort?: number;
  /** GC emulator port (default 0: a free one). */
  readonly gcPort?: number;
  /** Simulated agents (default 300). */
  readonly agents?: number;
  /** State changes per second across the crowd (default 3; 0: agents change only through the control API). */
  readonly eventsPerSecond?: number;
  /** Requests per minute per GC client, enforced by the GC emulator and paced by EXAS (default 300). */
  readonly budget?: number;
  /** Rules file (default `exas.rules.yaml` in the working directory). */
  readonly rulesFile?: string;
  /** Reload the rules when the file changes (default true: edit the rules and watch GC follow). */
  readonly watchRules?: boolean;
  /** Seed of the crowd's random walk (default 1). */
  readonly seed?: number;
  /** Sidecar log level (default info; logs go to stderr). */
  readonly logLevel?: ExasConfig['log']['level'];
  /** Both emulators kinder than the real services, as the first build was (default false: strict). */
  readonly lenient?: boolean;
  /**
   * Start from a new GC org, where PURECLOUD is every user's primary presence source: EXAS's `gc.primarySource:
   * fix` migrates the users first (one request each, within the budget), with progress in the logs and the
   * progress line. Default false: an org whose users already have EXAS's source primary (as after `exas doctor
   * --fix`), so the demo converges at once.
   */
  readonly freshOrg?: boolean;
}

/**
 * The defaults. While the budget allows, EXAS sends each change as soon as it arrives (lowest latency), which
 * costs about 1.2 GC requests per change (presence and routing status are separate writes); at 3 changes/s
 * that is about 210 requests/min (measured), inside the 270/min EXAS allows itself of GC's 300 (10% headroom),
 * so all 300 agents stay converged within about a second of every change. Above about 4 changes/s the
 * minute's budget runs out early and EXAS falls back to batches of up to 100 users: agents then lag for
 * several seconds each minute, and still converge (try `--events-per-second 20`).
 */
export const DEMO_DEFAULTS = {
  port: 8080,
  statPort: 0,
  gcPort: 0,
  agents: 300,
  eventsPerSecond: 3,
  budget: 300,
  rulesFile: 'exas.rules.yaml',
  watchRules: true,
  seed: 1,
  logLevel: 'info',
  lenient: false,
  freshOrg: false,
} as const satisfies Required<DemoOptions>;

export interface DemoUrls {
  /** The sidecar's operator server: status page, /metrics, /readyz, /agents/:id, POST /dry-run. */
  readonly sidecar: string;
  /** GC emulator base URL (API under /api/v2, control under /emulator/). */
  readonly gc: string;
  /** Stat Server emulator base URL (Statistics API under /statistics/v3, control under /emulator/). */
  readonly statServer: string;
}

export interface RunningDemo {
  readonly urls: DemoUrls;
  readonly options: Readonly<Required<DemoOptions>>;
  /** Engage agent ids in scope (agent i is `1001 + i` on both emulators). */
  readonly agentIds: readonly string[];
  readonly sidecar: Sidecar;
  readonly gc: GcEmulator;
  readonly statServer: StatServerEmulator;
  /** Counts for a progress line: agents in sync, pending, GC requests and 429s. */
  progress(): DemoProgress;
  /** Stops the sidecar (flushing briefly), then both emulators, and removes the demo's temporary files. */
  stop(): Promise<void>;
}

/** Validates and fills the options; throws a `DemoConfigError` naming the bad option. */
export function demoOptions(options: DemoOptions = {}): Required<DemoOptions> {
  const filled: Required<DemoOptions> = { ...DEMO_DEFAULTS, ...definedOnly(options) };
  const integer = (name: keyof DemoOptions, min: number, max: number): void => {
    const value = filled[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new DemoConfigError(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
    }
  };
  integer('port', 0, 65535);
  integer('statPort', 0, 65535);
  integer('gcPort', 0, 65535);
  integer('agents', 1, 100_000);
  integer('budget', 1, 100_000);
  integer('seed', 0, 2 ** 31);
  if (!Number.isFinite(filled.eventsPerSecond) || filled.eventsPerSecond < 0) {
    throw new DemoConfigError(`eventsPerSecond must be a number ≥ 0 (got ${String(filled.eventsPerSecond)})`);
  }
  return filled;
}

/**
 * Starts the demo. Resolves once every server listens and the sidecar has started (GC set-up and the first
 * resync continue in the background; `/readyz` turns 200 when they are done).
 *
 * @example
 * const demo = await startDemo({ port: 0, agents: 50 });
 * console.log(demo.urls.sidecar);
 * await demo.stop();
 */
export async function startDemo(options: DemoOptions = {}): Promise<RunningDemo> {
  const filled = demoOptions(options);
  const rulesFile = resolve(filled.rulesFile);
  if (!existsSync(rulesFile)) {
    throw new DemoConfigError(`rules file not found: ${rulesFile} (run from the repository root, or pass --rules FILE)`);
  }
  const agentIds = emulatedAgentIds(filled.agents);
  // Under .exas/ in the working directory, the one place `deno task demo` may write; removed on stop.
  mkdirSync('.exas', { recursive: true });
  const directory = resolve(mkdtempSync(join('.exas', 'demo-')));
  const closers: Array<() => Promise<void>> = [async () => rmSync(directory, { recursive: true, force: true })];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  };
  try {
    const statServer = await startStatServerEmulator({
      port: filled.statPort,
      agents: filled.agents,
      eventsPerSecond: filled.eventsPerSecond,
      seed: filled.seed,
      lenient: filled.lenient,
    });
    closers.push(() => statServer.close());
    const gc = await startGcEmulator({
      port: filled.gcPort,
      usersCount: filled.agents,
      budget: filled.budget,
      lenient: filled.lenient,
      // The source the demo's config injects under (gc.presenceSourceName's default).
      ...(filled.freshOrg ? {} : { primarySourceFor: 'EXAS' }),
    });
    closers.push(() => gc.close());
    const config = demoConfig({
      statServerUrl: statServer.url,
      gcUrl: gc.url,
      agentIds,
      rulesFile,
      watchRules: filled.watchRules,
      budget: filled.budget,
      port: filled.port,
      directory,
      logLevel: filled.logLevel,
    });
    setLogLevel(config.log.level);
    const sidecar = createSidecar(config);
    closers.push(async () => void (await sidecar.stop(config.lifecycle.shutdownGraceSeconds * 1000)));
    await sidecar.start();
    const sidecarUrl = sidecar.http?.url;
    if (sidecarUrl === undefined) throw new DemoConfigError('the sidecar started without its HTTP server');
    let stopped: Promise<void> | undefined;
    return {
      urls: { sidecar: sidecarUrl, gc: gc.url, statServer: statServer.url },
      options: filled,
      agentIds,
      sidecar,
      gc,
      statServer,
      progress: () => demoProgress(sidecar, gc, filled.agents),
      stop: () => (stopped ??= (async () => {
        // The crowd first, so the sidecar's last flush is not chasing new changes.
        statServer.setSimulation(false);
        await closeAll();
      })()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function definedOnly(options: DemoOptions): Partial<Required<DemoOptions>> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<Required<DemoOptions>>;
}
