/**
 * An emulation of the Kubernetes API server's `coordination.k8s.io/v1` Lease endpoints, as documented (API
 * reference "Lease v1 coordination.k8s.io" and "API Concepts: resource versions / conflicts"), for testing
 * EXAS's Kubernetes lease client where no API server can be installed:
 * - GET  .../namespaces/{ns}/leases/{name}: 200 with the object, or 404 `Status` (reason NotFound);
 * - POST .../namespaces/{ns}/leases: 201; 409 AlreadyExists; 400 when the body's namespace differs from the path;
 *   422 without metadata.name, with a resourceVersion set, or with an invalid spec;
 * - PUT  .../namespaces/{ns}/leases/{name}: 200; 404 when absent; 422 without metadata.resourceVersion (Leases do
 *   not allow unconditional updates) or with an invalid spec; 409 Conflict when the resourceVersion is stale;
 * - every request needs `Authorization: Bearer <token>` when a token is set (401 `Status` otherwise);
 * - resourceVersion is an opaque string that changes on every write.
 * `unavailable` makes it answer 503 (an API server outage).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Buffer } from 'node:buffer';

export interface StoredLease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion: string; uid: string; creationTimestamp: string };
  spec: Record<string, unknown>;
}

export interface KubeLeaseApi {
  readonly url: string;
  lease(namespace: string, name: string): StoredLease | undefined;
  /** Method and path of every request, in order. */
  readonly requests: Array<{ method: string; path: string; status: number }>;
  unavailable: boolean;
  close(): Promise<void>;
}

const PREFIX = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/leases(?:\/([^/]+))?$/;

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

/** Field checks of LeaseSpec (validation.ValidateLeaseSpec): durations positive, transitions not negative. */
function specProblems(spec: unknown): string[] {
  if (spec === undefined) return [];
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) return ['spec: Invalid value: must be an object'];
  const s = spec as Record<string, unknown>;
  const problems: string[] = [];
  const duration = s['leaseDurationSeconds'];
  if (duration !== undefined && duration !== null && (!Number.isInteger(duration) || (duration as number) <= 0)) problems.push('spec.leaseDurationSeconds: Invalid value: must be greater than 0');
  const transitions = s['leaseTransitions'];
  if (transitions !== undefined && transitions !== null && (!Number.isInteger(transitions) || (transitions as number) < 0)) problems.push('spec.leaseTransitions: Invalid value: must be greater than or equal to 0');
  for (const key of ['acquireTime', 'renewTime']) {
    const value = s[key];
    if (value !== undefined && value !== null && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) problems.push(`spec.${key}: Invalid value: must be an RFC 3339 time`);
  }
  const holder = s['holderIdentity'];
  if (holder !== undefined && holder !== null && typeof holder !== 'string') problems.push('spec.holderIdentity: Invalid value: must be a string');
  return problems;
}

export async function startKubeLeaseApi(options: { token?: string } = {}): Promise<KubeLeaseApi> {
  const leases = new Map<string, StoredLease>();
  const requests: KubeLeaseApi['requests'] = [];
  let revision = 1000;
  let uid = 0;
  const api: { unavailable: boolean } = { unavailable: false };

  const handle = (method: string, path: string, headers: IncomingMessage['headers'], body: unknown): [number, unknown] => {
    if (api.unavailable) return [503, status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request')];
    if (options.token !== undefined && headers['authorization'] !== `Bearer ${options.token}`) return [401, status(401, 'Unauthorized', 'Unauthorized')];
    const match = PREFIX.exec(path);
    if (match === null) return [404, status(404, 'NotFound', 'the server could not find the requested resource')];
    const namespace = match[1]!;
    const name = match[3] === undefined ? undefined : decodeURIComponent(match[3]);
    const key = (n: string): string => `${namespace}/${n}`;
    const notFound = (n: string): [number, unknown] => [404, status(404, 'NotFound', `leases.coordination.k8s.io "${n}" not found`)];
    if (method === 'GET' && name !== undefined) {
      const found = leases.get(key(name));
      return found === undefined ? notFound(name) : [200, found];
    }
    if (body === null || typeof body !== 'object' || (body as { kind?: unknown }).kind !== 'Lease') {
      return [400, status(400, 'BadRequest', 'the body must be a coordination.k8s.io/v1 Lease')];
    }
    const object = body as { metadata?: Record<string, unknown>; spec?: unknown };
    const metadata = object.metadata ?? {};
    if (metadata['namespace'] !== undefined && metadata['namespace'] !== namespace) {
      return [400, status(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request')];
    }
    const problems = specProblems(object.spec);
    if (problems.length > 0) return [422, status(422, 'Invalid', `Lease.coordination.k8s.io is invalid: ${problems.join(', ')}`)];
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (method === 'POST' && name === undefined) {
      const objectName = metadata['name'];
      if (typeof objectName !== 'string' || objectName === '') return [422, status(422, 'Invalid', 'Lease.coordination.k8s.io is invalid: metadata.name: Required value: name or generateName is required')];
      if (metadata['resourceVersion'] !== undefined && metadata['resourceVersion'] !== '') {
        return [422, status(422, 'Invalid', 'Lease.coordination.k8s.io is invalid: metadata.resourceVersion: Invalid value: must not be set on objects to be created')];
      }
      if (leases.has(key(objectName))) return [409, status(409, 'AlreadyExists', `leases.coordination.k8s.io "${objectName}" already exists`)];
      revision += 1;
      uid += 1;
      const stored: StoredLease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: objectName, namespace, resourceVersion: String(revision), uid: `lease-${uid}`, creationTimestamp: now },
        spec: (object.spec ?? {}) as Record<string, unknown>,
      };
      leases.set(key(objectName), stored);
      return [201, stored];
    }
    if (method === 'PUT' && name !== undefined) {
      if (metadata['name'] !== name) return [400, status(400, 'BadRequest', 'the name of the object does not match the name on the URL')];
      const current = leases.get(key(name));
      if (current === undefined) return notFound(name);
      const version = metadata['resourceVersion'];
      if (typeof version !== 'string' || version === '') {
        return [422, status(422, 'Invalid', 'Lease.coordination.k8s.io is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update')];
      }
      if (version !== current.metadata.resourceVersion) {
        return [409, status(409, 'Conflict', `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`)];
      }
      revision += 1;
      const stored: StoredLease = { ...current, metadata: { ...current.metadata, resourceVersion: String(revision) }, spec: (object.spec ?? {}) as Record<string, unknown> };
      leases.set(key(name), stored);
      return [200, stored];
    }
    return [405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`)];
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      let code: number;
      let answer: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
        [code, answer] = handle(req.method ?? 'GET', new URL(req.url ?? '/', 'http://x').pathname, req.headers, body);
      } catch {
        [code, answer] = [400, status(400, 'BadRequest', 'the body is not valid JSON')];
      }
      requests.push({ method: req.method ?? '', path: req.url ?? '', status: code });
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    lease: (namespace, name) => leases.get(`${namespace}/${name}`),
    requests,
    get unavailable() {
      return api.unavailable;
    },
    set unavailable(value: boolean) {
      api.unavailable = value;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
