/** The one piece of the rules stage that does I/O: reading a rules file from disk. */
import { open } from 'node:fs/promises';
import { loadRules, type LoadResult } from './load.ts';
import type { Diagnostic } from './diagnostic.ts';

/** Largest rules file read by default (1 MiB): real files are a few KiB; a huge one would hold memory and CPU. */
export const DEFAULT_MAX_RULES_FILE_BYTES = 1024 * 1024;

/** A rules file's text, or the error Diagnostic (at 1:1) saying why it cannot be used. */
export type RulesText = { readonly text: string } | { readonly error: Diagnostic };

/**
 * Reads a rules file, refusing one larger than `maxBytes` before reading it (the size is checked on the open
 * file, so a file swapped in between cannot slip past). Never throws.
 */
export async function readRulesText(path: string, maxBytes = DEFAULT_MAX_RULES_FILE_BYTES): Promise<RulesText> {
  const fail = (message: string, code = 'too-large'): RulesText => ({ error: { severity: 'error', code, file: path, line: 1, column: 1, message } });
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size > maxBytes) return fail(`the rules file is ${size} bytes; at most ${maxBytes} are read (rules.maxFileBytes)`);
      // Read one byte more than allowed: a file that grew since the stat is refused rather than cut short.
      const buffer = new Uint8Array(maxBytes + 1);
      let length = 0;
      for (;;) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
        if (length > maxBytes) return fail(`the rules file is larger than ${maxBytes} bytes (rules.maxFileBytes)`);
      }
      return { text: new TextDecoder().decode(buffer.subarray(0, length)) };
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : error instanceof Error ? error.message : String(error);
    return fail(`cannot read rules file: ${reason}`, 'file-unreadable');
  }
}

/** Reads and loads a rules file; an unreadable or oversized file is an error Diagnostic at 1:1. Never throws. */
export async function loadRulesFile(path: string, maxBytes = DEFAULT_MAX_RULES_FILE_BYTES): Promise<LoadResult> {
  const read = await readRulesText(path, maxBytes);
  if ('error' in read) return { program: null, errors: [read.error], warnings: [] };
  return loadRules(read.text, path);
}
