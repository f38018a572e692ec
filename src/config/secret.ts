/**
 * A secret value (client secret, API key, token) that cannot end up in a log line by accident: it prints,
 * stringifies and inspects as `[redacted]`; only `reveal()` returns the value, at the one place that sends it.
 */
export class Secret {
  readonly #value: string;
  /** Where the value came from (`env EXAS_GC_CLIENT_SECRET`, `file /run/secrets/gc`, `inline`): safe to log. */
  readonly origin: string;

  constructor(value: string, origin: string) {
    this.#value = value;
    this.origin = origin;
  }

  /** The secret itself. Call only where it is handed to the transport. */
  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return '[redacted]';
  }

  toJSON(): string {
    return '[redacted]';
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret([redacted] from ${this.origin})`;
  }
}
