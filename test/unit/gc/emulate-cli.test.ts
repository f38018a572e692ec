import { describe, expect, it } from 'vitest';
import { emulate } from '../../../src/cli/emulate.ts';
import type { CliIo } from '../../../src/cli/io.ts';

function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (text) => void stdout.push(text), err: (text) => void stderr.push(text), readStdin: async () => '', colour: false };
}

describe('exas emulate gc', () => {
  it('prints its usage with the default credentials', async () => {
    const io = captureIo();
    expect(await emulate(['gc', '--help'], io)).toBe(0);
    expect(io.stdout.join('')).toContain('exas-demo / exas-demo-secret');
  });

  it('refuses unknown flags and contradictory user options with exit code 2', async () => {
    const unknown = captureIo();
    expect(await emulate(['gc', '--nonsense'], unknown)).toBe(2);
    const both = captureIo();
    expect(await emulate(['gc', '--users', 'x.json', '--users-count', '3'], both)).toBe(2);
    expect(both.stderr.join('')).toContain('not both');
  });
});
