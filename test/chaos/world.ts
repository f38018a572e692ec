/**
 * Sets up the world a chaos run or soak runs in: both emulators (Stat Server with a backup), a refusable proxy
 * in front of GC, two rules versions in a temp dir, the EXAS config and child, the Engage driver and the GC
 * write history. `close()` tears it all down (EXAS first).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startGcEmulator, type GcEmulator } from '../../src/emulators/gc/index.ts';
import { startStatServerEmulator, type StatServerEmulator } from '../../src/emulators/statserver/index.ts';
import { loadRules, type RulesProgram } from '../../src/rules/index.ts';
import type { ChaosContext, RulesVersions } from './context.ts';
import { EngageDriver } from './engage-driver.ts';
import { ExasController } from './exas-controller.ts';
import { writeExasConfig } from './exas-process.ts';
import { GcHistory } from './gc-history.ts';
import { seededRandom } from './random.ts';
import { startRefusableProxy, type RefusableProxy } from './tcp-proxy.ts';
import { Timeline } from './timeline.ts';

export interface WorldOptions {
  readonly agents: number;
  readonly seed: number;
  readonly requestsPerMinute: number;
  readonly gcTimeoutMs: number;
  readonly retryAfterSeconds: number;
  readonly faultMs: number;
  readonly nodeArgs?: readonly string[];
  readonly extraYaml?: readonly string[];
}

export interface World {
  readonly context: ChaosContext;
  readonly directory: string;
  close(): Promise<void>;
}

/** The variant the run reloads to: Break shows as Meal, unmapped Not Ready reasons as Away. */
export function variantRules(text: string): string {
  const variant = text
    .replace(/(- name: not-ready-break\n(?:.*\n)*?\s+presence:) Break/, '$1 Meal')
    .replace(/(- name: not-ready-other-reason\n(?:.*\n)*?\s+presence:) Busy/, '$1 Away');
  if (variant === text) throw new Error('could not derive the variant rules file');
  // The file's own tests describe the default mapping; the variant keeps rules only.
  const tests = variant.search(/^tests:/m);
  return tests < 0 ? variant : variant.slice(0, tests);
}

function compile(text: string, file: string): RulesProgram {
  const loaded = loadRules(text, file);
  if (loaded.program === null) throw new Error(`rules ${file} rejected: ${loaded.errors.map((error) => error.message).join('; ')}`);
  return loaded.program;
}

export async function createWorld(options: WorldOptions): Promise<World> {
  const directory = mkdtempSync(join(tmpdir(), 'exas-chaos-'));
  const timeline = new Timeline();
  const random = seededRandom(options.seed);
  // An org whose users already have EXAS's source primary (as after a first run or `exas doctor --fix`): the
  // suite is about faults, not the one-off migration (test/e2e/primary-source.test.ts covers that).
  const gc = await startGcEmulator({ usersCount: options.agents, budget: options.requestsPerMinute, primarySourceFor: 'EXAS' });
  const gcProxy: RefusableProxy = await startRefusableProxy(gc.port);
  const statServer: StatServerEmulator = await startStatServerEmulator({ agents: options.agents, backupPort: 0, seed: options.seed });
  const defaultText = readFileSync(resolve('exas.rules.yaml'), 'utf8');
  const rulesFile = join(directory, 'exas.rules.yaml');
  writeFileSync(rulesFile, defaultText);
  const variantText = variantRules(defaultText);
  const rules: RulesVersions = {
    file: rulesFile,
    texts: [defaultText, variantText],
    programs: [compile(defaultText, rulesFile), compile(variantText, rulesFile)],
    active: 0,
  };
  const agentIds = statServer.agents().map((agent) => agent.agentId);
  const userIds = new Map<string, string>();
  for (const agentId of agentIds) {
    const userId = gc.userIdOf(agentId);
    if (userId === undefined) throw new Error(`GC emulator has no user for agent ${agentId}`);
    userIds.set(agentId, userId);
  }
  const { configPath, storePath } = writeExasConfig({
    directory,
    statServerUrls: [statServer.url, statServer.backupUrl as string],
    gcUrl: gcProxy.url,
    agentIds,
    rulesFile,
    requestsPerMinute: options.requestsPerMinute,
    gcTimeoutMs: options.gcTimeoutMs,
    logLevel: 'info',
    ...(options.extraYaml === undefined ? {} : { extraYaml: options.extraYaml }),
  });
  const gcHistory = new GcHistory(gc);
  const engage = new EngageDriver(statServer, agentIds, random);
  const exas = new ExasController(configPath, directory, timeline, options.nodeArgs ?? []);
  const context: ChaosContext = {
    gc,
    gcProxy,
    statServer,
    engage,
    gcHistory,
    exas,
    rules,
    random,
    timeline,
    storePath,
    userIds,
    lastDriftAt: new Map(),
    settings: { retryAfterSeconds: options.retryAfterSeconds, gcTimeoutMs: options.gcTimeoutMs, faultMs: options.faultMs },
    gcFaults: {},
  };
  timeline.add('world up', { directory, agents: options.agents, seed: options.seed, gc: gc.url, gcProxy: gcProxy.url, statServer: [statServer.url, statServer.backupUrl] });
  return {
    context,
    directory,
    async close() {
      engage.stop();
      await exas.stop().catch(() => undefined);
      gcHistory.close();
      await gcProxy.close();
      await statServer.close();
      await gc.close();
    },
  };
}
