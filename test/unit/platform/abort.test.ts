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
      // A plain controller with as many listeners does warn, so this test can tell the two apart.
      const plain = new AbortController();
      for (let index = 0; index < 50; index += 1) plain.signal.addEventListener('abort', () => undefined);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual(['MaxListenersExceededWarning']);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
