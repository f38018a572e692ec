import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { sharedAbortController } from '../../../src/platform/abort.ts';

describe('sharedAbortController', () => {
  it('lets many operations wait on one signal without a MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const controller = sharedAbortController();
      const aborted = Array.from({ length: 50 }, () => once(controller.signal, 'abort'));
      controller.abort();
      await Promise.all(aborted);
      await new Promise((resolve) => setImmediate(resolve));
      // A plain controller warns at its 11th listener (Node's default cap of 10). That control case is not run
      // here: the warning would print on the test run's stderr.
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
