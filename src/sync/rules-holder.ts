/**
 * Holds the live rules program and reloads it on request (file watch, SIGHUP, `POST /-/reload`): a file that
 * fails to load is rejected and the last good program stays live. Listeners hear about each new good program
 * (the connector then recomputes every agent's desired state; the writer sends only what changed).
 */
import { createLogger, type Logger } from '../log.ts';
import type { Diagnostic, LoadResult, RulesProgram, VetResult } from '../rules/index.ts';
import { DEFAULT_MAX_RULES_FILE_BYTES, formatDiagnostic, readRulesText, unpackProgram } from '../rules/index.ts';

export type RulesReloadResult = { readonly ok: true; readonly hash: string } | { readonly ok: false; readonly errors: readonly Diagnostic[] };

/** Why a file was refused: it does not load, its own tests fail, or it cannot be read (missing, too large). */
export type RulesRejectionReason = 'errors' | 'tests' | 'unreadable';

export interface RulesRejection {
  readonly reason: RulesRejectionReason;
  /** The first problem, formatted (file:line:column: message). */
  readonly message: string;
  /** Epoch ms. */
  readonly at: number;
}

export interface RulesStatus {
  readonly reloadSuccess: boolean;
  readonly reloads: { readonly success: number; readonly failure: number };
  /** Refused files by reason, since start. */
  readonly rejections: Readonly<Record<RulesRejectionReason, number>>;
  readonly hash: string | null;
  readonly lastSuccessAt?: number;
  /** The last refusal, while the file it refused is the latest attempt (cleared by the next good load). */
  readonly lastRejection?: RulesRejection;
}

export interface RulesHolder {
  /** The live program, or null before the first good load. */
  current(): RulesProgram | null;
  /** Loads the file again; on failure the last good program stays live. Concurrent calls share one load. */
  reload(): Promise<RulesReloadResult>;
  status(): RulesStatus;
  /** Called with each newly loaded good program (also when its hash is unchanged). Returns unsubscribe. */
  onChange(listener: (program: RulesProgram) => void): () => void;
  readonly file: string;
}

export interface RulesHolderOptions {
  readonly file: string;
  /**
   * Loads the file on this thread (tests and embedders). Without it the file is read (up to `maxFileBytes`) and
   * `vet` checks and compiles it, normally on a worker thread, and the accepted program is adopted here packed.
   */
  readonly load?: (file: string) => Promise<LoadResult>;
  /** Parses, lints, compiles and (with `runTests`) tests a file's text: see `vetRules` and the operator job pool. */
  readonly vet?: (text: string, file: string, runTests: boolean) => Promise<VetResult>;
  /** Refuse a file whose own `tests:` fail (default true). */
  readonly runTests?: boolean;
  /** Largest rules file read (default 1 MiB). */
  readonly maxFileBytes?: number;
  readonly now?: () => number;
  readonly logger?: Logger;
}

export function createRulesHolder(options: RulesHolderOptions): RulesHolder {
  const log = options.logger ?? createLogger('sync.rules');
  const now = options.now ?? Date.now;
  const listeners = new Set<(program: RulesProgram) => void>();
  let program: RulesProgram | null = null;
  let reloadSuccess = false;
  let lastSuccessAt: number | undefined;
  const reloads = { success: 0, failure: 0 };
  const rejections: Record<RulesRejectionReason, number> = { errors: 0, tests: 0, unreadable: 0 };
  let lastRejection: RulesRejection | undefined;
  let running: Promise<RulesReloadResult> | undefined;
  const runTests = options.runTests ?? true;

  /** The file as a program, or why not. */
  const attempt = async (): Promise<{ result: LoadResult; reason: RulesRejectionReason }> => {
    if (options.load !== undefined) return { result: await options.load(options.file), reason: 'errors' };
    const read = await readRulesText(options.file, options.maxFileBytes ?? DEFAULT_MAX_RULES_FILE_BYTES);
    if ('error' in read) return { result: { program: null, errors: [read.error], warnings: [] }, reason: 'unreadable' };
    if (options.vet === undefined) throw new Error('rules holder: needs load or vet');
    const vetted = await options.vet(read.text, options.file, runTests);
    if (!vetted.ok) return { result: { program: null, errors: [...vetted.errors], warnings: [] }, reason: vetted.reason };
    // Vetted and compiled elsewhere: the packed table is adopted here as it is (about a millisecond for a 1 MiB
    // file; compiling it again took a couple of hundred on this thread, which serves Stat Server and GC).
    return { result: { program: unpackProgram(vetted.packed, read.text), errors: [], warnings: [...vetted.warnings] }, reason: 'errors' };
  };

  const loadOnce = async (): Promise<RulesReloadResult> => {
    let result: LoadResult;
    let reason: RulesRejectionReason = 'errors';
    try {
      ({ result, reason } = await attempt());
    } catch (error) {
      result = {
        program: null,
        errors: [{ severity: 'error', code: 'file-unreadable', file: options.file, line: 1, column: 1, message: error instanceof Error ? error.message : String(error) }],
        warnings: [],
      };
    }
    if (result.program === null) {
      reloads.failure += 1;
      rejections[reason] += 1;
      reloadSuccess = false;
      const first = result.errors[0];
      lastRejection = { reason, message: first === undefined ? 'rejected' : formatDiagnostic(first), at: now() };
      log.error(reason === 'tests' ? "rules rejected: the file's own tests fail; the last good rules stay live" : 'rules rejected; the last good rules stay live', {
        file: options.file,
        reason,
        liveHash: program?.hash ?? null,
        errors: result.errors.slice(0, 10).map(formatDiagnostic),
      });
      return { ok: false, errors: result.errors };
    }
    lastRejection = undefined;
    const previousHash = program?.hash ?? null;
    program = result.program;
    reloads.success += 1;
    reloadSuccess = true;
    lastSuccessAt = now();
    for (const warning of result.warnings.slice(0, 10)) log.warn('rules warning', { diagnostic: formatDiagnostic(warning) });
    log.info('rules loaded', { file: options.file, hash: program.hash, previousHash, rules: program.rules.length });
    for (const listener of listeners) listener(program);
    return { ok: true, hash: program.hash };
  };

  return {
    file: options.file,
    current: () => program,
    reload() {
      running ??= loadOnce().finally(() => {
        running = undefined;
      });
      return running;
    },
    status: () => ({
      reloadSuccess,
      reloads: { ...reloads },
      rejections: { ...rejections },
      hash: program?.hash ?? null,
      ...(lastSuccessAt === undefined ? {} : { lastSuccessAt }),
      ...(lastRejection === undefined ? {} : { lastRejection }),
    }),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
