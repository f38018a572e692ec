import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/capture-io.ts';


const dir = mkdtempSync(join(tmpdir(), 'exas-cli-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const BAD = file('bad.yaml', 'rules:\n  - name: a\n    when: { state: Redy }\n    presence: OnQeue\n    routingStatus: Idle\n');
const WARN = file(
  'warn.yaml',
  'rules:\n  - name: ready\n    when: { state: Ready }\n    presence: Available\n    routingStatus: Idle\n',
);
const FAILING = file(
  'failing.yaml',
  'rules:\n  - name: all\n    presence: Busy\n    routingStatus: OffQueue\ntests:\n  - name: ready is on queue\n    events:\n      - { state: NotReady, reason: Break, expect: { presence: Busy } }\n      - { state: Ready, expect: { presence: OnQueue, routingStatus: Idle } }\n  - name: fine\n    events:\n      - { state: Ready, expect: { presence: Busy } }\n',
);

describe('exas check', () => {
  it('exits 0 with a one-line summary on the default file', async () => {
    const result = await runCli(['check']);
    expect(result).toEqual({ code: 0, stdout: 'exas.rules.yaml: OK, 13 rules, 15 tests, 0 warnings\n', stderr: '' });
  });

  it('exits 1 with FILE:LINE:COLUMN lines on stderr for an invalid file', async () => {
    const result = await runCli(['check', BAD]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    // Each finding: the FILE:LINE:COLUMN headline editors and CI matchers read, then the source line and a caret.
    const headlines = result.stderr.trim().split('\n').filter((line) => line.startsWith(BAD));
    expect(headlines[0]).toMatch(new RegExp(`^${BAD}:3:20: unknown state 'Redy'`));
    expect(headlines[1]).toMatch(new RegExp(`^${BAD}:4:15: unknown presence 'OnQeue'`));
    expect(headlines).toHaveLength(2);
    expect(result.stderr).toContain('3 |     when: { state: Redy }\n  |                    ^^^^\n');
    expect(result.stderr).toContain('4 |     presence: OnQeue\n  |               ^^^^^^\n');
    expect(result.stderr.trim().split('\n')).toHaveLength(8);
  });

  it('prints warnings on stderr and still exits 0', async () => {
    const result = await runCli(['check', WARN]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`${WARN}: OK, 1 rules, 0 tests, 4 warnings\n`);
    expect(result.stderr).toContain(`${WARN}:4:15: warning: rule 'ready' sets presence Available`);
    expect(result.stderr).toContain(`${WARN}:1:1: warning: no rule covers state LoggedOff`);
  });

  it('reports a missing file as FILE:1:1 and exits 1', async () => {
    const result = await runCli(['check', join(dir, 'nope.yaml')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${join(dir, 'nope.yaml')}:1:1: cannot read rules file: no such file`);
  });

  it('exits 2 on bad usage', async () => {
    expect((await runCli(['check', 'a', 'b'])).code).toBe(2);
    expect((await runCli(['check', '--bogus'])).code).toBe(2);
  });
});

describe('exas test', () => {
  it('runs the default file’s tests and ends with "N passed, N failed"', async () => {
    const result = await runCli(['test', 'exas.rules.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('15 passed, 0 failed\n');
  });

  it('prints each failure with the events, expected vs actual and the rule, and exits 1', async () => {
    const result = await runCli(['test', FAILING]);
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[lines.length - 1]).toBe('1 passed, 1 failed');
    expect(result.stdout).toContain(`FAIL ${FAILING}:6: ready is on queue`);
    expect(result.stdout).toContain('1. NotReady, call None, reason Break → Busy / OffQueue');
    expect(result.stdout).toContain('✗ 2. Ready, call None, no reason → Busy / OffQueue');
    expect(result.stdout).toContain('presence: expected OnQueue, actual Busy');
    expect(result.stdout).toContain('routingStatus: expected Idle, actual OffQueue');
    expect(result.stdout).toContain(`rule: all (${FAILING}:2)`);
  });

  it('exits 1 with diagnostics when the file is invalid', async () => {
    const result = await runCli(['test', BAD]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${BAD}:3:20:`);
  });
});

describe('exas dry-run', () => {
  const input = JSON.stringify({
    events: [
      { agentId: '1001', state: 'NotReady', callType: 'None', reason: 'Break' },
      { agentId: '1001', state: 'AfterCallWork' },
      { agentId: '1002', state: 'AfterCallWork', callType: 'Internal' },
      { agentId: '1002', state: 'Ready', callType: 'Inbound' },
    ],
  });

  it('reads events from stdin and prints one result per event, in order', async () => {
    const result = await runCli(['dry-run'], input);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const output = JSON.parse(result.stdout) as { results: unknown[] };
    expect(output.results).toEqual([
      { agentId: '1001', presence: 'Break', routingStatus: 'OffQueue', presenceChanged: true, rule: { name: 'not-ready-break', file: 'exas.rules.yaml', line: 17 } },
      { agentId: '1001', presence: 'Break', routingStatus: 'Interacting', presenceChanged: false, rule: { name: 'acw', file: 'exas.rules.yaml', line: 68 } },
      { agentId: '1002', presence: null, routingStatus: 'Communicating', presenceChanged: false, rule: { name: 'acw-internal-call', file: 'exas.rules.yaml', line: 64 } },
      { agentId: '1002', presence: 'OnQueue', routingStatus: 'Interacting', presenceChanged: true, rule: { name: 'ready-other-call', file: 'exas.rules.yaml', line: 58 } },
    ]);
  });

  it('reads events from a file, with --rules, and marks unmatched events', async () => {
    const path = file('events.json', JSON.stringify({ events: [{ agentId: '1', state: 'NotReady' }, { agentId: '1', state: 'Ready' }] }));
    const result = await runCli(['dry-run', '--rules', WARN, path]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      results: [
        { agentId: '1', presence: null, routingStatus: null, presenceChanged: false, rule: null, unmatched: true },
        { agentId: '1', presence: 'Available', routingStatus: 'Idle', presenceChanged: true, rule: { name: 'ready', file: WARN, line: 2 } },
      ],
    });
  });

  it('exits 2 naming the bad event index and field', async () => {
    const result = await runCli(['dry-run', '-'], JSON.stringify({ events: [{ agentId: '1', state: 'Ready' }, { agentId: '1', state: 'Ready', colour: 'red' }] }));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^exas dry-run: invalid input: events\[1\]\.colour: unknown field/);
  });

  it('exits 2 on input that is not JSON', async () => {
    const result = await runCli(['dry-run'], '{events:');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^exas dry-run: input is not valid JSON/);
  });

  it('exits 1 with diagnostics when the rules are invalid', async () => {
    const result = await runCli(['dry-run', '--rules', BAD], input);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${BAD}:3:20:`);
  });
});

describe('exas explain', () => {
  it('prints the rules considered and the decision', async () => {
    const result = await runCli(['explain', '--state', 'NotReady', '--reason', 'Lunch']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("input: state NotReady, call type None, reason 'Lunch'");
    expect(result.stdout).toContain('✗ logged-off (exas.rules.yaml:11) does not match: state');
    expect(result.stdout).toContain('✗ not-ready-break (exas.rules.yaml:17) does not match: reason');
    expect(result.stdout).toContain('✓ not-ready-other-reason (exas.rules.yaml:33) matches');
    expect(result.stdout).toContain('decision: presence Busy, routing status OffQueue\nby rule: not-ready-other-reason (exas.rules.yaml:33)');
  });

  it('explains keep and unmatched decisions', async () => {
    const acw = await runCli(['explain', '--state', 'AfterCallWork', '--call-type', 'Inbound']);
    expect(acw.stdout).toContain('decision: presence keep (presence unchanged), routing status Interacting');
    const unmatched = await runCli(['explain', '--rules', WARN, '--state', 'NotReady']);
    expect(unmatched.stdout).toContain('decision: unmatched (no rule matches; GC is left unchanged)');
  });

  it('exits 2 with a hint on a misspelled state or call type', async () => {
    const state = await runCli(['explain', '--state', 'Redy']);
    expect(state.code).toBe(2);
    expect(state.stderr).toContain("unknown state 'Redy' (did you mean 'Ready'?)");
    const call = await runCli(['explain', '--state', 'Ready', '--call-type', 'inbound']);
    expect(call.code).toBe(2);
    expect(call.stderr).toContain("unknown call type 'inbound' (did you mean 'Inbound'?)");
    expect((await runCli(['explain'])).code).toBe(2);
  });
});
