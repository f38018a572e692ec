/**
 * Generators shared by the fuzz targets: edits of valid YAML files, YAML-shaped text, hostile strings.
 */
import fc from 'fast-check';
import type { Mutation } from './profile.ts';

/** YAML syntax a mutation may insert: structure, anchors/aliases, tags, directives, odd whitespace and code points. */
export const YAML_TOKENS: readonly string[] = [
  ':', ': ', '- ', '-', ' ', '  ', '\n', '\r\n', '\t', '{', '}', '[', ']', ',', '"', "'", '#', '|', '>', '?', '? ',
  '&a ', '*a', '&b [*a, *a, *a]', '<<: *a', '!!str ', '!!int ', '!!binary ', '!!set ', '!!omap ', '!!map ', '!local ',
  '!<tag:yaml.org,2002:str> ', '---\n', '...\n', '%YAML 1.1\n', '%TAG ! tag:x,2000:\n', '~', 'null', 'true', '0x1F',
  '.inf', '-.nan', '1e400', '9007199254740993', '\u0000', '\uFEFF', '\ud800', '\u2028', '😀', '\\', '\\u0000', '@', '`', '%',
];

/** DESIGN.md vocabulary and rules/config keys, so mutations also produce near-valid files. */
export const DOMAIN_TOKENS: readonly string[] = [
  'rules', 'name', 'when', 'state', 'callType', 'reason', 'not', 'any', 'presence', 'routingStatus', 'keep', 'tests',
  'events', 'expect', 'reasons', 'aliases', 'case', 'presences', 'custom', 'version', 'LoggedOff', 'NotReady', 'Ready',
  'AfterCallWork', 'None', 'Internal', 'Inbound', 'Outbound', 'Consult', 'Unknown', 'Busy', 'Break', 'Meal',
  'Available', 'OnQueue', 'Offline', 'OffQueue', 'Idle', 'Interacting', 'Communicating', 'NotResponding',
  'statServer', 'gc', 'clients', 'clientSecret', 'http', 'listen', 'writer', 'drift', 'store', 'path', 'file',
  '../../etc/passwd', '/dev/zero', '127.0.0.1:0', '0.0.0.0:80',
];

/** One edit of a text (positions wrap around, so every generated edit applies). */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...YAML_TOKENS), fc.constantFrom(...DOMAIN_TOKENS), fc.string({ maxLength: 8, unit: 'binary' })),
  }),
  fc.record({ kind: fc.constant('duplicate-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('delete-line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('swap-lines' as const), line: fc.nat(), other: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), line: fc.nat(), by: fc.integer({ min: -6, max: 6 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

/** One to eight edits. */
export const mutations: fc.Arbitrary<Mutation[]> = fc.array(mutation, { minLength: 1, maxLength: 8 });

/** Text made of YAML and domain tokens: reaches the parser's corners faster than uniform characters. */
export const yamlishText: fc.Arbitrary<string> = fc
  .array(fc.oneof(fc.constantFrom(...YAML_TOKENS), fc.constantFrom(...DOMAIN_TOKENS)), { maxLength: 60 })
  .map((parts) => parts.join(''));

/** Any text: printable, full Unicode with lone surrogates, or YAML-shaped. */
export const anyText: fc.Arbitrary<string> = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.string({ maxLength: 300, unit: 'binary' }),
  fc.string({ maxLength: 200, unit: 'grapheme' }),
  yamlishText,
);
