/**
 * A real etcd for tests (Debian's etcd-server, `/usr/bin/etcd`, installed by .ci/run): started on loopback
 * ports picked free just before, with a temporary data dir; stopped and removed by `close()`. `stop()` and
 * `start()` take it down and up again on the same ports and data (an etcd outage), `kill()` is SIGKILL.
 * Plain node APIs only, so Deno smoke scripts can use it too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';

export const ETCD_BINARY = process.env['EXAS_ETCD_BINARY'] ?? '/usr/bin/etcd';

export interface TestEtcd {
  readonly url: string;
  readonly clientPort: number;
  /** SIGTERM, and wait for the exit (the data stays). */
  stop(): Promise<void>;
  /** Starts it again on the same ports and data; resolves once it answers. */
  start(): Promise<void>;
  readonly running: boolean;
  /** Stops it and removes its data dir. */
  close(): Promise<void>;
  /** The last lines etcd wrote (for a failing test's message). */
  output(): string;
}

/** A loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startEtcd(): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'exas-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const lines: string[] = [];

  const start = async (): Promise<void> => {
    if (child !== undefined) return;
    const next = spawn(
      ETCD_BINARY,
      [
        '--name', 'default',
        '--data-dir', join(dir, 'data'),
        '--listen-client-urls', url,
        '--advertise-client-urls', url,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `default=${peer}`,
        '--log-level', 'warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = next;
    next.stderr?.on('data', (chunk: Buffer) => {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      if (lines.length > 50) lines.splice(0, lines.length - 50);
    });
    exited = new Promise((resolve) => next.once('exit', () => resolve()));
    void exited.then(() => {
      if (child === next) child = undefined;
    });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child !== next) throw new Error(`etcd exited at start: ${lines.slice(-5).join(' | ')}`);
      try {
        const response = await fetch(`${url}/health`);
        const body = (await response.json()) as { health?: string };
        if (body.health === 'true') return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`etcd did not answer within 15 s: ${lines.slice(-5).join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const stop = async (): Promise<void> => {
    const current = child;
    if (current === undefined) return;
    current.kill('SIGTERM');
    await exited;
    child = undefined;
  };

  await start();
  return {
    url,
    clientPort,
    start,
    stop,
    get running() {
      return child !== undefined;
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
    output: () => lines.join('\n'),
  };
}
