/** Small helpers for calling an operator app in tests. */
import type { Hono } from 'hono';

export const CANDIDATE_BUSY = 'version: 1\nrules:\n  - name: everyone-busy\n    presence: Busy\n    routingStatus: OffQueue\n';
export const CANDIDATE_BROKEN = 'version: 1\nrules:\n  - name: x\n    presence: Busy\n    routingStatus: Sleeping\n    colour: red\n';

export function postJson(app: Hono, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return Promise.resolve(
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
}

export async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}
