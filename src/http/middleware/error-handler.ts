import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import { AppError, RateLimitedError, ValidationError } from '../../../kernel/errors.js';
import { isDependencyUnavailable } from '../../../kernel/dependency-errors.js';
import type { Logger } from '../../../kernel/logger.js';
import { PROBLEM_CONTENT_TYPE, statusTitle, type Problem } from '../problem.js';

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  expose?: boolean;
  type?: string;
  message?: string;
}

/**
 * Turns every thrown error into RFC 9457 problem+json with an error id that also appears in the
 * log line. AppErrors and client errors raised by Koa middleware (body too large, bad JSON) keep
 * their status; anything else is a programmer error: 500, stack logged, no details sent.
 */
export function errorHandler(log: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        writeProblem(ctx, { status: 404, code: 'route_not_found', detail: 'No such route' }, randomUUID());
      } else if (ctx.status === 405 && !ctx.body) {
        writeProblem(ctx, { status: 405, code: 'method_not_allowed', detail: 'Method not allowed on this route' }, randomUUID());
      }
    } catch (err) {
      const errorId = randomUUID();
      const reqLog = (ctx.state.log as Logger | undefined) ?? log;
      if (err instanceof AppError) {
        if (err.status >= 500) reqLog.error({ err, errorId }, 'request failed');
        else reqLog.info({ errorId, errorCode: err.code, status: err.status }, 'request refused');
        if (err instanceof RateLimitedError) ctx.set('Retry-After', String(err.retryAfterSec));
        writeProblem(
          ctx,
          {
            status: err.status,
            code: err.code,
            detail: err.expose ? err.message : undefined,
            errors: err instanceof ValidationError && err.errors.length ? err.errors : undefined,
            retryAfter: err instanceof RateLimitedError ? err.retryAfterSec : undefined,
          },
          errorId,
        );
        return;
      }
      const httpErr = (err ?? {}) as HttpLikeError;
      const status = httpErr.status ?? httpErr.statusCode;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        reqLog.info({ errorId, status, errorType: httpErr.type }, 'request refused');
        writeProblem(ctx, { status, code: clientErrorCode(status, httpErr.type), detail: clientErrorDetail(status, httpErr) }, errorId);
        return;
      }
      if (isDependencyUnavailable(err)) {
        reqLog.warn({ err, errorId }, 'dependency unavailable');
        ctx.set('Retry-After', '5');
        writeProblem(ctx, { status: 503, code: 'dependency_unavailable', detail: 'A backing service is temporarily unavailable; retry shortly', retryAfter: 5 }, errorId);
        return;
      }
      reqLog.error({ err, errorId }, 'unhandled error');
      writeProblem(ctx, { status: 500, code: 'internal_error', detail: 'An unexpected error occurred' }, errorId);
    }
  };
}

function clientErrorCode(status: number, type?: string): string {
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (type === 'entity.parse.failed' || status === 400) return 'malformed_request';
  return 'client_error';
}

function clientErrorDetail(status: number, err: HttpLikeError): string {
  if (status === 413) return 'Request body too large';
  if (err.type === 'entity.parse.failed') return 'Request body is not valid JSON';
  if (err.type === 'encoding.unsupported' || err.type === 'charset.unsupported') return 'Unsupported body encoding';
  return err.expose && err.message ? err.message : statusTitle(status);
}

function writeProblem(ctx: Context, p: Omit<Problem, 'type' | 'title' | 'errorId'>, errorId: string): void {
  const body: Problem = {
    type: `about:blank`,
    title: statusTitle(p.status),
    status: p.status,
    code: p.code,
    errorId,
    instance: ctx.path,
    ...(p.detail ? { detail: p.detail } : {}),
    ...(p.errors ? { errors: p.errors } : {}),
    ...(p.retryAfter ? { retryAfter: p.retryAfter } : {}),
  };
  ctx.status = p.status;
  ctx.body = body;
  ctx.type = PROBLEM_CONTENT_TYPE;
}
