/**
 * Names and addresses that always mean this machine: what "listens on loopback only" and "a request for this
 * machine" are decided by (operator server, config warnings).
 */
import { isIP } from 'node:net';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** True for `localhost` (and `*.localhost`), 127.0.0.0/8 and ::1, with or without IPv6 brackets. */
export function isLoopbackName(name: string): boolean {
  const bare = name.replace(/^\[|\]$/g, '').toLowerCase();
  if (LOOPBACK_NAMES.has(bare) || bare.endsWith('.localhost')) return true;
  return isIP(bare) === 4 && bare.startsWith('127.');
}
