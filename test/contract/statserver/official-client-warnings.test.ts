/**
 * The official Statistics API client loads without a process warning. Its pinned winston 2.4.0 printed
 * "Accessing non-existent property 'padLevels' of module exports inside circular dependency" on every test run;
 * package.json overrides it with winston 2.4.7, which loads cleanly. Run in a fresh Node so the warning would show.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('genesys-statistics-client-js', () => {
  it('loads in a fresh Node process with nothing on stderr (no circular-dependency warning)', () => {
    const result = spawnSync(process.execPath, ['-e', "require('genesys-statistics-client-js'); process.stdout.write('loaded')"], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('loaded');
    expect(result.stderr).toBe('');
  });
});
