/**
 * Token scopes of the operator surface: the `read` token sees the status API, `/agents` and live data in dry
 * runs; the `admin` token does that and also reloads, pauses and resumes. With no token configured everything
 * is open (loopback only, unless the config says otherwise on purpose).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { OperatorHttpError } from './errors.ts';

/** What a request may do: `none` is an anonymous caller when tokens are configured. */
export type Grant = 'none' | 'read' | 'admin';
export type Scope = 'read' | 'admin';

/** RFC 6750 token characters (what a `Bearer` header can carry). */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~+/-]+=*$/;

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Compares in constant time (over fixed-length digests, so the length of the token does not leak either). */
function sameToken(given: Buffer, expected: Buffer | undefined): boolean {
  return expected !== undefined && timingSafeEqual(given, expected);
}

/** True when two secrets are equal, compared in constant time (for configuration checks). */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** Resolves a request's `Authorization` header to a grant. Throws 400 for a malformed header, 401 for a wrong token. */
export function grantResolver(adminToken: string | undefined, readToken: string | undefined): (authorization: string | null) => Grant {
  if (adminToken === undefined) return () => 'admin';
  const admin = digest(adminToken);
  const read = readToken === undefined ? undefined : digest(readToken);
  return (authorization) => {
    if (authorization === null) return 'none';
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(authorization);
    if (!match) {
      throw new OperatorHttpError(400, { error: 'malformed Authorization header: expected "Bearer <token>"' }, { 'www-authenticate': 'Bearer realm="exas", error="invalid_request"' });
    }
    const given = digest(match[1]!);
    // Both comparisons always run: which token matched must not show in the time taken either.
    const isAdmin = sameToken(given, admin);
    const isRead = sameToken(given, read);
    if (isAdmin) return 'admin';
    if (isRead) return 'read';
    throw unauthorized('invalid_token');
  };
}

/** True when `grant` covers `scope`. */
export function covers(grant: Grant, scope: Scope): boolean {
  return grant === 'admin' || (grant === 'read' && scope === 'read');
}

/** The 401 (or 403 for a read token on an admin route) a request without enough grant gets. */
export function refusal(grant: Grant, scope: Scope): OperatorHttpError {
  if (grant === 'read') return new OperatorHttpError(403, { error: 'forbidden: this needs the admin token; the read token only reads' });
  return unauthorized();
}

function unauthorized(error?: 'invalid_token'): OperatorHttpError {
  return new OperatorHttpError(
    401,
    { error: 'unauthorized: send the admin (or, to read, the read) token as "Authorization: Bearer <token>"' },
    { 'www-authenticate': `Bearer realm="exas"${error ? `, error="${error}"` : ''}` },
  );
}
