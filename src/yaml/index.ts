/**
 * @module
 * YAML with positions for every schema-validated YAML file EXAS reads (the rules file, the config file): parse
 * with `LineCounter`, duplicate keys and alias limits, and ajv errors placed at `line:column`. Wording stays
 * with each caller.
 */
export { MAX_ALIAS_COUNT, parseYamlWithPositions, PROTOTYPE_KEYS, type AliasProblem, type PathSegment, type Position, type PositionedYaml, type YamlProblem } from './positions.ts';
export { ajvFindings, type AjvFinding, type PositionedFinding } from './ajv-findings.ts';
