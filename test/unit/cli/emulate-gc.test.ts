import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/capture-io.ts';


describe('exas emulate gc: strictness flags', () => {
  it('documents --lenient, --off-queue-unless-on-queue and the permissions control route in its help', async () => {
    const { code, stdout } = await runCli(['emulate', 'gc', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--lenient');
    expect(stdout).toContain('--off-queue-unless-on-queue');
    expect(stdout).toContain('PUT /emulator/clients/{clientId}/permissions');
  });

  it('refuses a --clients file whose permissions are malformed, naming the entry, before it starts anything', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'exas-emulate-')), 'clients.json');
    writeFileSync(file, JSON.stringify([{ clientId: 'reader', clientSecret: 's', permissions: ['presence:source:view', 'not a permission'] }]));
    const { code, stderr } = await runCli(['emulate', 'gc', '--clients', file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}[0]: permissions[1] must look like domain:entity:action`);
  });
});
