/**
 * Rules engine throughput: decisions per second on the default exas.rules.yaml, side by side in one run:
 * the compiled table (what EXAS uses), the naive first-match interpreter, a hand-written if/else chain of the
 * same table (the practical ceiling), and json-rules-engine evaluating the same rules (a general engine).
 * Medians of RUNS interleaved rounds. Targets are ratios within this run: compiled ≥ 0.9× the chain and
 * ≥ 1000× json-rules-engine. Writes the `rules` section of bench/RESULTS.md.
 */
import { readFileSync } from 'node:fs';
import { Engine, type NestedCondition, type RuleProperties } from 'json-rules-engine';
import { loadRules, UNMATCHED, type Decision, type RulesProgram } from '../src/rules/index.ts';
import { buildModel, ReasonNames, type Matcher, type RuleSpec } from '../src/rules/model.ts';
import { firstMatch } from '../src/rules/naive.ts';
import { parseRulesSource } from '../src/rules/source.ts';
import { CALL_TYPES, ENGAGE_STATES, type CallType, type EngageState } from '../src/vocabulary.ts';
import { machineDescription, median, writeSection } from './lib/results.ts';

const FILE = 'exas.rules.yaml';
const RUNS = 7;
const SYNC_MS = 250;
const ASYNC_MS = 400;

interface Input {
  state: EngageState;
  callType: CallType;
  reason: string | null;
}

const text = readFileSync(FILE, 'utf8');
const loaded = loadRules(text, FILE);
if (loaded.program === null) throw new Error(`cannot load ${FILE}`);
const program: RulesProgram = loaded.program;
const parsed = parseRulesSource(text, FILE);
const model = buildModel(parsed.source!).model;
const names = new ReasonNames(model.reasonCase, model.aliases);

// A fixed pseudo-random mix of inputs over the whole vocabulary (mulberry32, so every run sees the same mix).
let seed = 0x5eed;
const random = (): number => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pickOne = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
const REASONS = [null, null, 'Break', 'Meal', 'Meeting', 'Training', 'Lunch', 'Coaching'];
const inputs: Input[] = Array.from({ length: 4096 }, () => ({ state: pickOne(ENGAGE_STATES), callType: pickOne(CALL_TYPES), reason: pickOne(REASONS) }));
// The worst case for the table: NotReady without a call, the one row where every decision looks the reason up.
const reasonInputs: Input[] = Array.from({ length: 4096 }, () => ({ state: 'NotReady', callType: 'None', reason: pickOne(REASONS) }));

// --- The hand-written chain: the seed table as if/else, returning the very same Decision objects.
const d = (state: EngageState, callType: CallType, reason: string | null): Decision => program.decide(state, callType, reason);
const D = {
  loggedOff: d('LoggedOff', 'None', null),
  brk: d('NotReady', 'None', 'Break'),
  meal: d('NotReady', 'None', 'Meal'),
  meeting: d('NotReady', 'None', 'Meeting'),
  training: d('NotReady', 'None', 'Training'),
  busy: d('NotReady', 'None', null),
  nrInternal: d('NotReady', 'Internal', null),
  nrCall: d('NotReady', 'Inbound', null),
  idle: d('Ready', 'None', null),
  rInternal: d('Ready', 'Internal', null),
  rCall: d('Ready', 'Inbound', null),
  acwInternal: d('AfterCallWork', 'Internal', null),
  acw: d('AfterCallWork', 'None', null),
};
function chain(state: EngageState, callType: CallType, reason: string | null): Decision {
  if (state === 'LoggedOff') return D.loggedOff;
  if (state === 'NotReady') {
    if (callType === 'None') {
      if (reason === 'Break') return D.brk;
      if (reason === 'Meal') return D.meal;
      if (reason === 'Meeting') return D.meeting;
      if (reason === 'Training') return D.training;
      return D.busy;
    }
    if (callType === 'Internal') return D.nrInternal;
    return D.nrCall;
  }
  if (state === 'Ready') {
    if (callType === 'None') return D.idle;
    if (callType === 'Internal') return D.rInternal;
    return D.rCall;
  }
  if (state === 'AfterCallWork') return callType === 'Internal' ? D.acwInternal : D.acw;
  return UNMATCHED;
}

