/**
 * Rules engine throughput: decisions per second on the default exas.rules.yaml, side by side in one run:
 * the compiled table (what EXAS uses), the naive first-match interpreter, a hand-written if/else chain of the
 * same table (the practical ceiling), and json-rules-engine evaluating the same rules (a general engine).
 * Medians of RUNS interleaved rounds, each with the spread of the rounds (min–max and interquartile range), and
 * the compiled/chain ratio per round, since a shared machine's noise moves whole rounds. Two mixes: the headline
 * (pseudo-random over the whole vocabulary) and the worst case for the table, where every input needs the
 * reason lookup (NotReady without a call, always with a reason code, a third of them codes no rule names, which
 * scan every named reason). Targets are ratios within this run: compiled ≥ 0.9× the chain and ≥ 1000×
 * json-rules-engine. Writes the `rules` section of bench/RESULTS.md.
 */
import { readFileSync } from 'node:fs';
import { Engine, type NestedCondition, type RuleProperties } from 'json-rules-engine';
import { loadRules, UNMATCHED, type Decision, type RulesProgram } from '../src/rules/index.ts';
import { buildModel, ReasonNames, type Matcher, type RuleSpec } from '../src/rules/model.ts';
import { firstMatch } from '../src/rules/naive.ts';
import { parseRulesSource } from '../src/rules/source.ts';
import { CALL_TYPES, ENGAGE_STATES, type CallType, type EngageState } from '../src/vocabulary.ts';
import { machineDescription, median, percentile, writeSection } from './lib/results.ts';

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
// The worst case for the table: NotReady without a call, the one row that depends on the reason, always with a
// reason code (no reason skips the lookup), a third of them codes no rule names (the lookup's longest path).
const LOOKUP_REASONS = REASONS.filter((reason): reason is string => reason !== null);
const reasonInputs: Input[] = Array.from({ length: 4096 }, () => ({ state: 'NotReady', callType: 'None', reason: pickOne(LOOKUP_REASONS) }));

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
async function measureAsync(mix: readonly Input[] = inputs): Promise<number> {
  let count = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < ASYNC_MS) {
    for (let i = 0; i < 256; i += 1) sink += (await general(mix[(count + i) % mix.length]!)).unmatched ? 1 : 0;
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
const measureNaiveReason = loopFor(naive, reasonInputs);
// Warm up every engine so the JIT has settled before the measured rounds.
for (const measure of [measureCompiled, measureChain, measureNaive, measureCompiledReason, measureChainReason, measureNaiveReason]) measure();
await measureAsync();
await measureAsync(reasonInputs);

const samples = {
  compiled: [] as number[],
  chain: [] as number[],
  naive: [] as number[],
  general: [] as number[],
  compiledReason: [] as number[],
  chainReason: [] as number[],
  naiveReason: [] as number[],
  generalReason: [] as number[],
};
for (let round = 0; round < RUNS; round += 1) {
  // Interleaved, so machine noise hits every engine alike.
  samples.compiled.push(measureCompiled());
  samples.chain.push(measureChain());
  samples.naive.push(measureNaive());
  samples.general.push(await measureAsync());
  samples.compiledReason.push(measureCompiledReason());
  samples.chainReason.push(measureChainReason());
  samples.naiveReason.push(measureNaiveReason());
  samples.generalReason.push(await measureAsync(reasonInputs));
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

/** Per round, compiled ÷ other (the rounds are interleaved, so each ratio compares engines under the same noise). */
const perRound = (compiledRuns: readonly number[], others: readonly number[]): number[] => compiledRuns.map((value, index) => value / others[index]!);
const spread = (values: readonly number[], format: (value: number) => string): string =>
  `${format(Math.min(...values))} – ${format(Math.max(...values))} | ${format(percentile(values, 25))} – ${format(percentile(values, 75))}`;
const times = (value: number): string => `${value >= 100 ? fmt(value) : value.toFixed(2)}×`;

/** One mix's table: each engine's median and spread, and the compiled table against it (median of per-round ratios and their range). */
function mixTable(compiledRuns: readonly number[], rows: ReadonlyArray<[string, readonly number[]]>): string[] {
  return [
    '| engine | decisions/s (median) | range (min – max) | IQR | compiled is (median of rounds) | per-round range |',
    '|---|---|---|---|---|---|',
    ...rows.map(([name, values]) => {
      const ratios = perRound(compiledRuns, values);
      return `| ${name} | ${fmt(median(values))} | ${spread(values, fmt)} | ${times(median(ratios))} | ${times(Math.min(...ratios))} – ${times(Math.max(...ratios))} |`;
    }),
  ];
}

const compiled = median(samples.compiled);
const ratioChain = median(perRound(samples.compiled, samples.chain));
const ratioGeneral = median(perRound(samples.compiled, samples.general));
const ratioChainReason = median(perRound(samples.compiledReason, samples.chainReason));
const ratioGeneralReason = median(perRound(samples.compiledReason, samples.generalReason));
const verdict = (met: boolean): string => (met ? 'met' : 'NOT met');
const markdown = [
  `Default \`${FILE}\` (${program.rules.length} rules); ${RUNS} interleaved rounds (${SYNC_MS} ms each; json-rules-engine ${ASYNC_MS} ms), every engine in every round, so the spread is the rounds' own (min – max and interquartile range), and "compiled is" is the median of the per-round ratios.`,
  '',
  `Headline mix: ${inputs.length} pseudo-random inputs over every state × call type and ${REASONS.length - 1} reasons (a quarter without a reason):`,
  '',
  ...mixTable(samples.compiled, [
    ['compiled table (EXAS)', samples.compiled],
    ['hand-written if/else chain', samples.chain],
    ['naive first-match interpreter', samples.naive],
    ['json-rules-engine', samples.general],
  ]),
  '',
  `Worst-case mix: ${reasonInputs.length} inputs that all need the reason lookup (NotReady without a call, every one with a reason code: ${LOOKUP_REASONS.join(', ')}; ${LOOKUP_REASONS.filter((reason) => !['Break', 'Meal', 'Meeting', 'Training'].includes(reason)).length} of ${LOOKUP_REASONS.length} codes no rule names, the lookup's longest path):`,
  '',
  ...mixTable(samples.compiledReason, [
    ['compiled table (EXAS)', samples.compiledReason],
    ['hand-written if/else chain', samples.chainReason],
    ['naive first-match interpreter', samples.naiveReason],
    ['json-rules-engine', samples.generalReason],
  ]),
  '',
  heapLine,
  '',
  `Targets (median of per-round ratios): compiled ≥ 0.9× the chain: **${times(ratioChain)}** headline (${verdict(ratioChain >= 0.9)}), **${times(ratioChainReason)}** worst case (${verdict(ratioChainReason >= 0.9)}); compiled ≥ 1000× json-rules-engine: **${times(ratioGeneral)}** headline (${verdict(ratioGeneral >= 1000)}), **${times(ratioGeneralReason)}** worst case (${verdict(ratioGeneralReason >= 1000)}). One compiled decision ≈ ${(1e9 / compiled).toFixed(1)} ns (headline), ${(1e9 / median(samples.compiledReason)).toFixed(1)} ns (worst case).`,
].join('\n');
writeSection('rules', 'Rules engine: decisions per second', markdown);
console.log(markdown);
console.error(`(machine: ${machineDescription()}; sink ${sink})`);

function fmt(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)} M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)} k`;
  return value.toFixed(0);
}
