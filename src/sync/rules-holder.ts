/**
 * Holds the live rules program and reloads it on request (file watch, SIGHUP, `POST /-/reload`): a file that
 * fails to load is rejected and the last good program stays live. Listeners hear about each new good program
 * (the connector then recomputes every agent's desired state; the writer sends only what changed).
 */
import { createLogger, type Logger } from '../log.ts';
import type { Diagnostic, LoadResult, RulesProgram } from '../rules/index.ts';
import { formatDiagnostic } from '../rules/index.ts';

export type RulesReloadResult = { readonly ok: true; readonly hash: string } | { readonly ok: false; readonly errors: readonly Diagnostic[] };

export interface RulesStatus {
  readonly reloadSuccess: boolean;
  readonly reloads: { readonly success: number; readonly failure: number };
  readonly hash: string | null;
  readonly lastSuccessAt?: number;
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
  /** Loads the file (default: the rules engine's `loadRulesFile`, passed by the caller to keep this pure). */
  readonly load: (file: string) => Promise<LoadResult>;
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
  let running: Promise<RulesReloadResult> | undefined;

  const loadOnce = async (): Promise<RulesReloadResult> => {
    let result: LoadResult;
    try {
      result = await options.load(options.file);
    } catch (error) {
      result = {
        program: null,
        errors: [{ severity: 'error', code: 'file-unreadable', file: options.file, line: 1, column: 1, message: error instanceof Error ? error.message : String(error) }],
        warnings: [],
      };
    }
    if (result.program === null) {
      reloads.failure += 1;
      reloadSuccess = false;
      log.error('rules rejected; the last good rules stay live', {
        file: options.file,
        liveHash: program?.hash ?? null,
        errors: result.errors.slice(0, 10).map(formatDiagnostic),
      });
      return { ok: false, errors: result.errors };
    }
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
      hash: program?.hash ?? null,
      ...(lastSuccessAt === undefined ? {} : { lastSuccessAt }),
    }),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
