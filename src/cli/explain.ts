/**
 * @module
 * `exas explain --state S [--call-type C] [--reason R] [--rules FILE]`: the decision for one input and the chain
 * of rules considered, human-readable on stdout.
 */
import { parseArgs } from 'node:util';
import { formatExplanation, loadRulesFile } from '../rules/index.ts';
import { didYouMean } from '../rules/did-you-mean.ts';
import { CALL_TYPES, ENGAGE_STATES, isCallType, isEngageState } from '../vocabulary.ts';
import { DEFAULT_RULES_FILE, printDiagnostics } from './rules-file.ts';
import type { Command } from './io.ts';

const USAGE = 'usage: exas explain --state S [--call-type C] [--reason R] [--rules FILE]\n';

export const explain: Command = async (args, io) => {
  let values: { state?: string; 'call-type'?: string; reason?: string; rules?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: { state: { type: 'string' }, 'call-type': { type: 'string' }, reason: { type: 'string' }, rules: { type: 'string' } },
    }));
  } catch (error) {
    io.err(`exas explain: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const state = values.state;
  const callType = values['call-type'] ?? 'None';
  if (!isEngageState(state)) {
    const hint = state === undefined ? 'missing --state' : `unknown state '${state}'${didYouMean(state, ENGAGE_STATES)}`;
    io.err(`exas explain: ${hint}; expected one of ${ENGAGE_STATES.join(', ')}\n${USAGE}`);
    return 2;
  }
  if (!isCallType(callType)) {
    io.err(`exas explain: unknown call type '${callType}'${didYouMean(callType, CALL_TYPES)}; expected one of ${CALL_TYPES.join(', ')}\n${USAGE}`);
    return 2;
  }
  const loaded = await loadRulesFile(values.rules ?? DEFAULT_RULES_FILE);
  if (loaded.program === null) {
    printDiagnostics(io, loaded.errors);
    return 1;
  }
  io.out(formatExplanation(loaded.program.explain(state, callType, values.reason ?? null)));
  return 0;
};
