import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { dryRunCommand } from '../../../src/cli/dry-run.ts';
import type { CliIo } from '../../../src/cli/io.ts';
import { createOperatorApp, type DryRunResponse } from '../../../src/http/index.ts';
import { dryRun, formatExplanation, parseDryRunInput } from '../../../src/rules/index.ts';
import { createFakeDeps, defaultProgram } from './fake-deps.ts';
import { CANDIDATE_BROKEN, CANDIDATE_BUSY, json, postJson } from './request.ts';

const TOKEN = 'secret-admin-token';
const EVENTS = {
  events: [
    { agentId: '1002', state: 'NotReady', callType: 'None', reason: 'Break' },
    { agentId: '1002', state: 'NotReady', callType: 'Internal', reason: 'Break' },
    { agentId: '1001', state: 'Ready', callType: 'None' },
  ],
};

describe('POST /dry-run against the live rules', () => {
  it('answers exactly what `exas dry-run` computes, with the rule name, file and line of each result', async () => {
    const deps = createFakeDeps({ offline: true });
    const response = await postJson(createOperatorApp(deps), '/dry-run', EVENTS);
    expect(response.status).toBe(200);
    const expected = dryRun(defaultProgram(), parseDryRunInput(EVENTS), (agentId) => deps.agent(agentId)?.acknowledged?.presence);
    expect(await json(response)).toEqual({ results: expected });
    expect(expected[0]).toMatchObject({ presence: 'Break', routingStatus: 'OffQueue', rule: { name: 'not-ready-break', file: 'exas.rules.yaml' } });
    expect(expected[1]).toMatchObject({ presence: 'Busy', routingStatus: 'Communicating', rule: { name: 'not-ready-internal-call' } });
  });

  it('answers the same JSON the `exas dry-run` command prints for the same input', async () => {
    const input = { events: [...EVENTS.events, { agentId: 'x9', state: 'AfterCallWork' }, { agentId: 'x9', state: 'LoggedOff', callType: 'Inbound' }] };
    let printed = '';
    const io: CliIo = { out: (text) => void (printed += text), err: () => {}, readStdin: async () => JSON.stringify(input), colour: false };
    const rulesPath = fileURLToPath(new URL('../../../exas.rules.yaml', import.meta.url));
    expect(await dryRunCommand(['--rules', rulesPath, '-'], io)).toBe(0);
    // Results name the file as given; compare with the same file name on both sides.
    const cli = JSON.parse(printed.replaceAll(JSON.stringify(rulesPath), JSON.stringify('exas.rules.yaml'))) as unknown;
    const deps = createFakeDeps({ offline: true });
    deps.agent = () => undefined;
    const response = await postJson(createOperatorApp(deps), '/dry-run', input);
    expect(await json(response)).toEqual(cli);
  });

  it('adds the GC requests the live writer would send, given the acknowledged state, when a connector is wired', async () => {
    const response = await postJson(createOperatorApp(createFakeDeps()), '/dry-run', EVENTS);
    const body = await json<DryRunResponse>(response);
    expect(body.results[0]?.gcRequests).toEqual([
      { method: 'POST', path: '/api/v2/events/users/presence', body: { events: [{ userId: 'user-1002', presence: 'Break' }] } },
      { method: 'POST', path: '/api/v2/events/users/routingstatus', body: { events: [{ userId: 'user-1002', routingStatus: 'OffQueue' }] } },
    ]);
    // 1001 is acknowledged OnQueue / Idle already: nothing to send.
    expect(body.results[2]?.gcRequests).toEqual([]);
  });

  it('with "explain": true attaches to each result the text `exas explain` prints for its input', async () => {
    const response = await postJson(createOperatorApp(createFakeDeps()), '/dry-run', { ...EVENTS, explain: true });
    const results = (await json<DryRunResponse>(response)).results;
    const program = defaultProgram();
    expect(results.map((r) => r.explanation)).toEqual(
      parseDryRunInput(EVENTS).map((event) => formatExplanation(program.explain(event.state, event.callType, event.reason))),
    );
    expect(results[0]?.explanation).toContain('✓ not-ready-break');
    expect(results[0]?.explanation).toContain('✗ logged-off');
  });

  it('answers 400 naming "explain" when it is not true or false', async () => {
    const response = await postJson(createOperatorApp(createFakeDeps()), '/dry-run', { ...EVENTS, explain: 'yes' });
    expect(response.status).toBe(400);
    expect((await json(response))['field']).toBe('explain');
  });

  it('resolves keep from the presence GC acknowledged for the agent', async () => {
    const response = await postJson(createOperatorApp(createFakeDeps()), '/dry-run', { events: [{ agentId: '1003', state: 'AfterCallWork' }] });
    expect((await json<DryRunResponse>(response)).results[0]).toMatchObject({ presence: 'Busy', routingStatus: 'Interacting' });
  });

  it('changes nothing: no reload, pause or resume, and the live rules stay the same', async () => {
    const deps = createFakeDeps();
    const before = deps.rules();
    const app = createOperatorApp(deps);
    await postJson(app, '/dry-run', EVENTS);
    await postJson(app, '/dry-run', { ...EVENTS, rules: CANDIDATE_BUSY, live: true });
    expect(deps.calls).toEqual({ reload: 0, pause: 0, resume: 0 });
    expect(deps.rules()).toBe(before);
  });

  it('answers 503 when no rules are loaded and no candidate is sent', async () => {
    const deps = createFakeDeps();
    deps.rules = () => null;
    const response = await postJson(createOperatorApp(deps), '/dry-run', EVENTS);
    expect(response.status).toBe(503);
    expect((await json(response))['error']).toMatch(/no rules/);
  });
});

