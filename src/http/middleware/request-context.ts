import { randomUUID } from 'node:crypto';
import type { Context, Next } from 'koa';
import type { Logger } from '../../../kernel/logger.js';
import type { Metrics } from '../../../kernel/metrics.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives each request an id (the caller's X-Request-Id when it is sane, else a new UUID), echoes
 * it back, binds a child logger to it, logs one line per request and records its duration under
 * the route template (never the raw path, which would explode label cardinality).
 */
export function requestContext(log: Logger, metrics: Metrics) {
  return async function withRequestContext(ctx: Context, next: Next): Promise<void> {
    const incoming = ctx.get('x-request-id');
    const requestId = REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    // `simple`: bunyan's fast path for a child that only adds fields (no copy of streams and serializers).
    const reqLog = log.child({ requestId }, true);
    ctx.state.log = reqLog;
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (ctx as Context & { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      metrics.httpRequestDuration.observe({ method: ctx.method, route: String(route), status_code: String(ctx.status) }, seconds);
      reqLog.info(
        { req: ctx.req, res: { statusCode: ctx.status }, route, durationMs: Math.round(seconds * 1000), userId: ctx.state.principal?.userId },
        'request',
      );
    }
  };
}
