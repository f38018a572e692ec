/** Keeps one EXAS child running for the chaos run: start, SIGKILL, restart, SIGHUP, graceful stop. */
import { join } from 'node:path';
import { startExas, type ExasProcess } from './exas-process.ts';
import type { Timeline } from './timeline.ts';

export class ExasController {
  private child: ExasProcess | undefined;
  starts = 0;
  kills = 0;

  constructor(
    private readonly configPath: string,
    private readonly directory: string,
    private readonly timeline: Timeline,
    private readonly nodeArgs: readonly string[] = [],
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts EXAS and waits until its operator server is up (signal handlers are installed by then). */
  async start(): Promise<string> {
    if (this.child !== undefined) throw new Error('EXAS is already running');
    this.starts += 1;
    const child = startExas(this.configPath, join(this.directory, 'exas.log'), this.nodeArgs);
    this.child = child;
    const url = await Promise.race([
      child.operatorUrl(),
      child.exited().then(({ code, signal }) => {
        throw new Error(`EXAS exited during start (code ${code}, signal ${signal}); log tail:\n${child.tail().join('\n')}`);
      }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`EXAS did not start within 30 s; log tail:\n${child.tail().join('\n')}`)), 30_000).unref()),
    ]);
    this.timeline.add('EXAS started', { pid: child.pid, url });
    this.operatorUrl = url;
    return url;
  }

  operatorUrl = '';

  async kill9(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.kills += 1;
    child.kill('SIGKILL');
    const exit = await child.exited();
    this.child = undefined;
    this.timeline.add('EXAS killed', { pid: child.pid, ...exit });
  }

  sighup(): void {
    this.child?.kill('SIGHUP');
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null } | undefined> {
    const child = this.child;
    if (child === undefined) return undefined;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const exit = await child.exited();
    clearTimeout(timer);
    this.child = undefined;
    this.timeline.add('EXAS stopped', { pid: child.pid, ...exit });
    return exit;
  }

  tail(): string[] {
    return this.child?.tail() ?? [];
  }
}