// --- The naive interpreter: walk the rules, first match wins.
const decisionOf = new Map<RuleSpec, Decision>(model.rules.map((rule) => [rule, program.decide(...anyInputOf(rule))]));
function naive(state: EngageState, callType: CallType, reason: string | null): Decision {
  const rule = firstMatch(model.rules, names, state, callType, reason);
  return rule === undefined ? UNMATCHED : decisionOf.get(rule)!;
}
function anyInputOf(rule: RuleSpec): [EngageState, CallType, string | null] {
  for (const input of inputs) if (firstMatch(model.rules, names, input.state, input.callType, input.reason) === rule) return [input.state, input.callType, input.reason];
  throw new Error(`no benchmark input reaches rule ${rule.ref.name}`);
}

// --- json-rules-engine: the same rules, priorities in file order; the highest-priority success wins.
function condition<T>(fact: string, matcher: Matcher<T>): NestedCondition[] {
  if (matcher.kind === 'any') return [];
  return [{ fact, operator: matcher.kind === 'in' ? 'in' : 'notIn', value: [...matcher.values] as unknown as string[] }];
}
const engine = new Engine([], { allowUndefinedFacts: true });
model.rules.forEach((rule, index) => {
  const all = [...condition('state', rule.state), ...condition('callType', rule.callType), ...condition('reason', rule.reason)];
  const properties: RuleProperties = {
    name: rule.ref.name,
    priority: model.rules.length - index,
    conditions: { all: all.length > 0 ? all : [{ fact: 'state', operator: 'notEqual', value: '' }] },
    event: { type: 'decision', params: { index } },
  };
  engine.addRule(properties);
});
async function general(input: Input): Promise<Decision> {
  const { events } = await engine.run({ state: input.state, callType: input.callType, reason: input.reason });
  let best = Number.POSITIVE_INFINITY;
  for (const event of events) best = Math.min(best, (event.params as { index: number }).index);
  return best === Number.POSITIVE_INFINITY ? UNMATCHED : decisionOf.get(model.rules[best]!)!;
}

// --- All four must agree before any is timed.
for (const input of inputs.slice(0, 512)) {
  const expected = program.decide(input.state, input.callType, input.reason);
  const others = [chain(input.state, input.callType, input.reason), naive(input.state, input.callType, input.reason), await general(input)];
  if (others.some((other) => other !== expected)) throw new Error(`engines disagree on ${JSON.stringify(input)}`);
}

type SyncDecide = (state: EngageState, callType: CallType, reason: string | null) => Decision;
let sink = 0;
/**
 * One timing loop per engine, each its own function literal: a single shared loop would make its call site
 * megamorphic and keep V8 from inlining whichever engine it calls, which would measure the call, not the engine.
 */
function loopFor(decide: SyncDecide, inputs: readonly Input[]): () => number {
  return new Function(
    'decide',
    'inputs',
    'SYNC_MS',
    `return function measure() {
      let count = 0, sink = 0;
      const started = performance.now();
      let elapsed = 0;
      while (elapsed < SYNC_MS) {
        for (let i = 0; i < inputs.length; i += 1) {
          const input = inputs[i];
          if (decide(input.state, input.callType, input.reason).unmatched) sink += 1;
        }
        count += inputs.length;
        elapsed = performance.now() - started;
      }
      globalThis.__rulesBenchSink = sink;
      return (count / elapsed) * 1000;
    };`,
  )(decide, inputs, SYNC_MS) as () => number;
}
async function measureAsync(): Promise<number> {
  let count = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < ASYNC_MS) {
    for (let i = 0; i < 256; i += 1) sink += (await general(inputs[(count + i) % inputs.length]!)).unmatched ? 1 : 0;
    count += 256;
    elapsed = performance.now() - started;
  }
  return (count / elapsed) * 1000;
}

const measureCompiled = loopFor(program.decide, inputs);
const measureChain = loopFor(chain, inputs);
const measureNaive = loopFor(naive, inputs);
const measureCompiledReason = loopFor(program.decide, reasonInputs);
const measureChainReason = loopFor(chain, reasonInputs);
// Warm up every engine so the JIT has settled before the measured rounds.
for (const measure of [measureCompiled, measureChain, measureNaive, measureCompiledReason, measureChainReason]) measure();
await measureAsync();