describe('POST /dry-run with candidate rules', () => {
  it('runs the candidate without installing it', async () => {
    const deps = createFakeDeps();
    const response = await postJson(createOperatorApp(deps), '/dry-run', { ...EVENTS, rules: CANDIDATE_BUSY });
    expect(response.status).toBe(200);
    const results = (await json<DryRunResponse>(response)).results;
    expect(results.map((r) => [r.presence, r.routingStatus, r.rule?.name, r.rule?.file])).toEqual([
      ['Busy', 'OffQueue', 'everyone-busy', 'candidate.rules.yaml'],
      ['Busy', 'OffQueue', 'everyone-busy', 'candidate.rules.yaml'],
      ['Busy', 'OffQueue', 'everyone-busy', 'candidate.rules.yaml'],
    ]);
    expect(deps.rules()?.file).toBe('exas.rules.yaml');
  });

  it('answers 400 with the line, column and message of every error in a broken candidate', async () => {
    const response = await postJson(createOperatorApp(createFakeDeps()), '/dry-run', { ...EVENTS, rules: CANDIDATE_BROKEN });
    expect(response.status).toBe(400);
    const body = await json<{ error: string; details: Array<{ line: number; column: number; message: string }> }>(response);
    expect(body.error).toBe('the candidate rules file has 2 errors');
    expect(body.details).toEqual([
      { line: 5, column: 20, message: expect.stringContaining("unknown routing status 'Sleeping'") },
      { line: 6, column: 5, message: expect.stringContaining("unknown key 'colour'") },
    ]);
  });

  it('requires the admin token for candidate rules when one is set, but not for a dry run of the live rules', async () => {
    const app = createOperatorApp(createFakeDeps(), { adminToken: TOKEN });
    expect((await postJson(app, '/dry-run', EVENTS)).status).toBe(200);
    expect((await postJson(app, '/dry-run', { ...EVENTS, rules: CANDIDATE_BUSY })).status).toBe(401);
    expect((await postJson(app, '/dry-run', { ...EVENTS, rules: CANDIDATE_BUSY }, { authorization: 'Bearer wrong-token' })).status).toBe(401);
    expect((await postJson(app, '/dry-run', { ...EVENTS, rules: CANDIDATE_BUSY }, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });
});

describe('POST /dry-run impact preview ("live": true)', () => {
  it('applies the candidate to every live agent and counts the changes by from → to, with a sample', async () => {
    const response = await postJson(createOperatorApp(createFakeDeps()), '/dry-run', { rules: CANDIDATE_BUSY, live: true });
    expect(response.status).toBe(200);
    const body = await json<DryRunResponse>(response);
    expect(body.results).toEqual([]);
    expect(body.impact).toEqual({
      agents: 3,
      changing: 2,
      unchanged: 1,
      unmatched: 0,
      keepWithoutPresence: 0,
      transitions: [
        { from: { presence: 'OnQueue', routingStatus: 'Idle' }, to: { presence: 'Busy', routingStatus: 'OffQueue' }, count: 2 },
      ],
      sample: [
        { agentId: '1001', from: { presence: 'OnQueue', routingStatus: 'Idle' }, to: { presence: 'Busy', routingStatus: 'OffQueue' }, rule: { name: 'everyone-busy', file: 'candidate.rules.yaml', line: 3 } },
        { agentId: '1002', from: { presence: 'OnQueue', routingStatus: 'Idle' }, to: { presence: 'Busy', routingStatus: 'OffQueue' }, rule: { name: 'everyone-busy', file: 'candidate.rules.yaml', line: 3 } },
      ],
    });
  });

  it('previews every live agent when there are more than one question answers (the job asks for them a page at a time)', async () => {
    const deps = createFakeDeps();
    const many = Array.from({ length: 1_234 }, (_, i) => ({ agentId: String(5000 + i), state: 'Ready' as const, callType: 'None' as const, reason: null, current: { presence: 'OnQueue', routingStatus: 'Idle' as const } }));
    deps.liveAgents = () => many;
    const response = await postJson(createOperatorApp(deps), '/dry-run', { rules: CANDIDATE_BUSY, live: true });
    expect(response.status).toBe(200);
    const body = await json<DryRunResponse>(response);
    expect(body.impact).toMatchObject({ agents: 1_234, changing: 1_234 });
  });

  it('answers 409 when there is no live connector to preview against', async () => {
    const response = await postJson(createOperatorApp(createFakeDeps({ offline: true })), '/dry-run', { rules: CANDIDATE_BUSY, live: true });
    expect(response.status).toBe(409);
  });

  it('answers 400 naming "live" when no candidate rules are sent', async () => {
    const response = await postJson(createOperatorApp(createFakeDeps()), '/dry-run', { events: [], live: true });
    expect(response.status).toBe(400);
    expect((await json(response))['field']).toBe('live');
  });
});

describe('POST /dry-run input errors', () => {
  const app = createOperatorApp(createFakeDeps());

  it('answers 400 for malformed JSON', async () => {
    const response = await postJson(app, '/dry-run', '{"events": [');
    expect(response.status).toBe(400);
    expect((await json(response))['error']).toMatch(/^malformed JSON/);
  });

  it('answers 400 naming an unknown top-level field', async () => {
    const response = await postJson(app, '/dry-run', { events: [], colour: 'red' });
    expect(response.status).toBe(400);
    expect(await json(response)).toEqual({ error: "unknown field 'colour'; expected events, rules, live, explain", field: 'colour' });
  });

  it('answers 400 naming the event index and field of an unknown event field', async () => {
    const response = await postJson(app, '/dry-run', { events: [{ agentId: 'a', state: 'Ready' }, { agentId: 'a', state: 'Ready', mood: 'happy' }] });
    expect(response.status).toBe(400);
    expect(await json(response)).toMatchObject({ field: 'mood', index: 1, error: expect.stringContaining('events[1].mood') });
  });

  it('answers 400 for an unknown Engage state and for "rules" that is not text', async () => {
    const bad = await postJson(app, '/dry-run', { events: [{ agentId: 'a', state: 'Sleeping' }] });
    expect(bad.status).toBe(400);
    expect((await json(bad))['field']).toBe('state');
    const notText = await postJson(app, '/dry-run', { events: [], rules: { rules: [] } });
    expect(notText.status).toBe(400);
    expect((await json(notText))['field']).toBe('rules');
  });

  it('answers 400 when the body is not a JSON object', async () => {
    expect((await postJson(app, '/dry-run', [1, 2])).status).toBe(400);
  });

  it('answers 413 with a JSON error for a body over the configured limit', async () => {
    const small = createOperatorApp(createFakeDeps(), { bodyLimitBytes: 100 });
    const response = await postJson(small, '/dry-run', { events: [], rules: 'x'.repeat(200) });
    expect(response.status).toBe(413);
    expect(await json(response)).toEqual({ error: 'request body is larger than 100 bytes' });
  });
});
