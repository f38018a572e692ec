/**
 * Request bodies: read once, up front, from the runtime's own stream (never by rebuilding a `Request`, which
 * `@hono/node-server`'s lightweight request cannot survive under Node), capped in size and time; then parsed as
 * JSON strictly: UTF-8 only, and no key that could reach an object's prototype.
 */
import type { Context } from 'hono';
import { withDeadline } from '../platform/deadline.ts';
import { PROTOTYPE_KEYS } from '../yaml/index.ts';
import { badRequest, OperatorHttpError } from './errors.ts';

/** Decodes request bodies strictly: a body that is not UTF-8 is refused, not repaired with U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });
const EMPTY = new Uint8Array(0);

/** A 413 that closes the connection: the rest of the body is never read. */
export function tooLarge(limitBytes: number): OperatorHttpError {
  // Without `Connection: close` the server resets the connection while the client is still sending, and
  // fetch-style clients see "other side closed" instead of this 413.
  return new OperatorHttpError(413, { error: `request body is larger than ${limitBytes} bytes` }, { connection: 'close' });
}

/**
 * Reads the whole body of `request` (empty for none): a declared length over `limitBytes` is refused before a
 * byte is read, a chunked body as soon as it passes the limit, a body slower than `timeoutMs` gets 408.
 */
export async function readBody(request: Request, limitBytes: number, timeoutMs: number): Promise<Uint8Array> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limitBytes) throw tooLarge(limitBytes);
  if (request.method === 'GET' || request.method === 'HEAD') return EMPTY;
  const stream = request.body;
  if (stream === null) return EMPTY;
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const read = async (): Promise<void> => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      size += value.byteLength;
      if (size > limitBytes) {
        void reader.cancel().catch(() => undefined);
        throw tooLarge(limitBytes);
      }
      chunks.push(value);
    }
  };
  // A slowloris-style body must not hold a request open for good.
  const late = (): Error => {
    void reader.cancel().catch(() => undefined);
    return new OperatorHttpError(408, { error: `request body not received within ${timeoutMs / 1000} s` }, { connection: 'close' });
  };
  await withDeadline(read(), timeoutMs, late);
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** True for `application/json`, with or without parameters; a declared charset must be UTF-8. */
export function isJsonContentType(value: string | null): boolean {
  if (value === null) return false;
  const [type, ...parameters] = value.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  return parameters.every((parameter) => !parameter.startsWith('charset=') || /^charset="?utf-8"?$/.test(parameter));
}

/** Parses a body as JSON: invalid UTF-8, malformed JSON and prototype-bearing keys are 400s. */
export function parseJsonBody(body: Uint8Array): unknown {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    // Replacing bad bytes would silently turn an agent id or reason into another one.
    throw badRequest('request body is not valid UTF-8', { field: '' });
  }
  if (text.trim() === '') throw badRequest('the body is empty: expected a JSON object', { field: '' });
  let forbidden: string | undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, (key, value: unknown) => {
      if (forbidden === undefined && PROTOTYPE_KEYS.has(key)) forbidden = key;
      return value;
    });
  } catch (error) {
    throw badRequest(`malformed JSON: ${error instanceof Error ? error.message : String(error)}`, { field: '' });
  }
  if (forbidden !== undefined) throw badRequest(`the key "${forbidden}" is not allowed in a request body`, { field: forbidden });
  return parsed;
}

const bodies = new WeakMap<Request, Uint8Array>();

/** Keeps the body read for `c`'s request, for the route to use. */
export function keepBody(c: Context, body: Uint8Array): void {
  bodies.set(c.req.raw, body);
}

/** The body read for `c`'s request (empty when none was). */
export function bodyOf(c: Context): Uint8Array {
  return bodies.get(c.req.raw) ?? EMPTY;
}
