/**
 * One way for tests to start a server on an ephemeral loopback port and be sure it stops:
 * `const server = await started(() => startSomething({ port: 0 }))` registers `close()` with vitest's
 * `onTestFinished`/`afterAll` so no test leaks a listening socket.
 */
import { afterAll } from 'vitest';

export interface Closable {
  close(): Promise<void>;
}

/** Starts a server (or anything closable) and closes it after the current test file. */
export async function started<T extends Closable>(start: () => Promise<T>): Promise<T> {
  const value = await start();
  afterAll(() => value.close());
  return value;
}
