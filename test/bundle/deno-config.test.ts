/**
 * deno.json's import map names every npm package the sources import, at the range package.json declares, so
 * `deno check` and `deno run src/cli.ts` resolve the same packages Node and the bundle do.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };

const ROOT = resolve(import.meta.dirname, '..', '..');

interface DenoConfig {
  imports: Record<string, string>;
  tasks: Record<string, string>;
}

/**
 * Browser code: esbuild bundles it with CodeMirror (devDependencies) into src/http/page/editor-bundle.ts
 * (`node scripts/build.mjs --editor`); neither Node nor Deno ever runs or resolves it.
 */
const BROWSER_SOURCES = join(ROOT, 'src', 'http', 'page', 'editor');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (path === BROWSER_SOURCES) return [];
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Bare specifiers imported by the sources (`node:` built-ins and relative paths excluded). */
function bareImports(): Set<string> {
  const found = new Set<string>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^'.][^']*)'/gm)) {
      const specifier = match[1] as string;
      if (!specifier.startsWith('node:')) found.add(specifier);
    }
  }
  return found;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

const deno = JSON.parse(readFileSync(join(ROOT, 'deno.json'), 'utf8')) as DenoConfig;
const dependencies: Record<string, string> = packageJson.dependencies;

describe('deno.json', () => {
  it('maps every npm package the sources import', () => {
    const imports = [...bareImports()];
    expect(imports.length).toBeGreaterThan(0);
    for (const specifier of imports) {
      const name = packageName(specifier);
      const mapped = specifier === name ? deno.imports[name] : deno.imports[`${name}/`];
      expect(mapped, `deno.json imports has no entry for '${specifier}'`).toBeDefined();
    }
  });

  it('maps each package at the range package.json declares, and only runtime dependencies', () => {
    for (const [key, target] of Object.entries(deno.imports)) {
      const name = key.replace(/\/$/, '');
      expect(dependencies[name], `${name} is not a dependency in package.json`).toBeDefined();
      const expected = key.endsWith('/') ? `npm:/${name}@${dependencies[name]}/` : `npm:${name}@${dependencies[name]}`;
      expect(target).toBe(expected);
    }
  });

  it('has the check, test, start and demo tasks', () => {
    expect(Object.keys(deno.tasks)).toEqual(expect.arrayContaining(['check', 'test', 'start', 'demo']));
  });
});
