/**
 * Browser-origin defences of the operator surface, as Prometheus and Envoy admin endpoints have them:
 * - Host: UI, API and admin routes answer only requests addressed to a loopback name, the bound address or a
 *   configured name, so a DNS-rebinding page (attacker.example resolving to 127.0.0.1) is refused;
 * - Origin: a state-changing request a browser sends from another origin (a cross-site form or fetch) is refused;
 * - Content-Type: a body must be `application/json`, which no cross-site form can send without a CORS preflight
 *   (and the server answers no preflight).
 */
import { isLoopbackName } from '../platform/loopback.ts';
import { OperatorHttpError } from './errors.ts';
import { isJsonContentType } from './body.ts';

const WILDCARD_ADDRESSES = new Set(['0.0.0.0', '::', '[::]', '']);

/** Methods that never change state (nor carry a body the server reads). */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD';
}

/** The host name of a `Host` header value (`example:8080` → `example`, `[::1]:80` → `::1`), lower case. */
export function hostNameOf(host: string): string {
  const trimmed = host.trim().toLowerCase();
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(trimmed);
  if (bracketed) return bracketed[1]!;
  const colon = trimmed.lastIndexOf(':');
  // A bare IPv6 address has several colons and no port.
  if (colon >= 0 && trimmed.indexOf(':') === colon) return trimmed.slice(0, colon);
  return trimmed.replace(/\.$/, '');
}

export { isLoopbackName };

/** True when `listenHost` is a loopback address or name (the operator server is then reachable only locally). */
export function isLoopbackListen(listenHost: string): boolean {
  return isLoopbackName(listenHost);
}

/**
 * Decides which `Host` values the UI, API and admin routes answer: loopback names, the address the server is
 * bound to (unless it is a wildcard such as 0.0.0.0) and `allowedHosts` (names, case-insensitive, no port).
 */
export function hostPolicy(listenHost: string, allowedHosts: readonly string[]): (host: string) => boolean {
  const allowed = new Set(allowedHosts.map((name) => hostNameOf(name)));
  const bound = hostNameOf(listenHost);
  if (!WILDCARD_ADDRESSES.has(bound)) allowed.add(bound);
  return (host) => {
    const name = hostNameOf(host);
    return isLoopbackName(name) || allowed.has(name);
  };
}

/** Throws 403 unless the request's `Host` is one `accepts` takes. */
export function checkHost(request: Request, accepts: (host: string) => boolean): void {
  const host = request.headers.get('host') ?? new URL(request.url).host;
  if (!accepts(host)) {
    throw new OperatorHttpError(403, {
      error: `requests for host '${host.slice(0, 100)}' are refused: use a loopback address, or add the name to http.allowedHosts`,
    });
  }
}

/**
 * Throws 403 for a state-changing request a browser sent from another origin: an `Origin` that is not this
 * server's own (`http://` + the Host asked for), an opaque `null` origin, or `Sec-Fetch-Site: cross-site`.
 * Requests without these headers (curl, scripts, kubectl) are not browsers' and pass.
 */
export function checkOrigin(request: Request): void {
  if (isSafeMethod(request.method)) return;
  const origin = request.headers.get('origin');
  const host = request.headers.get('host') ?? new URL(request.url).host;
  const own = new Set([`http://${host.toLowerCase()}`, `https://${host.toLowerCase()}`]);
  if (origin !== null && !own.has(origin.toLowerCase())) {
    throw new OperatorHttpError(403, { error: `cross-origin request refused: Origin ${origin.slice(0, 100)} is not this server's own` });
  }
  const site = request.headers.get('sec-fetch-site');
  if (site === 'cross-site' || site === 'same-site') throw new OperatorHttpError(403, { error: `cross-origin request refused (Sec-Fetch-Site: ${site})` });
}

/** Throws 415 for a non-empty body that is not `application/json`. */
export function checkContentType(request: Request, body: Uint8Array): void {
  if (body.byteLength === 0) return;
  const type = request.headers.get('content-type');
  if (!isJsonContentType(type)) {
    throw new OperatorHttpError(415, { error: `request bodies must be application/json (got ${type === null ? 'no Content-Type' : type.slice(0, 100)})` });
  }
}
