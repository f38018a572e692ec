#!/usr/bin/env node
// Proves that dist/exas.mjs is the same program under Node and under Deno (docs/deploy.md):
//   1. builds the bundle (skip with --no-build);
//   2. CLI: --version, check, test, dry-run (every rules/*.yaml and exas.rules.yaml) and explain, under the
//      Node bundle, the Deno bundle (narrow permissions) and `deno run src/cli.ts`; stdout, stderr and exit
//      codes must be identical;
//   3. emulators: `emulate gc` and `emulate statserver` under each runtime on ephemeral ports, probed over
//      HTTP (GC: OAuth token + GET /api/v2/users; Stat Server: GET /emulator/agents); answers must match;
//   4. demo (once `exas demo` exists): under each runtime, /readyz turns 200 and every agent's GC user holds
//      what the rules decide for it; sidecar: under each runtime, both emulators plus `exas run`, /readyz
//      turns 200, every agent is set to a state × call type × reason through the emulator's control API, and
//      the GC emulator's users converge to what the rules engine decides (`exas dry-run`) for every agent;
//      the final GC states must be identical between Node and Deno.
// Exit 0 when every runtime agrees, 1 with a report of each divergence otherwise.
// Usage: node scripts/bundle-smoke.mjs [--no-build] [--skip-sidecar]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import process from 'node:process';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const BUNDLE = join(ROOT, 'dist', 'exas.mjs');
const args = new Set(process.argv.slice(2));
const DENO = process.env.DENO ?? findDeno();
// What the bundle needs from the environment under Deno (docs/deploy.md explains each).
const DENO_ENV = '--allow-env=EXAS_*,NO_COLOR,LOG_STREAM,LOG_TOKENS';
const STEP_TIMEOUT_MS = 60_000;

const failures = [];
const children = new Set();
const scratch = mkdtempSync(join(tmpdir(), 'exas-smoke-'));

process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  rmSync(scratch, { recursive: true, force: true });
});

function findDeno() {
  const local = join(ROOT, 'node_modules', 'deno', 'deno');
  if (existsSync(local)) return local;
  return 'deno';
}

function log(message) {
  process.stderr.write(`bundle-smoke: ${message}\n`);
}

function fail(message) {
  failures.push(message);
  log(`FAIL ${message}`);
}

/** The three ways to run the CLI; `reads` are the files a command reads (Deno's --allow-read). */
const RUNTIMES = {
  node: () => [process.execPath, BUNDLE],
  deno: (reads = []) => [DENO, 'run', '--no-prompt', DENO_ENV, ...(reads.length > 0 ? [`--allow-read=${reads.join(',')}`] : []), BUNDLE],
  // Source under Deno reads node_modules and `debug` enumerates the environment, so it gets broad flags.
  'deno-src': () => [DENO, 'run', '--no-prompt', '--allow-read', '--allow-env', join(ROOT, 'src', 'cli.ts')],
};

function runCli(runtime, commandArgs, reads, stdin) {
  const [command, ...prefix] = RUNTIMES[runtime](reads);
  const result = spawnSync(command, [...prefix, ...commandArgs], {
    cwd: ROOT,
    input: stdin ?? '',
    encoding: 'utf8',
    timeout: STEP_TIMEOUT_MS,
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, error: result.error?.message };
}

function firstDifference(a, b) {
  const left = a.split('\n');
  const right = b.split('\n');
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    if (left[index] !== right[index]) return `line ${index + 1}: ${JSON.stringify(left[index])} vs ${JSON.stringify(right[index])}`;
  }
  return 'identical';
}

// ---------------------------------------------------------------------------------------------------------
// 1. build

