/**
 * Shared pieces for benchmarks: the machine's description, medians, and writing one bench's section of
 * bench/RESULTS.md between `<!-- bench:NAME -->` markers so benches update their own part only.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const RESULTS = 'bench/RESULTS.md';
const HEADER = '# Benchmark results\n\nWritten by `npm run bench`; each section by its own benchmark, with the machine it ran on.\n';

export function machineDescription(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const memoryGiB = (os.totalmem() / 2 ** 30).toFixed(0);
  return `${model}, ${cpus.length} cores, ${memoryGiB} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** Replaces (or appends) the section `name` of bench/RESULTS.md with `markdown`, stamped with date and machine. */
export function writeSection(name: string, title: string, markdown: string): void {
  const current = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : HEADER;
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const stamp = `_Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machineDescription()}._`;
  const section = `${start}\n## ${title}\n\n${stamp}\n\n${markdown.trim()}\n${end}`;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? current.slice(0, from) + section + current.slice(to + end.length)
      : current.trimEnd() + '\n\n' + section + '\n';
  writeFileSync(RESULTS, next);
}
