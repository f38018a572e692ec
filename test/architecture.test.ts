/**
 * The shape of `src/sync`, checked on the source: the sync stage depends on nothing downstream of it (the HTTP
 * operator surface, the operator read model, the composition root that wires them), and no function in it is so
 * long that one has to hold a whole closure in mind to change one policy (issue 17). The TypeScript compiler API
 * walks every function-like node, so arrows and methods count as much as declarations.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SYNC = join(ROOT, 'src', 'sync');
const MAX_FUNCTION_LINES = 150;
/** Downstream of sync: sync must never import these. */
const FORBIDDEN = [join(ROOT, 'src', 'http'), join(ROOT, 'src', 'operator'), join(ROOT, 'src', 'sidecar')];

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const posix = (path: string): string => relative(ROOT, path).split(sep).join('/');

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
}

/** Module specifiers of every import, export-from and dynamic import in a file. */
function importsOf(source: ts.SourceFile): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] !== undefined && ts.isStringLiteral(node.arguments[0])) {
      out.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Every function-like node longer than the limit, as "file:line name (N lines)". */
function longFunctions(source: ts.SourceFile, file: string): string[] {
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines > MAX_FUNCTION_LINES) {
        const name = node.name !== undefined && ts.isIdentifier(node.name) ? node.name.text : ts.isVariableDeclaration(node.parent) && ts.isIdentifier(node.parent.name) ? node.parent.name.text : '(anonymous)';
        out.push(`${posix(file)}:${start + 1} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

const files = sourceFiles(SYNC);

describe('src/sync architecture', () => {
  it('imports nothing from the HTTP surface, the operator read model or the composition root', () => {
    const offending: string[] = [];
    for (const file of files) {
      for (const specifier of importsOf(parse(file))) {
        if (!specifier.startsWith('.')) continue;
        const target = resolve(join(file, '..'), specifier);
        const edge = `${posix(file)} → ${specifier}`;
        if (FORBIDDEN.some((dir) => target === dir || target.startsWith(dir + sep))) offending.push(edge);
      }
    }
    expect(offending).toEqual([]);
  });

  it(`has no function longer than ${MAX_FUNCTION_LINES} lines`, () => {
    const long = files.flatMap((file) => longFunctions(parse(file), file));
    expect(long).toEqual([]);
  });

  it('finds what it checks (the walk sees src/sync and its functions)', () => {
    expect(files.length).toBeGreaterThan(5);
    const sample = ts.createSourceFile('x.ts', `const f = () => {\n${'  1;\n'.repeat(MAX_FUNCTION_LINES)}};\n`, ts.ScriptTarget.Latest, true);
    expect(longFunctions(sample, join(SYNC, 'x.ts'))).toHaveLength(1);
  });
});