if (!args.has('--no-build')) {
  log('building dist/exas.mjs');
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) {
    log('build failed');
    process.exit(1);
  }
}
if (!existsSync(BUNDLE)) {
  log(`${BUNDLE} is missing`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------------------
// 2. CLI parity

const STATES = ['LoggedOff', 'NotReady', 'Ready', 'AfterCallWork'];
const CALL_TYPES = ['None', 'Internal', 'Inbound', 'Outbound', 'Consult', 'Unknown'];
const REASONS = [null, 'Break', 'Meal', 'Meeting', 'Training', 'Lunch', 'Coaching', '42'];

/** Every state × call type × reason, as a sequence of events on a few agents (so `keep` sees history). */
function dryRunEvents() {
  const events = [];
  let index = 0;
  for (const state of STATES) {
    for (const callType of CALL_TYPES) {
      for (const reason of REASONS) {
        events.push({ agentId: String(1001 + (index % 5)), state, callType, reason });
        index += 1;
      }
    }
  }
  return { events };
}

const eventsFile = join(scratch, 'events.json');
writeFileSync(eventsFile, JSON.stringify(dryRunEvents()));

const rulesFiles = ['exas.rules.yaml', ...readdirSync(join(ROOT, 'rules')).filter((name) => name.endsWith('.yaml')).sort().map((name) => `rules/${name}`)];
const cliCases = [{ name: '--version', args: ['--version'], reads: [] }];
for (const file of rulesFiles) {
  cliCases.push({ name: `check ${file}`, args: ['check', file], reads: [file] });
  cliCases.push({ name: `test ${file}`, args: ['test', file], reads: [file] });
  cliCases.push({ name: `dry-run ${file}`, args: ['dry-run', '--rules', file, eventsFile], reads: [file, eventsFile] });
  cliCases.push({ name: `dry-run ${file} (stdin)`, args: ['dry-run', '--rules', file, '-'], reads: [file], stdin: JSON.stringify(dryRunEvents()) });
}
for (const [state, callType, reason] of [['NotReady', 'None', 'Meal'], ['Ready', 'Internal', null], ['AfterCallWork', 'Inbound', 'Break']]) {
  const explainArgs = ['explain', '--rules', 'exas.rules.yaml', '--state', state, '--call-type', callType, ...(reason === null ? [] : ['--reason', reason])];
  cliCases.push({ name: `explain ${state}/${callType}/${reason}`, args: explainArgs, reads: ['exas.rules.yaml'] });
}
// A file with an error must fail the same way everywhere (exit code and FILE:LINE:COLUMN text).
const brokenRules = join(scratch, 'broken.rules.yaml');
writeFileSync(brokenRules, 'rules:\n  - name: x\n    when: { state: Redy }\n    then: { presence: Busy, routingStatus: OffQueue }\n');
cliCases.push({ name: 'check (broken file)', args: ['check', brokenRules], reads: [brokenRules] });

log(`CLI: ${cliCases.length} cases × ${Object.keys(RUNTIMES).length} runtimes (deno: ${DENO})`);
for (const testCase of cliCases) {
  const results = Object.fromEntries(Object.keys(RUNTIMES).map((runtime) => [runtime, runCli(runtime, testCase.args, testCase.reads, testCase.stdin)]));
  const reference = results.node;
  if (reference.error !== undefined) fail(`${testCase.name}: node could not run: ${reference.error}`);
  for (const [runtime, result] of Object.entries(results)) {
    if (runtime === 'node') continue;
    for (const field of ['status', 'stdout', 'stderr']) {
      if (result[field] !== reference[field]) {
        fail(`${testCase.name}: ${runtime} ${field} differs from node: ${firstDifference(String(reference[field]), String(result[field]))}`);
      }
    }
  }
  log(`  ${testCase.name}: exit ${reference.status}`);
}

// ---------------------------------------------------------------------------------------------------------
// 3. + 4. long-running commands

/**
 * Deno flags for a long-running command: loopback network, reads of `dir` and of the bundle itself (the operator
 * worker threads start from it, as the deploy files grant), writes of `dir/store`.
 */
function serverCommand(runtime, dir) {
  if (runtime === 'node') return [process.execPath, BUNDLE];
  const flags = ['--allow-net=127.0.0.1'];
  if (dir !== undefined) flags.push(`--allow-read=${dir},${BUNDLE}`, `--allow-write=${join(dir, 'store')}`);
  return [DENO, 'run', '--no-prompt', DENO_ENV, ...flags, BUNDLE];
}

/** Spawns a long-running command and resolves with the first output line matching `pattern`. */
function startProcess(name, argv, pattern, stream = 'stdout', cwd = ROOT) {
  const [command, ...rest] = argv;
  const child = spawn(command, rest, { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const output = { stdout: '', stderr: '' };
  const exited = new Promise((resolveExit) => child.once('exit', (code, signal) => {
    children.delete(child);
    resolveExit({ code, signal });
  }));
  const matched = new Promise((resolveMatch, rejectMatch) => {
    const timer = setTimeout(() => rejectMatch(new Error(`${name}: no ${pattern} on ${stream} within ${STEP_TIMEOUT_MS} ms\n${output.stderr.slice(-2000)}`)), STEP_TIMEOUT_MS);
    for (const which of ['stdout', 'stderr']) {
      child[which].setEncoding('utf8');
      child[which].on('data', (chunk) => {
        output[which] += chunk;
        if (which !== stream) return;
        const match = pattern.exec(output[which]);
        if (match) {
          clearTimeout(timer);
          resolveMatch(match);
        }
      });
    }
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      rejectMatch(new Error(`${name} exited (${code ?? signal}) before printing ${pattern}\n${output.stderr.slice(-2000)}`));
    });
  });
  return {
    name,
    output,
    ready: matched,
    /** Sends SIGTERM and resolves with the exit code (SIGKILL after the timeout). */
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

async function json(url, init) {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

const GC_CLIENT = { id: 'exas-demo', secret: 'exas-demo-secret' };
const STAT_CREDENTIALS = { apiKey: 'exas-demo', bearerToken: 'exas-demo' };

async function gcToken(gcUrl) {
  const token = await json(`${gcUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${GC_CLIENT.id}:${GC_CLIENT.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  if (typeof token.access_token !== 'string') throw new Error('GC emulator token answer has no access_token');
  return token.access_token;
}

async function startEmulators(runtime, agents) {
  const gc = startProcess(`${runtime} emulate gc`, [...serverCommand(runtime), 'emulate', 'gc', '--port', '0', '--users-count', String(agents)], /gc emulator: (http:\/\/[^\s]+)/);
  const stat = startProcess(
    `${runtime} emulate statserver`,
    [...serverCommand(runtime), 'emulate', 'statserver', '--port', '0', '--agents', String(agents), '--events-per-second', '0', '--seed', '7'],
    /statserver emulator: (http:\/\/[^\s/]+:\d+)/,
  );
  const [gcMatch, statMatch] = await Promise.all([gc.ready, stat.ready]);
  return { gc, stat, gcUrl: gcMatch[1], statUrl: statMatch[1] };
}

async function emulatorProbe(runtime) {
  const emulators = await startEmulators(runtime, 12);
  try {
    const token = await gcToken(emulators.gcUrl);
    const users = await json(`${emulators.gcUrl}/api/v2/users?pageSize=100`, { headers: { authorization: `Bearer ${token}` } });
    const agents = await json(`${emulators.statUrl}/emulator/agents`);
    const userSummary = users.entities.map((user) => ({ id: user.id, name: user.name, username: user.username }));
    if (userSummary.length !== 12) fail(`${runtime}: GC emulator lists ${userSummary.length} users, expected 12`);
    if (agents.length !== 12) fail(`${runtime}: Stat Server emulator lists ${agents.length} agents, expected 12`);
    return { users: userSummary, agents };
  } finally {
    for (const [name, code] of [['gc', await emulators.gc.stop()], ['statserver', await emulators.stat.stop()]]) {
      if (code.code !== 0) fail(`${runtime}: emulate ${name} exited ${code.code ?? code.signal} on SIGTERM`);
    }
  }
}

/** What `exas dry-run` decides for each agent's event history (the rules engine's decide, via the bundle). */
function expectedMapping(histories, rulesFile) {
  const events = [];
  for (const history of histories.values()) events.push(...history);
  const result = runCli('node', ['dry-run', '--rules', rulesFile, '-'], [], JSON.stringify({ events }));
  if (result.status !== 0) throw new Error(`dry-run for the expected mapping failed: ${result.stderr}`);
  const expected = new Map();
  for (const decision of JSON.parse(result.stdout).results) expected.set(decision.agentId, decision);
  return expected;
}

/** The table the sidecar scenario drives every agent through: state × call type, plus the named reasons. */
function targetStates() {
  const targets = [];
  for (const state of STATES) for (const callType of CALL_TYPES) targets.push({ state, callType, reason: state === 'NotReady' ? 'Personal' : null });
  for (const reason of ['Break', 'Meal', 'Meeting', 'Training', 'Coaching', 'Lunch30']) targets.push({ state: 'NotReady', callType: 'None', reason });
  targets.push({ state: 'AfterCallWork', callType: 'None', reason: 'Break' });
  return targets;
}

function compareGcToExpected(users, expected) {
  const problems = [];
  for (const [agentId, decision] of expected) {
    const user = users.find((candidate) => candidate.externalId === agentId);
    if (user === undefined) {
      problems.push(`${agentId}: no GC user`);
      continue;
    }
    if (decision.routingStatus !== null && user.routingStatus !== decision.routingStatus) {
      problems.push(`${agentId}: routing ${user.routingStatus}, rules say ${decision.routingStatus}`);
    }
    // A null presence is `keep` with nothing known: EXAS keeps GC's presence, never Available.
    if (decision.presence === null ? user.presence === 'Available' : user.presence !== decision.presence) {
      problems.push(`${agentId}: presence ${user.presence}, rules say ${decision.presence ?? 'keep (not Available)'}`);
    }
  }
  return problems;
}

async function waitFor(what, check, timeoutMs = STEP_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  let last = 'never checked';
  while (Date.now() < deadline) {
    const outcome = await check().catch((error) => `error: ${error instanceof Error ? error.message : String(error)}`);
    if (outcome === true) return;
    last = outcome;
    await new Promise((resolveDelay) => setTimeout(resolveDelay, 250));
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${typeof last === 'string' ? last : JSON.stringify(last).slice(0, 500)})`);
}

function hasCommand(name) {
  const help = runCli('node', ['help'], []);
  return new RegExp(`^\\s+${name}\\s`, 'm').test(help.stdout);
}

async function sidecarScenario(runtime) {
  const targets = targetStates();
  const agents = targets.length;
  const dir = mkdtempSync(join(scratch, `${runtime}-`));
  mkdirSync(join(dir, 'store'));
  copyFileSync(join(ROOT, 'exas.rules.yaml'), join(dir, 'exas.rules.yaml'));
  const emulators = await startEmulators(runtime, agents);
  let sidecar;
  try {
    const initial = await json(`${emulators.statUrl}/emulator/agents`);
    writeFileSync(
      join(dir, 'exas.yaml'),
      [
        'statServer:',
        `  endpoints: [{ baseUrl: "${emulators.statUrl}" }]`,
        'gc:',
        `  baseUrl: "${emulators.gcUrl}"`,
        'scope:',
        '  source: list',
        `  agents: [${initial.map((agent) => JSON.stringify(agent.agentId)).join(', ')}]`,
        'rules:',
        '  file: exas.rules.yaml',
        'store:',
        '  path: store/state.json',
        'identity:',
        '  cachePath: store/identity.json',
        'http:',
        '  listen: 127.0.0.1:0',
        'lifecycle:',
        '  shutdownGraceSeconds: 5',
        '',
      ].join('\n'),
    );
    const environment = {
      EXAS_GC_CLIENT_ID: GC_CLIENT.id,
      EXAS_GC_CLIENT_SECRET: GC_CLIENT.secret,
      EXAS_STAT_API_KEY: STAT_CREDENTIALS.apiKey,
      EXAS_STAT_BEARER_TOKEN: STAT_CREDENTIALS.bearerToken,
    };
    Object.assign(process.env, environment);
    sidecar = startProcess(`${runtime} run`, [...serverCommand(runtime, dir), 'run', '--config', join(dir, 'exas.yaml')], /"msg":"EXAS running".*?"http":"(http:\/\/[^"]+)"/, 'stderr', dir);
    const [, httpUrl] = await sidecar.ready;
    await waitFor(`${runtime}: /readyz 200`, async () => {
      const response = await fetch(`${httpUrl}/readyz`);
      return response.status === 200 ? true : await response.text();
    });
    // Drive every agent to its own row of the table through the Stat Server emulator's control API.
    const histories = new Map(initial.map((agent) => [agent.agentId, [{ agentId: agent.agentId, state: agent.state, callType: agent.callType, reason: agent.reason }]]));
    await Promise.all(
      initial.map(async (agent, index) => {
        const target = targets[index];
        await json(`${emulators.statUrl}/emulator/agents/${agent.agentId}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(target) });
        histories.get(agent.agentId).push({ agentId: agent.agentId, ...target });
      }),
    );
    const expected = expectedMapping(histories, 'exas.rules.yaml');
    let users = [];
    await waitFor(`${runtime}: GC users match the rules for all ${agents} agents`, async () => {
      users = await json(`${emulators.gcUrl}/emulator/users`);
      const problems = compareGcToExpected(users, expected);
      return problems.length === 0 ? true : problems.slice(0, 5).join('; ');
    });
    log(`  ${runtime}: ready, ${agents} agents mapped as the rules decide`);
    return users.map((user) => ({ externalId: user.externalId, presence: user.presence, routingStatus: user.routingStatus })).sort((a, b) => a.externalId.localeCompare(b.externalId));
  } finally {
    if (sidecar !== undefined) {
      const stopped = await sidecar.stop();
      if (stopped.code !== 0) fail(`${runtime}: exas run exited ${stopped.code ?? stopped.signal} on SIGTERM\n${sidecar.output.stderr.slice(-1500)}`);
    }
    await emulators.gc.stop();
    await emulators.stat.stop();
  }
}

/**
 * `exas demo` under `runtime`: wait for its ready line (the sidecar, GC and Stat Server URLs), wait for
 * /readyz 200, stop the crowd, and check that every agent's GC user holds what the rules decide for the
 * agent's state. Returns Engage state → GC state for the states it saw.
 */
async function demoScenario(runtime) {
  const dir = mkdtempSync(join(scratch, `demo-${runtime}-`));
  copyFileSync(join(ROOT, 'exas.rules.yaml'), join(dir, 'exas.rules.yaml'));
  const command = runtime === 'node'
    ? [process.execPath, BUNDLE]
    : [DENO, 'run', '--no-prompt', DENO_ENV, '--allow-net=127.0.0.1', `--allow-read=${dir}`, `--allow-write=${join(dir, '.exas')}`, BUNDLE];
  // The demo reads exas.rules.yaml and writes its store under .exas/ in its working directory.
  const demo = startProcess(`${runtime} demo`, [...command, 'demo', '--port', '0', '--progress-seconds', '0'], /EXAS demo ready: sidecar=(\S+) gc=(\S+) statserver=(\S+)/, 'stdout', dir);
  try {
    const [, sidecarUrl, gcUrl, statUrl] = await demo.ready;
    const roles = { exas: sidecarUrl, gc: gcUrl, stat: statUrl };
    await waitFor(`${runtime} demo: /readyz 200`, async () => {
      const response = await fetch(`${roles.exas}/readyz`);
      return response.status === 200 ? true : await response.text();
    });
    // Freeze the crowd so the comparison has a fixed target; EXAS then converges within its budget.
    await json(`${roles.stat}/emulator/simulation`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ running: false }) });
    let pairs = [];
    await waitFor(`${runtime} demo: GC users equal the rules' mapping of every agent`, async () => {
      const agents = await json(`${roles.stat}/emulator/agents`);
      const users = await json(`${roles.gc}/emulator/users`);
      const histories = new Map(agents.map((agent) => [agent.agentId, [{ agentId: agent.agentId, state: agent.state, callType: agent.callType, reason: agent.reason }]]));
      const expected = expectedMapping(histories, join(dir, 'exas.rules.yaml'));
      const problems = compareGcToExpected(users, expected);
      pairs = agents.map((agent) => {
        const user = users.find((candidate) => candidate.externalId === agent.agentId);
        return [`${agent.state}/${agent.callType}/${agent.reason}`, `${user?.presence}/${user?.routingStatus}`];
      });
      return problems.length === 0 ? true : problems.slice(0, 5).join('; ');
    }, 120_000);
    log(`  ${runtime}: demo ready, every agent mapped as the rules decide`);
    // Agents in ACW keep whatever presence they had, which depends on timing; compare the rest across runtimes.
    return new Map(pairs.filter(([state]) => !state.startsWith('AfterCallWork/')));
  } finally {
    await demo.stop();
  }
}

async function longRunning() {
  log('emulators: probing under node and deno');
  const probes = {};
  for (const runtime of ['node', 'deno']) {
    try {
      probes[runtime] = await emulatorProbe(runtime);
      log(`  ${runtime}: GC token + ${probes[runtime].users.length} users, Stat Server ${probes[runtime].agents.length} agents`);
    } catch (error) {
      fail(`${runtime} emulators: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (probes.node && probes.deno && JSON.stringify(probes.node) !== JSON.stringify(probes.deno)) {
    fail(`emulator answers differ between node and deno: ${firstDifference(JSON.stringify(probes.node, null, 1), JSON.stringify(probes.deno, null, 1))}`);
  }

  if (args.has('--skip-sidecar')) return;
  if (hasCommand('demo')) {
    log('demo: exas demo under node and deno');
    const demos = {};
    for (const runtime of ['node', 'deno']) {
      try {
        demos[runtime] = await demoScenario(runtime);
      } catch (error) {
        fail(`${runtime} demo: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (demos.node && demos.deno) {
      // The crowds moved for different times, so compare the mapping on the Engage states both runs saw.
      for (const [state, gcState] of demos.node) {
        const other = demos.deno.get(state);
        if (other !== undefined && other !== gcState) fail(`demo: ${state} maps to ${gcState} under node but ${other} under deno`);
      }
    }
  } else {
    log('demo: `exas demo` does not exist yet; skipped');
  }
  log('sidecar: emulators + exas run under node and deno');
  const finals = {};
  for (const runtime of ['node', 'deno']) {
    try {
      finals[runtime] = await sidecarScenario(runtime);
    } catch (error) {
      fail(`${runtime} sidecar: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (finals.node && finals.deno && JSON.stringify(finals.node) !== JSON.stringify(finals.deno)) {
    fail(`final GC states differ between node and deno: ${firstDifference(JSON.stringify(finals.node, null, 1), JSON.stringify(finals.deno, null, 1))}`);
  }
}

await longRunning();

if (failures.length > 0) {
  log(`${failures.length} divergence(s) or failure(s)`);
  process.exit(1);
}
log('OK: node and deno agree');
