import { afterEach, describe, expect, it } from 'vitest';
import { Listeners } from '../../../src/statserver/listeners.ts';
import { createLogger, setLogSink, type LogSink } from '../../../src/log.ts';

describe('source listeners', () => {
  let previous: LogSink | undefined;
  afterEach(() => {
    if (previous !== undefined) setLogSink(previous);
  });

  it('a listener that throws is logged and the others still hear the event', () => {
    const lines: string[] = [];
    previous = setLogSink((line) => lines.push(line));
    const listeners = new Listeners<string>('connection', createLogger('test'));
    const heard: string[] = [];
    listeners.add(() => {
      throw new Error('bad subscriber');
    });
    listeners.add((event) => heard.push(event));
    expect(() => listeners.emit('connected')).not.toThrow();
    expect(heard).toEqual(['connected']);
    expect(lines.some((line) => line.includes('connection listener threw'))).toBe(true);
  });

  it('the function add returns unsubscribes that listener only', () => {
    const listeners = new Listeners<number>('observation', createLogger('test'));
    const first: number[] = [];
    const second: number[] = [];
    const stop = listeners.add((n) => first.push(n));
    listeners.add((n) => second.push(n));
    listeners.emit(1);
    stop();
    listeners.emit(2);
    expect(first).toEqual([1]);
    expect(second).toEqual([1, 2]);
  });
});
