/**
 * Every test's log lines are captured instead of written to stderr: a passing run's stderr stays empty, and a
 * failing test prints the lines it logged (after vitest's own report of the failure), where they help. Tests that
 * assert on logs install their own sink with setLogSink and restore this one.
 */
import process from 'node:process';
import { beforeEach } from 'vitest';
import { setLogSink } from '../../src/log.ts';

let lines: string[] = [];
setLogSink((line) => void lines.push(line));

beforeEach(({ onTestFailed, task }) => {
  lines = [];
  onTestFailed(() => {
    if (lines.length === 0) return;
    process.stderr.write(`--- log lines of the failed test '${task.name}' ---\n${lines.join('\n')}\n`);
  });
});
