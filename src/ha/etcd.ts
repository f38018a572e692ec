/**
 * The etcd backend: a v3 lease with a TTL of the lease duration, and an election on one key bound to it.
 *
 * Election by compare-and-create: `txn(if create_revision(key) == 0 then put(key, identity, lease) else
 * range(key))` takes the key only when nobody holds it and otherwise reads the holder; the key lives exactly as
 * long as the holder's lease, so a holder that stops renewing (dead, cut off) loses it `durationSeconds` after
 * its last renewal reached etcd. This is the primitive etcd's own election service is built on; using the
 * transaction directly keeps every call short (the service's `campaign` is a long poll that blocks until
 * leadership, which a request timeout or a proxy would cut), and `etcdctl get KEY` shows the holder.
 *
 * Spoken over etcd's JSON gateway (`/v3/...`, base64 keys and values, 64-bit numbers as strings), see
 * PROBES.md; with `username`/`password` a token from `/v3/auth/authenticate` goes in `Authorization`.
 */
import { Buffer } from 'node:buffer';
import { CoordinationError, requestJson, type TlsFiles } from './http-json.ts';
import type { LeaseBackend, LeaseObservation } from './types.ts';

export interface EtcdLeaseOptions {
  /** Client URLs (`http://10.0.0.5:2379`); tried in turn when one does not answer. */
  readonly endpoints: readonly string[];
  /** The lease's name: the key is `/exas/leases/<name>`. */
  readonly name: string;
  readonly identity: string;
  readonly durationSeconds: number;
  readonly tls?: TlsFiles;
  /** etcd user and password (auth enabled); the password is read at each authentication. */
  readonly username?: string;
  readonly password?: () => string;
  /** Per request (default 2 000 ms): an attempt must end well inside the renewal interval. */
  readonly timeoutMs?: number;
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
const unb64 = (text: unknown): string | null => (typeof text === 'string' ? Buffer.from(text, 'base64').toString('utf8') : null);

interface Kv {
  readonly value?: string;
  readonly lease?: string;
}

/** The key a lease of `name` lives under. */
export function etcdLeaseKey(name: string): string {
  return `/exas/leases/${name}`;
}

export function createEtcdLease(options: EtcdLeaseOptions): LeaseBackend {
  if (options.endpoints.length === 0) throw new Error('etcd lease: at least one endpoint is needed');
  const key = b64(etcdLeaseKey(options.name));
  const identity = b64(options.identity);
  const timeoutMs = options.timeoutMs ?? 2_000;
  const endpoints = options.endpoints.map((endpoint) => endpoint.replace(/\/+$/, ''));
  let current = 0;
  let leaseId: string | undefined;
  let token: string | undefined;

  /** One gateway call; moves on to the next endpoint after a network error (the last error is thrown). */
  const call = async (path: string, body: unknown, signal?: AbortSignal, authRetry = true): Promise<Record<string, unknown>> => {
    let lastError: unknown;
    for (let tried = 0; tried < endpoints.length; tried += 1) {
      const base = endpoints[current]!;
      let response;
      try {
        if (options.username !== undefined && token === undefined) token = await authenticate(base, signal);
        response = await requestJson({
          method: 'POST',
          url: `${base}${path}`,
          body,
          timeoutMs,
          ...(options.tls === undefined ? {} : { tls: options.tls }),
          ...(token === undefined ? {} : { headers: { authorization: token } }),
          ...(signal === undefined ? {} : { signal }),
        });
      } catch (error) {
        lastError = error;
        if (signal?.aborted) break;
        current = (current + 1) % endpoints.length;
        continue;
      }
      const answer = (response.body ?? {}) as Record<string, unknown>;
      if (response.status === 200) return answer;
      const message = typeof answer['message'] === 'string' ? answer['message'] : typeof answer['error'] === 'string' ? answer['error'] : `HTTP ${response.status}`;
      // An expired or revoked auth token: authenticate again once.
      if (token !== undefined && authRetry && /token|auth/i.test(message) && response.status !== 404) {
        token = undefined;
        return call(path, body, signal, false);
      }
      throw new CoordinationError(`etcd ${path}: ${message}`, response.status);
    }
    throw lastError instanceof Error ? lastError : new Error(`etcd: no endpoint answered (${endpoints.join(', ')})`);
  };

  const authenticate = async (base: string, signal?: AbortSignal): Promise<string> => {
    const response = await requestJson({
      method: 'POST',
      url: `${base}/v3/auth/authenticate`,
      body: { name: options.username, password: options.password?.() ?? '' },
      timeoutMs,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      ...(signal === undefined ? {} : { signal }),
    });
    const answer = (response.body ?? {}) as Record<string, unknown>;
    if (response.status !== 200 || typeof answer['token'] !== 'string') {
      // The password never goes into the message; etcd's own message says what was wrong.
      throw new CoordinationError(`etcd authentication as ${options.username} failed: ${typeof answer['message'] === 'string' ? answer['message'] : `HTTP ${response.status}`}`, response.status);
    }
    return answer['token'];
  };

  /** Keeps our lease alive, or grants a new one when it expired (cut off longer than the TTL) or never existed. */
  const ensureLease = async (signal?: AbortSignal): Promise<string> => {
    if (leaseId !== undefined) {
      const answer = await call('/v3/lease/keepalive', { ID: leaseId }, signal);
      const result = (answer['result'] ?? {}) as Record<string, unknown>;
      // etcd answers TTL 0 (omitted in JSON) for a lease it no longer has.
      if (Number(result['TTL'] ?? 0) > 0) return leaseId;
      leaseId = undefined;
    }
    const granted = await call('/v3/lease/grant', { TTL: String(options.durationSeconds) }, signal);
    if (typeof granted['ID'] !== 'string' || typeof granted['TTL'] !== 'string') throw new CoordinationError('etcd /v3/lease/grant: answer without ID and TTL', 200);
    leaseId = granted['ID'];
    return leaseId;
  };

  return {
    kind: 'etcd',
    describe: `etcd key ${etcdLeaseKey(options.name)} at ${endpoints.join(', ')}`,

    async attempt(signal) {
      const lease = await ensureLease(signal);
      const answer = await call(
        '/v3/kv/txn',
        {
          compare: [{ key, target: 'CREATE', result: 'EQUAL', create_revision: '0' }],
          success: [{ request_put: { key, value: identity, lease } }],
          failure: [{ request_range: { key } }],
        },
        signal,
      );
      if (answer['succeeded'] === true) return { held: true, holder: options.identity };
      const responses = (answer['responses'] ?? []) as Array<{ response_range?: { kvs?: Kv[] } }>;
      const kv = responses[0]?.response_range?.kvs?.[0];
      // Deleted between the compare and the range: nobody holds it now; the next attempt takes it.
      if (kv === undefined) return { held: false, holder: null };
      const observation: LeaseObservation = { held: kv.lease === lease, holder: unb64(kv.value) };
      return observation;
    },

    async release(signal) {
      if (leaseId === undefined) return;
      const lease = leaseId;
      leaseId = undefined;
      // Revoking deletes every key bound to the lease: the election key goes at once.
      await call('/v3/lease/revoke', { ID: lease }, signal);
    },
  };
}
