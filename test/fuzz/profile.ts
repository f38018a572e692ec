/**
 * The fuzz profile shared by every target under test/fuzz/: how many inputs each property tries and with which
 * seed. `npm test` runs the short, deterministic default (a few seconds per target); the long profile is
 *
 *   EXAS_FUZZ_RUNS=20000 npx vitest run test/fuzz          # every property tries 20 000 inputs
 *   EXAS_FUZZ_SEED=random EXAS_FUZZ_RUNS=5000 npx vitest run test/fuzz   # a fresh seed each run
 *
 * A failure prints fast-check's seed and path, so a counterexample found by a long or random run can be
 * replayed exactly. docs/reliability.md records the inputs tried per target.
 */
import type { Parameters } from 'fast-check';
import process from 'node:process';

/** Inputs per property: `EXAS_FUZZ_RUNS` when set, else the target's short default. */
export function fuzzRuns(shortDefault: number): number {
  const raw = process.env['EXAS_FUZZ_RUNS'];
  if (raw === undefined || raw === '') return shortDefault;
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs <= 0) throw new Error(`EXAS_FUZZ_RUNS must be a positive integer, got '${raw}'`);
  return runs;
}

/** True when a long profile was asked for (tests widen their timeout then). */
export const LONG_PROFILE = (process.env['EXAS_FUZZ_RUNS'] ?? '') !== '';

/** Per-test timeout: the suite default for the short profile, an hour for a long one. */
export const FUZZ_TIMEOUT_MS = LONG_PROFILE ? 3_600_000 : 60_000;

/**
 * fast-check parameters for one property: the run count above and a fixed seed (so `npm test` is deterministic),
 * unless `EXAS_FUZZ_SEED` names another seed or says `random`.
 */
export function fuzzParameters<T>(shortDefault: number, seed: number): Parameters<T> {
  const raw = process.env['EXAS_FUZZ_SEED'];
  const chosen = raw === 'random' ? undefined : raw !== undefined && raw !== '' ? Number(raw) : seed;
  return { numRuns: fuzzRuns(shortDefault), ...(chosen === undefined || !Number.isFinite(chosen) ? {} : { seed: chosen }) };
}

/**
 * Lets the event loop run (a macrotask turn). Long synchronous fuzz runs call it between inputs so vitest's
 * worker keeps answering its runner (a worker blocked for minutes is reported as an RPC timeout).
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Mutations of a valid text, the way a person editing a file or a broken transport gets it wrong. */
export type Mutation =
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'duplicate-line'; readonly line: number }
  | { readonly kind: 'delete-line'; readonly line: number }
  | { readonly kind: 'swap-lines'; readonly line: number; readonly other: number }
  | { readonly kind: 'indent'; readonly line: number; readonly by: number }
  | { readonly kind: 'truncate'; readonly at: number };

/** Applies mutations in order; positions are taken modulo the current length, so every mutation applies. */
export function mutate(text: string, mutations: readonly Mutation[]): string {
  let out = text;
  for (const mutation of mutations) {
    const lines = out.split('\n');
    const line = (n: number): number => (lines.length === 0 ? 0 : n % lines.length);
    const at = (n: number): number => (out.length === 0 ? 0 : n % (out.length + 1));
    switch (mutation.kind) {
      case 'delete':
        out = out.slice(0, at(mutation.at)) + out.slice(at(mutation.at) + mutation.length);
        break;
      case 'insert':
        out = out.slice(0, at(mutation.at)) + mutation.text + out.slice(at(mutation.at));
        break;
      case 'duplicate-line':
        lines.splice(line(mutation.line), 0, lines[line(mutation.line)] ?? '');
        out = lines.join('\n');
        break;
      case 'delete-line':
        lines.splice(line(mutation.line), 1);
        out = lines.join('\n');
        break;
      case 'swap-lines': {
        const a = line(mutation.line);
        const b = line(mutation.other);
        [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
        out = lines.join('\n');
        break;
      }
      case 'indent': {
        const index = line(mutation.line);
        const current = lines[index] ?? '';
        lines[index] = mutation.by >= 0 ? ' '.repeat(mutation.by) + current : current.replace(new RegExp(`^ {0,${-mutation.by}}`), '');
        out = lines.join('\n');
        break;
      }
      case 'truncate':
        out = out.slice(0, at(mutation.at));
        break;
    }
  }
  return out;
}
