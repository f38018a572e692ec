/** The one piece of the rules stage that does I/O: reading a rules file from disk. */
import { readFile } from 'node:fs/promises';
import { loadRules, type LoadResult } from './load.ts';

/** Reads and loads a rules file; an unreadable file is an error Diagnostic at 1:1. Never throws. */
export async function loadRulesFile(path: string): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : error instanceof Error ? error.message : String(error);
    return { program: null, errors: [{ severity: 'error', code: 'file-unreadable', file: path, line: 1, column: 1, message: `cannot read rules file: ${reason}` }], warnings: [] };
  }
  return loadRules(text, path);
}
