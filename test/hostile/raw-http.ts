/**
 * A raw TCP client for hostile-input tests: sends exactly the bytes a test writes (slowly, malformed, oversized)
 * and collects what the server answers until it closes the connection.
 */
import { connect, type Socket } from 'node:net';

export interface RawConnection {
  readonly socket: Socket;
  /** Writes bytes; resolves when flushed (false when the server already closed the connection). */
  write(bytes: string | Uint8Array): Promise<boolean>;
  /** Everything received so far, as latin1 text (status line and headers are ASCII). */
  received(): string;
  /** Resolves with everything received once the server closes the connection. */
  readonly closed: Promise<string>;
  /** Resolves once the received text matches `pattern`. */
  waitFor(pattern: RegExp): Promise<string>;
  destroy(): void;
}

export function openRaw(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    const waiters: Array<{ pattern: RegExp; done: (text: string) => void }> = [];
    const text = (): string => Buffer.concat(chunks).toString('latin1');
    let open = true;
    const closed = new Promise<string>((done) => socket.once('close', () => done(text())));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      for (const waiter of [...waiters]) {
        if (waiter.pattern.test(text())) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.done(text());
        }
      }
    });
    socket.on('close', () => {
      open = false;
    });
    socket.on('error', () => {
      // A reset after the server has answered is expected for some hostile inputs; `closed` still resolves.
    });
    socket.once('connect', () =>
      resolve({
        socket,
        write: (bytes) =>
          new Promise((done) => {
            if (!open || socket.destroyed) return done(false);
            socket.write(bytes, (error) => done(error === undefined || error === null));
          }),
        received: text,
        closed,
        waitFor: (pattern) =>
          new Promise((done, fail) => {
            if (pattern.test(text())) return done(text());
            waiters.push({ pattern, done });
            void closed.then((all) => (pattern.test(all) ? done(all) : fail(new Error(`connection closed without ${pattern}; received: ${all.slice(0, 300)}`))));
          }),
        destroy: () => socket.destroy(),
      }),
    );
    socket.once('error', reject);
  });
}

/** Writes `bytes` one chunk at a time, `intervalMs` apart, until done or the server closes the connection. */
export async function trickle(connection: RawConnection, bytes: string, chunkSize: number, intervalMs: number): Promise<number> {
  let sent = 0;
  while (sent < bytes.length) {
    const ok = await connection.write(bytes.slice(sent, sent + chunkSize));
    if (!ok) break;
    sent += chunkSize;
    // The pacing is the input under test (a slow client), not a wait for an outcome.
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    if (connection.socket.destroyed || connection.socket.readableEnded) break;
  }
  return sent;
}
