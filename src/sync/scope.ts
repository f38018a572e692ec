/**
 * Scope: which Engage agents EXAS syncs. A scope provider returns the agent ids; `diffScope` says who entered
 * and who left since the last refresh, so the connector opens statistics for the first and closes them for the
 * second (leaving their GC users as they are).
 */
import { readFile } from 'node:fs/promises';

/** Returns the agent ids in scope now. Throws when the scope cannot be read (the last scope then stays). */
export type ScopeProvider = (signal?: AbortSignal) => Promise<string[]>;

export interface ScopeChange {
  readonly entered: string[];
  readonly left: string[];
}

/** Agents in `next` but not `previous` (entered) and in `previous` but not `next` (left), in input order. */
export function diffScope(previous: ReadonlySet<string>, next: ReadonlyArray<string>): ScopeChange {
  const nextSet = new Set(next);
  const entered = [...nextSet].filter((agentId) => !previous.has(agentId));
  const left = [...previous].filter((agentId) => !nextSet.has(agentId));
  return { entered, left };
}

/** A fixed list (config `scope.agents`). */
export function listScope(agentIds: ReadonlyArray<string>): ScopeProvider {
  const copy = [...new Set(agentIds)];
  return async () => [...copy];
}

/** One agent id per line; blank lines and `#` comments ignored. Re-read at every refresh. */
export function fileScope(path: string): ScopeProvider {
  return async () => parseScopeText(await readFile(path, 'utf8'));
}

export function parseScopeText(text: string): string[] {
  const ids = text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
  return [...new Set(ids)];
}
