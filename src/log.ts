/**
 * @module
 * Structured logs: one JSON object per line on stderr (stdout is for command results only), with secrets
 * redacted by key name before anything is written.
 *
 * @example
 * const log = createLogger('writer');
 * log.info('batch sent', { users: 100, endpoint: 'inject-presence' });
 */
import process from 'node:process';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose lines carry `component` (and any fixed fields). */
  child(component: string, fields?: LogFields): Logger;
}

/** Where log lines go. Tests swap it to capture lines; the default writes to stderr. */
export type LogSink = (line: string) => void;

let sink: LogSink = (line) => process.stderr.write(line + '\n');
let minimumLevel: LogLevel = readLevel(process.env['EXAS_LOG_LEVEL']);

function readLevel(value: string | undefined): LogLevel {
  return value === 'debug' || value === 'info' || value === 'warn' || value === 'error' ? value : 'info';
}

/** Sends every later log line to `next` and returns the previous sink (tests use this to capture logs). */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

export function setLogLevel(level: LogLevel): void {
  minimumLevel = level;
}

const SECRET_KEY = /secret|password|passwd|token|authorization|api[-_]?key|cookie|credential/i;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g;
/** `scheme://user:password@host`: endpoints are logged, and an operator may put proxy credentials in one. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]+@/gi;

/** Replaces values under secret-looking keys, and bearer/basic credentials and URL user-info inside strings, with "[redacted]". */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[deep]';
  if (typeof value === 'string') return value.replace(BEARER, '$1 [redacted]').replace(URL_CREDENTIALS, '$1[redacted]@');
  if (value instanceof Error) return { name: value.name, message: redact(value.message, depth + 1) };
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) ? '[redacted]' : redact(inner, depth + 1);
    }
    return out;
  }
  return value;
}

export function createLogger(component: string, fixed: LogFields = {}): Logger {
  const write = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVEL_ORDER[level] < LEVEL_ORDER[minimumLevel]) return;
    const record = { time: new Date().toISOString(), level, component, msg: message, ...fixed, ...fields };
    sink(JSON.stringify(redact(record)));
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
    child: (name, fields) => createLogger(`${component}.${name}`, { ...fixed, ...fields }),
  };
}
