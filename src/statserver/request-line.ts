/**
 * Keeps every Statistics API request line short: peeks carry statistic ids in the query string, and gateways
 * in front of the API (and Jetty) refuse request lines over 8 KiB with 414/431. EXAS packs peeks so each
 * request line (`GET <target> HTTP/1.1`) stays within `MAX_REQUEST_LINE_BYTES`, measured in bytes after
 * URL-escaping, whatever the agent ids look like.
 */

/** Longest request line EXAS sends, in bytes: half the common 8 KiB gateway limit. */
export const MAX_REQUEST_LINE_BYTES = 4096;

/** Bytes of the request line for `target` (path and query, already escaped, so ASCII). */
export function requestLineBytes(method: string, target: string): number {
  return `${method} ${target} HTTP/1.1`.length;
}

/** One peek: the request target relative to the API base, and the agents whose statistics it reads. */
export interface PeekRequest {
  readonly path: string;
  readonly agentIds: readonly string[];
}

/**
 * Splits a peek of `agentIds` (all in one subscription) into requests whose lines fit `maxBytes`.
 * `basePath` is the path the request target starts with before `path` (e.g. `/statistics/v3`, behind any
 * gateway prefix). An agent whose statistic ids cannot fit even alone is put in `unpeekable`.
 */
export function peekRequests(
  basePath: string,
  subscriptionId: string,
  agentIds: readonly string[],
  idsOf: (agentId: string) => readonly string[],
  maxBytes = MAX_REQUEST_LINE_BYTES,
): { requests: PeekRequest[]; unpeekable: string[] } {
  const head = `/subscriptions/${encodeURIComponent(subscriptionId)}/statistic-values?statisticIds=`;
  const tail = '&verbose=INFO';
  const fixed = requestLineBytes('GET', basePath + head + tail);
  const requests: PeekRequest[] = [];
  const unpeekable: string[] = [];
  let ids: string[] = [];
  let agents: string[] = [];
  let bytes = fixed;
  const flush = (): void => {
    if (agents.length > 0) requests.push({ path: head + ids.join(',') + tail, agentIds: agents });
    ids = [];
    agents = [];
    bytes = fixed;
  };
  for (const agentId of agentIds) {
    const escaped = idsOf(agentId).map(encodeURIComponent);
    // Each id costs its escaped length plus a comma (none before the first id of a request).
    const cost = escaped.reduce((sum, id) => sum + id.length + 1, 0);
    if (fixed + cost - 1 > maxBytes) {
      unpeekable.push(agentId);
      continue;
    }
    if (bytes + cost - (ids.length === 0 ? 1 : 0) > maxBytes) flush();
    bytes += cost - (ids.length === 0 ? 1 : 0);
    ids.push(...escaped);
    agents.push(agentId);
  }
  flush();
  return { requests, unpeekable };
}
