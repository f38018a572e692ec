/** `exas demo --lenient` asks for both emulators as kind as the first build; strict is the default. */
import { describe, expect, it } from 'vitest';
import { parseDemoArgs } from '../../../src/cli/demo.ts';
import { demoOptions } from '../../../src/demo/index.ts';

describe('exas demo flags', () => {
  it('--fresh-org starts from a new org; without it the org is migrated already', () => {
    expect(parseDemoArgs(['--fresh-org'])?.options.freshOrg).toBe(true);
    expect(demoOptions(parseDemoArgs([])!.options).freshOrg).toBe(false);
  });

  it('--lenient sets lenient; without it the demo runs strict emulators', () => {
    expect(parseDemoArgs(['--lenient'])?.options.lenient).toBe(true);
    expect(parseDemoArgs([])?.options.lenient).toBeUndefined();
    expect(demoOptions(parseDemoArgs([])!.options).lenient).toBe(false);
    expect(demoOptions(parseDemoArgs(['--lenient'])!.options).lenient).toBe(true);
  });
});
