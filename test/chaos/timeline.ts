/** What happened when during a chaos run: printed on failure (with the seed) and saved beside the results. */
export class Timeline {
  readonly entries: string[] = [];
  readonly startedAt = Date.now();

  add(event: string, fields: Record<string, unknown> = {}): void {
    const seconds = ((Date.now() - this.startedAt) / 1000).toFixed(1).padStart(7);
    const detail = Object.keys(fields).length === 0 ? '' : ` ${JSON.stringify(fields)}`;
    const line = `${seconds}s ${event}${detail}`;
    this.entries.push(line);
    if (this.echo) process.stderr.write(`[chaos] ${line}\n`);
  }

  echo = true;

  elapsedMs(): number {
    return Date.now() - this.startedAt;
  }
}
