/**
 * A recording HTTP proxy in front of the GC emulator: every request, with the time it arrived, the writer's
 * identity (EXAS names itself in `User-Agent` with `ha`) and the answer's status. The high-availability tests and
 * chaos phases judge "never two writers" from it, not from what EXAS says about itself.
 */
import { Buffer } from 'node:buffer';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface GcRequestRecord {
  /** Epoch ms the request arrived. */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** The identity in `User-Agent: exas/<version> (<identity>)`, or the whole header when it has none. */
  readonly instance: string;
  /** Set once the answer came back (0: the connection failed). */
  status: number;
  readonly write: boolean;
  /** For an inject write: how many users' events it carried (set once its body was read). */
  entries: number;
}

export interface GcRequestLog {
  readonly url: string;
  readonly records: GcRequestRecord[];
  /** Only the GC writes (inject, per-user presence and routing status, primary source changes). */
  writes(): GcRequestRecord[];
  close(): Promise<void>;
}

/** GC requests that change what a user shows (or where their presence comes from). */
export function isGcWrite(method: string, path: string): boolean {
  if (method === 'GET' || method === 'HEAD') return false;
  return /^\/api\/v2\/(events\/users\/(presence|routingstatus)|users\/[^/]+\/(presences\/[^/]+|routingstatus)|presence\/users\/[^/]+\/primarysource)(\?|$)/.test(path);
}

export function instanceOf(userAgent: string | undefined): string {
  const match = /\(([^)]+)\)/.exec(userAgent ?? '');
  return match?.[1] ?? userAgent ?? '';
}

export async function startGcRequestLog(targetUrl: string): Promise<GcRequestLog> {
  const target = new URL(targetUrl);
  const records: GcRequestRecord[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    const record: GcRequestRecord = {
      at: Date.now(),
      method: req.method ?? 'GET',
      path,
      instance: instanceOf(req.headers['user-agent']),
      status: 0,
      write: isGcWrite(req.method ?? 'GET', path),
      entries: 0,
    };
    records.push(record);
    if (record.write) {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
          record.entries = Array.isArray(body) ? body.length : 1;
        } catch {
          record.entries = 0;
        }
      });
    }
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path, headers: { ...req.headers, host: target.host } },
      (answer) => {
        record.status = answer.statusCode ?? 0;
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    records,
    writes: () => records.filter((record) => record.write),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Pairs of writes by different instances that overlap beyond `marginMs`: a write by X that arrived after Y's
 * first write following X's last one, where both kept writing (X at `x`, Y before and after it, more than
 * `marginMs` apart on each side, all within `windowMs`). A clean handover has none: the old writer's last
 * request (at most one request timeout late) comes before, or within the margin of, the new writer's first.
 */
export function overlappingWrites(writes: readonly GcRequestRecord[], marginMs: number, windowMs: number): Array<{ at: number; instance: string; other: string }> {
  const sorted = [...writes].sort((a, b) => a.at - b.at);
  const out: Array<{ at: number; instance: string; other: string }> = [];
  for (let i = 0; i < sorted.length; i += 1) {
    const x = sorted[i]!;
    // Y wrote before x (more than the margin before) and after x (more than the margin after), within the window.
    let before: GcRequestRecord | undefined;
    for (let j = i - 1; j >= 0 && x.at - sorted[j]!.at <= windowMs; j -= 1) {
      if (sorted[j]!.instance !== x.instance && x.at - sorted[j]!.at > marginMs) {
        before = sorted[j];
        break;
      }
    }
    if (before === undefined) continue;
    const after = sorted.find((y, k) => k > i && y.instance === before!.instance && y.at - x.at > marginMs && y.at - before!.at <= windowMs);
    if (after !== undefined) out.push({ at: x.at, instance: x.instance, other: before.instance });
  }
  return out;
}
