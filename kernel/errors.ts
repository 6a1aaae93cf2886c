/**
 * The application's error taxonomy. Services throw these; the HTTP error middleware turns them
 * into RFC 9457 problem+json and socket handlers into `{ error: { code, message } }` acks.
 * Anything that is not an AppError is a programmer error: 500, logged with its stack.
 */
export interface FieldProblem {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  /** Whether `message` may be shown to the client. */
  readonly expose: boolean;
  readonly details?: Record<string, unknown>;

  constructor(
    status: number,
    code: string,
    message: string,
    options: { cause?: unknown; expose?: boolean; details?: Record<string, unknown> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.expose = options.expose ?? status < 500;
    this.details = options.details;
  }
}

export class ValidationError extends AppError {
  readonly errors: FieldProblem[];
  constructor(message: string, errors: FieldProblem[] = []) {
    super(400, 'validation_failed', message);
    this.errors = errors;
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'Authentication required', code = 'unauthorized') {
    super(401, code, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'Not allowed', code = 'forbidden') {
    super(403, code, message);
  }
}

export class NotFoundError extends AppError {
  constructor(what = 'Resource') {
    super(404, 'not_found', `${what} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = 'conflict') {
    super(409, code, message);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message = 'Request body too large') {
    super(413, 'payload_too_large', message);
  }
}

export class RateLimitedError extends AppError {
  readonly retryAfterSec: number;
  constructor(retryAfterSec: number, message = 'Too many requests') {
    super(429, 'rate_limited', message);
    this.retryAfterSec = Math.max(1, Math.ceil(retryAfterSec));
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = 'Service temporarily unavailable', code = 'unavailable') {
    super(503, code, message);
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
