/** Peeks are packed so each request line stays within 4 KiB in bytes, whatever the agent ids look like. */
import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_LINE_BYTES, peekRequests, requestLineBytes } from '../../../src/statserver/request-line.ts';
import { statisticIds } from '../../../src/statserver/index.ts';

const SUBSCRIPTION = '7c1e0c1a-3f1b-4a55-9d7e-000000000001';
const idsOf = (agentId: string): string[] => Object.values(statisticIds(agentId));

/** 64-character ids of several shapes: plain, every character escaped (3 or 9 bytes each), mixed. */
function hostileIds(count: number): string[] {
  const shapes = [
    (i: number) => `agent.${String(i).padStart(58, '0')}`,
    (i: number) => `€${'€'.repeat(58)}${String(i).padStart(5, '0')}`,
    (i: number) => `a/b?c&d=e,f#g%h ${String(i).padStart(48, '0')}`.padEnd(64, '+'),
    (i: number) => `${'ü'.repeat(32)}${String(i).padStart(32, '9')}`,
  ];
  return Array.from({ length: count }, (_, i) => shapes[i % shapes.length]!(i));
}

function check(basePath: string, agentIds: string[], maxBytes = MAX_REQUEST_LINE_BYTES): number {
  const { requests, unpeekable } = peekRequests(basePath, SUBSCRIPTION, agentIds, idsOf, maxBytes);
  expect(unpeekable).toEqual([]);
  for (const request of requests) {
    const line = requestLineBytes('GET', basePath + request.path);
    expect(line).toBeLessThanOrEqual(maxBytes);
    expect(Buffer.byteLength(`GET ${basePath}${request.path} HTTP/1.1`)).toBe(line);
    // The query names exactly the statistics of the request's agents, in order, and decodes back to them.
    const query = new URL(`http://h${basePath}${request.path}`).searchParams.get('statisticIds')!;
    expect(query.split(',')).toEqual(request.agentIds.flatMap(idsOf));
  }
  expect(requests.flatMap((request) => request.agentIds)).toEqual(agentIds);
  return requests.length;
}

describe('peekRequests', () => {
  it('keeps every request line within 4 KiB with 64-character ids, escaping-heavy ones included', () => {
    const ids = hostileIds(400);
    expect(ids.every((id) => [...id].length === 64)).toBe(true);
    const requests = check('/statistics/v3', ids);
    // About 400 × 2 ids of up to 576 escaped bytes each: far more than one request, far fewer than one per agent.
    expect(requests).toBeGreaterThan(40);
    expect(requests).toBeLessThan(400);
  });

  it('counts a gateway path prefix and packs short ids densely', () => {
    check('/api/gateway/with/a/long/prefix/statistics/v3', hostileIds(120));
    const short = Array.from({ length: 2000 }, (_, i) => String(1001 + i));
    const count = check('/statistics/v3', short);
    expect(count).toBeLessThanOrEqual(Math.ceil((2000 * 2 * 9) / 3900));
  });

  it('sets aside an agent whose ids cannot fit one request line, and peeks the others', () => {
    const giant = '€'.repeat(400); // 3,600 escaped bytes per id, two ids
    const { requests, unpeekable } = peekRequests('/statistics/v3', SUBSCRIPTION, ['1001', giant, '1002'], idsOf);
    expect(unpeekable).toEqual([giant]);
    expect(requests.flatMap((request) => request.agentIds)).toEqual(['1001', '1002']);
  });

  it('a request exactly at the limit is kept whole, one byte more is split', () => {
    const base = '/statistics/v3';
    const one = peekRequests(base, SUBSCRIPTION, ['a', 'b'], idsOf, 10_000).requests[0]!;
    const exact = requestLineBytes('GET', base + one.path);
    expect(peekRequests(base, SUBSCRIPTION, ['a', 'b'], idsOf, exact).requests).toHaveLength(1);
    expect(peekRequests(base, SUBSCRIPTION, ['a', 'b'], idsOf, exact - 1).requests).toHaveLength(2);
  });
});
