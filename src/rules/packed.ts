/**
 * A compiled rules program as plain data, for the thread that did not compile it: a worker vets and compiles a
 * reloaded file, packs the program (decision table as typed arrays, one name and line per rule, the model as JSON
 * bytes), and the serving thread adopts it with `unpackProgram` in a few milliseconds for a 1 MiB file, instead
 * of compiling it again (a couple of hundred milliseconds on the thread that talks to Stat Server and GC).
 *
 * Large text crosses threads as bytes, not as a string: receiving a 2 MB string costs the receiving thread tens of
 * milliseconds (the structured-clone deserializer), a transferred byte array nothing.
 */
import { assembleProgram, decisionsOf, type Compiled, type DecisionTables, type RulesProgram } from './compile.ts';
import type { CustomPresence, RulesModel, RulesTest } from './model.ts';
import type { PresenceOutput, RoutingStatus } from '../vocabulary.ts';

export interface PackedProgram {
  readonly file: string;
  /** sha256 hex of the source text the program was compiled from. */
  readonly hash: string;
  readonly tables: DecisionTables;
  /** Rule i's name and line. */
  readonly ruleNames: readonly string[];
  readonly ruleLines: Int32Array;
  /** Rule i's presence and routing status, as an index into `outputs` (few distinct pairs, many rules). */
  readonly ruleOutputs: Int32Array;
  readonly outputs: ReadonlyArray<readonly [PresenceOutput, RoutingStatus]>;
  readonly presences: readonly string[];
  readonly customPresences: readonly CustomPresence[];
  readonly tests: readonly RulesTest[];
  /** The model as UTF-8 JSON (aliases as entries), decoded only when something asks for an explanation. */
  readonly modelJson: Uint8Array;
}

/** Packs a compiled program (in the worker that compiled it). */
export function packProgram(model: RulesModel, compiled: Compiled): PackedProgram {
  const outputs: Array<readonly [PresenceOutput, RoutingStatus]> = [];
  const outputIndex = new Map<string, number>();
  const ruleOutputs = new Int32Array(model.rules.length);
  const ruleLines = new Int32Array(model.rules.length);
  model.rules.forEach((rule, i) => {
    const key = `${rule.presence}\u0000${rule.routingStatus}`;
    let index = outputIndex.get(key);
    if (index === undefined) {
      index = outputs.length;
      outputs.push([rule.presence, rule.routingStatus]);
      outputIndex.set(key, index);
    }
    ruleOutputs[i] = index;
    ruleLines[i] = rule.ref.line;
  });
  const program = compiled.program;
  return {
    file: program.file,
    hash: program.hash,
    tables: compiled.tables,
    ruleNames: model.rules.map((rule) => rule.ref.name),
    ruleLines,
    ruleOutputs,
    outputs,
    presences: program.presences,
    customPresences: program.customPresences,
    tests: program.tests,
    modelJson: new TextEncoder().encode(JSON.stringify({ ...model, aliases: [...model.aliases] })),
  };
}

/** The typed arrays of a packed program: transfer them (postMessage) instead of copying. */
export function packedBuffers(packed: PackedProgram): ArrayBuffer[] {
  const views = [packed.tables.cells, packed.tables.rows, packed.tables.reasonClasses, packed.ruleLines, packed.ruleOutputs, packed.modelJson];
  return [...new Set(views.map((view) => view.buffer as ArrayBuffer))];
}

/** Adopts a packed program; `source` is the text it was compiled from (the caller read it, and has it). */
export function unpackProgram(packed: PackedProgram, source: string): RulesProgram {
  const decisions = decisionsOf(
    packed.ruleNames.map((name, i) => {
      const [presence, routingStatus] = packed.outputs[packed.ruleOutputs[i]!]!;
      return { presence, routingStatus, rule: Object.freeze({ name, file: packed.file, line: packed.ruleLines[i]! }) };
    }),
  );
  const facts = { file: packed.file, hash: packed.hash, presences: packed.presences, customPresences: packed.customPresences, tests: packed.tests, source };
  return assembleProgram(facts, packed.tables, decisions, () => {
    const parsed = JSON.parse(new TextDecoder().decode(packed.modelJson)) as Omit<RulesModel, 'aliases'> & { aliases: Array<[string, string[]]> };
    return { ...parsed, aliases: new Map(parsed.aliases) };
  });
}
