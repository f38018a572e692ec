import { describe, expect, it } from 'vitest';
import type { ErrorObject } from 'ajv';
import { ajvFindings, MAX_ALIAS_COUNT, parseYamlWithPositions } from '../../../src/yaml/index.ts';

const TEXT = 'writer:\n  batchSize: 10\n  mode:\nrules:\n  - name: a\n  - name: b\n';

describe('YAML with positions', () => {
  it('places a value, its key, a list item and an empty value (just after its colon)', () => {
    const yaml = parseYamlWithPositions(TEXT);
    expect(yaml.at(['writer', 'batchSize'])).toEqual({ line: 2, column: 14 });
    expect(yaml.at(['writer', 'batchSize'], true)).toEqual({ line: 2, column: 3 });
    expect(yaml.at(['rules', 1])).toEqual({ line: 6, column: 5 });
    expect(yaml.at(['writer', 'mode'])).toEqual({ line: 3, column: 8 });
  });

  it('a path missing from the file falls back to its nearest parent, to the key in key mode', () => {
    const yaml = parseYamlWithPositions(TEXT);
    expect(yaml.at(['writer', 'absent'])).toEqual({ line: 2, column: 3 });
    expect(yaml.at(['writer', 'absent'], true)).toEqual({ line: 1, column: 1 });
    expect(yaml.at(['rules', 7, 'name'])).toEqual({ line: 5, column: 3 });
  });

  it('a path through an alias continues in the anchored mapping', () => {
    const yaml = parseYamlWithPositions('base: &b\n  x: 1\nother: *b\n');
    expect(yaml.value).toEqual({ base: { x: 1 }, other: { x: 1 } });
    expect(yaml.at(['other', 'x'], true)).toEqual({ line: 2, column: 3 });
  });

  it('a duplicate key is an error that leaves the value readable; a syntax error leaves none', () => {
    const duplicate = parseYamlWithPositions('a: 1\nb: 2\na: 3\n');
    expect(duplicate.errors.map((e) => [e.code, e.line, e.column])).toEqual([['DUPLICATE_KEY', 3, 1]]);
    expect(duplicate.value).toEqual({ a: 3, b: 2 });
    const broken = parseYamlWithPositions('a: [1, 2\n');
    expect(broken.errors.length).toBeGreaterThan(0);
    expect(broken.value).toBeUndefined();
  });

  it('an alias bomb is refused at the first alias instead of being expanded', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', ''].join('\n');
    const yaml = parseYamlWithPositions(bomb);
    expect(yaml.value).toBeUndefined();
    expect(yaml.aliasProblem).toMatchObject({ line: 2, column: 8 });
    expect(yaml.aliasProblem?.message).toMatch(/excessive alias/i);
    expect(MAX_ALIAS_COUNT).toBe(100);
  });

  it('ajv errors are placed by instance path, worded by the caller, repeated ones reported once', () => {
    const yaml = parseYamlWithPositions(TEXT);
    const error = (keyword: string, instancePath: string, params: Record<string, unknown> = {}): ErrorObject => ({ keyword, instancePath, schemaPath: '#', params });
    const findings = ajvFindings(
      [error('type', '/writer/batchSize'), error('type', '/writer/batchSize'), error('if', '/rules/0'), error('additionalProperties', '/writer', { additionalProperty: 'mode' })],
      yaml,
      (e, path) => (e.keyword === 'additionalProperties' ? { path: [...path, String(e.params['additionalProperty'])], key: true, message: 'unknown key' } : { path, key: false, message: e.keyword }),
    );
    expect(findings).toEqual([
      { path: ['writer', 'batchSize'], key: false, message: 'type', line: 2, column: 14, code: 'wrong-type' },
      { path: ['writer', 'mode'], key: true, message: 'unknown key', line: 3, column: 3, code: 'unknown-key' },
    ]);
  });
});
