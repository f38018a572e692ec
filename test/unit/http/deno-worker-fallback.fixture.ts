// Run by server.test.ts under Deno with read access to the operator worker's module denied (as a deployment that
// grants --allow-read only to its config would be): the pool falls back to this thread, the job still answers,
// and one warning says why. Prints one JSON line. Not a test file itself, so vitest never loads it under Node.
import { createOperatorJobPool } from '../../../src/http/index.ts';
import { setLogSink } from '../../../src/log.ts';

const lines: string[] = [];
setLogSink((line) => lines.push(line));
const pool = createOperatorJobPool(1);
const check = async (): Promise<unknown> => pool.run({ kind: 'rules-check', body: new TextEncoder().encode('{"rules":"rules: []"}') });
const first = (await check()) as { kind: string };
const second = (await check()) as { kind: string };
const warnings = lines.map((line) => JSON.parse(line) as { level: string; msg: string }).filter((line) => line.level === 'warn');
console.log(JSON.stringify({ first: first.kind, second: second.kind, isolated: pool.isolated, warnings: warnings.map((line) => line.msg) }));
await pool.close();
