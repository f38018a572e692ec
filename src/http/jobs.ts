/**
 * @module
 * The operator's CPU-heavy work as worker-thread jobs: vetting a rules file for a reload (parse, validate,
 * compile, lint, run its tests), dry runs and the playground's rules checks. Under Node the worker is the running JavaScript file itself (the
 * bundle or dist/cli.mjs, built with `import.meta.exasWorkerSelf`), started with a marker that makes it serve
 * jobs instead of the CLI; under Deno from source it is `worker-entry.ts`. Node running the TypeScript sources
 * (the test runner) cannot start a TypeScript worker, so there the jobs run on the calling thread.
 */
import { createLogger } from '../log.ts';
import { createJobPool, transferWith, type JobPool, type WorkerEntry } from '../platform/worker-pool.ts';
import { packedBuffers, vetRules, type VetResult } from '../rules/index.ts';
import { runDryRunJob, type DryRunAnswer, type DryRunJob, type DryRunJobResult, type DryRunQuestion } from './dry-run.ts';
import { runRulesCheckJob, type RulesCheckJobResult } from './rules-check.ts';

declare global {
  interface ImportMeta {
    /** Set to true by scripts/build.mjs in built files, which are their own operator workers. */
    exasWorkerSelf?: boolean;
  }
}

/** The `workerData.exasWorker` marker of operator job workers. */
export const OPERATOR_WORKER = 'operator-jobs';

export type OperatorJob =
  | { readonly kind: 'vet'; readonly text: string; readonly file: string; readonly runTests: boolean }
  | { readonly kind: 'dry-run'; readonly job: DryRunJob }
  | { readonly kind: 'rules-check'; readonly body: Uint8Array };
export type OperatorJobResult = VetResult | DryRunJobResult | RulesCheckJobResult;
export type OperatorJobPool = JobPool<OperatorJob, OperatorJobResult, DryRunQuestion, DryRunAnswer>;

/** Runs one operator job (what each worker does with each message). */
export async function handleOperatorJob(job: OperatorJob, ask: (question: DryRunQuestion) => Promise<DryRunAnswer>): Promise<OperatorJobResult> {
  if (job.kind === 'vet') {
    const vetted = vetRules(job.text, job.file, job.runTests);
    // The packed decision table moves to the serving thread without a copy.
    return vetted.ok ? transferWith(vetted, packedBuffers(vetted.packed)) : vetted;
  }
  if (job.kind === 'rules-check') return runRulesCheckJob(job.body);
  return runDryRunJob(job.job, ask);
}

/** Where operator workers start in this runtime and build, or null to run jobs on the calling thread. */
export function operatorWorkerEntry(): WorkerEntry | null {
  // Written out in full: the build replaces exactly `import.meta.exasWorkerSelf`.
  if (import.meta.exasWorkerSelf === true) return { url: new URL(import.meta.url), workerData: { exasWorker: OPERATOR_WORKER } };
  if ('Deno' in globalThis && import.meta.url.endsWith('.ts')) return { url: new URL('./worker-entry.ts', import.meta.url), workerData: { exasWorker: OPERATOR_WORKER } };
  return null;
}

/**
 * A pool of operator workers: `size` of them (dry runs) plus one more, so a reload never waits behind the
 * concurrent dry runs the HTTP layer admits.
 */
export function createOperatorJobPool(size = 2, entry: WorkerEntry | null = operatorWorkerEntry()): OperatorJobPool {
  return createJobPool({
    entry,
    handler: handleOperatorJob,
    size: size + 1,
    name: 'exas-operator',
    onStartFailure: (error) =>
      createLogger('http').warn('operator worker threads cannot start here; rules reloads and dry runs run on the main thread', {
        reason: error.message,
        hint: 'under Deno, allow reading the EXAS file itself (--allow-read)',
      }),
  });
}
