/**
 * Typed errors of the operator surface: each carries its HTTP status and a JSON body, so handlers throw and
 * one error handler answers. Bodies always have `error`; validation errors name the `field`.
 */

/** One problem in a rules file, as endpoints report it. */
export interface DiagnosticDetail {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

export interface ErrorBody {
  readonly error: string;
  readonly field?: string;
  readonly index?: number;
  readonly details?: readonly DiagnosticDetail[];
}

export class OperatorHttpError extends Error {
  readonly status: 400 | 401 | 403 | 404 | 408 | 409 | 413 | 415 | 421 | 429 | 503;
  readonly body: ErrorBody;
  /** Extra response headers (`Retry-After` on a 429, `Connection: close` when the body was left unread). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: OperatorHttpError['status'], body: ErrorBody, headers: Record<string, string> = {}) {
    super(body.error);
    this.name = 'OperatorHttpError';
    this.status = status;
    this.body = body;
    this.headers = headers;
  }
}

/** A request body or query that is not what the endpoint takes. */
export function badRequest(error: string, extra: Omit<ErrorBody, 'error'> = {}): OperatorHttpError {
  return new OperatorHttpError(400, { error, ...extra });
}

/** Keeps only the place and message of diagnostics (the file is the one the caller sent or the live one). */
export function details(diagnostics: ReadonlyArray<{ line: number; column: number; message: string }>): DiagnosticDetail[] {
  return diagnostics.map(({ line, column, message }) => ({ line, column, message }));
}