const samples = { compiled: [] as number[], chain: [] as number[], naive: [] as number[], general: [] as number[], compiledReason: [] as number[], chainReason: [] as number[] };
for (let round = 0; round < RUNS; round += 1) {
  // Interleaved, so machine noise hits every engine alike.
  samples.compiled.push(measureCompiled());
  samples.chain.push(measureChain());
  samples.naive.push(measureNaive());
  samples.general.push(await measureAsync());
  samples.compiledReason.push(measureCompiledReason());
  samples.chainReason.push(measureChainReason());
  console.error(`round ${round + 1}/${RUNS}: compiled ${fmt(samples.compiled.at(-1)!)}/s, chain ${fmt(samples.chain.at(-1)!)}/s, naive ${fmt(samples.naive.at(-1)!)}/s, json-rules-engine ${fmt(samples.general.at(-1)!)}/s`);
}

// Allocation check: heap after many decisions, each side of a full GC (run with --expose-gc, as npm run bench does).
const gc = (globalThis as { gc?: () => void }).gc;
let heapGrowth = Number.NaN;
if (gc !== undefined) {
  gc();
  const before = process.memoryUsage().heapUsed;
  let unmatched = 0;
  for (let round = 0; round < 2000; round += 1) {
    for (let i = 0; i < inputs.length; i += 1) {
      const input = inputs[i]!;
      if (program.decide(input.state, input.callType, input.reason).unmatched) unmatched += 1;
    }
  }
  const after = process.memoryUsage().heapUsed;
  gc();
  heapGrowth = after - before;
  sink += unmatched;
}
const heapLine = Number.isNaN(heapGrowth)
  ? 'Heap growth not measured (run with --expose-gc).'
  : `Heap growth over ${fmt(2000 * inputs.length)} compiled decisions, before any GC: ${Math.round(heapGrowth / 1024)} KiB (no per-decision allocation).`;

const compiled = median(samples.compiled);
const ratioChain = compiled / median(samples.chain);
const ratioGeneral = compiled / median(samples.general);
const rowAgainst = (name: string, values: number[], reference: number): string =>
  `| ${name} | ${fmt(median(values))} | ${fmt(Math.min(...values))} – ${fmt(Math.max(...values))} | ${(reference / median(values)).toFixed(2)}× |`;
const row = (name: string, values: number[]): string => `| ${name} | ${fmt(median(values))} | ${fmt(Math.min(...values))} – ${fmt(Math.max(...values))} | ${(compiled / median(values)).toFixed(2)}× |`;
const markdown = [
  `Default \`${FILE}\` (${program.rules.length} rules), ${inputs.length} pseudo-random inputs over every state × call type and ${REASONS.length - 1} reasons; median of ${RUNS} interleaved rounds (${SYNC_MS} ms each; json-rules-engine ${ASYNC_MS} ms).`,
  '',
  '| engine | decisions/s (median) | range | compiled is |',
  '|---|---|---|---|',
  row('compiled table (EXAS)', samples.compiled),
  row('hand-written if/else chain', samples.chain),
  row('naive first-match interpreter', samples.naive),
  row('json-rules-engine', samples.general),
  '',
  'Worst case for the table, every input NotReady without a call (the one row that looks the reason up):',
  '',
  '| engine | decisions/s (median) | range | compiled is |',
  '|---|---|---|---|',
  rowAgainst('compiled table (EXAS)', samples.compiledReason, median(samples.compiledReason)),
  rowAgainst('hand-written if/else chain', samples.chainReason, median(samples.compiledReason)),
  '',
  heapLine,
  '',
  `Targets: compiled ≥ 0.9× the chain: **${ratioChain.toFixed(2)}×** (${ratioChain >= 0.9 ? 'met' : 'NOT met'}); compiled ≥ 1000× json-rules-engine: **${fmt(ratioGeneral)}×** (${ratioGeneral >= 1000 ? 'met' : 'NOT met'}). One compiled decision ≈ ${(1e9 / compiled).toFixed(1)} ns.`,
].join('\n');
writeSection('rules', 'Rules engine: decisions per second', markdown);
console.log(markdown);
console.error(`(machine: ${machineDescription()}; sink ${sink})`);

function fmt(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)} M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
  return value.toFixed(0);
}
