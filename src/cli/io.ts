/**
 * @module
 * The streams a CLI command talks to. stdout carries only the command's result; logs, warnings and errors go
 * to stderr. Colour only when the stream is a TTY and NO_COLOR is unset.
 */
import process from 'node:process';

export interface CliIo {
  /** Writes to stdout (results only). */
  out(text: string): void;
  /** Writes to stderr (diagnostics, progress, warnings). */
  err(text: string): void;
  /** Reads all of stdin as UTF-8. */
  readStdin(): Promise<string>;
  /** True when stderr may carry ANSI colour. */
  readonly colour: boolean;
}

/** A command: gets its own arguments (after the command name) and returns the process exit code. */
export type Command = (args: string[], io: CliIo) => Promise<number>;

export function processIo(): CliIo {
  const colour = Boolean(process.stderr.isTTY) && process.env['NO_COLOR'] === undefined;
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    readStdin: async () => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
      return new TextDecoder().decode(concat(chunks));
    },
    colour,
  };
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Wraps `text` in an ANSI colour when `io.colour` allows it. */
export function paint(io: CliIo, colour: 'red' | 'yellow' | 'green' | 'dim', text: string): string {
  if (!io.colour) return text;
  const code = { red: 31, yellow: 33, green: 32, dim: 2 }[colour];
  return `\u001b[${code}m${text}\u001b[0m`;
}
