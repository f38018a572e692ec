/**
 * The one machine-readable line the demo prints on stdout once it listens, so scripts and tests can find the
 * ports: `EXAS demo ready: sidecar=http://127.0.0.1:P gc=http://127.0.0.1:G statserver=http://127.0.0.1:S`.
 */
import type { DemoUrls } from './start.ts';

const PREFIX = 'EXAS demo ready:';

export function readyLine(urls: DemoUrls): string {
  return `${PREFIX} sidecar=${urls.sidecar} gc=${urls.gc} statserver=${urls.statServer}`;
}

/** The URLs from a ready line found anywhere in `text`, or null. */
export function parseReadyLine(text: string): DemoUrls | null {
  const match = /EXAS demo ready: sidecar=(\S+) gc=(\S+) statserver=(\S+)/.exec(text);
  if (match === null) return null;
  return { sidecar: match[1] as string, gc: match[2] as string, statServer: match[3] as string };
}
