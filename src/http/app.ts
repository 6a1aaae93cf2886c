import { METHODS } from 'node:http';
import { bodyParser } from '@koa/bodyparser';
import cors from '@koa/cors';
import Router from '@koa/router';
import Koa from 'koa';
import type { AppConfig } from '../../config/index.js';
import type { Logger } from '../../kernel/logger.js';
import type { Metrics } from '../../kernel/metrics.js';
import { errorHandler } from './middleware/error-handler.js';
import { requestContext } from './middleware/request-context.js';
import { securityHeaders } from './middleware/security-headers.js';
import { mountRoutes, type Authenticate, type ResponseAudit } from './mount-routes.js';
import { API_PREFIX } from './openapi.js';
import type { RouteSpec } from './route.js';

export interface HttpAppOptions {
  config: AppConfig;
  log: Logger;
  metrics: Metrics;
  routes: RouteSpec[];
  authenticate: Authenticate;
  /** Extra Koa middleware run before routing (passport initialisation). */
  middleware?: Koa.Middleware[];
  audit?: ResponseAudit;
}

export interface HttpApp {
  koa: Koa;
  /** Every method + path the routers actually answer (to check the OpenAPI document is complete). */
  mountedRoutes(): Array<{ method: string; path: string }>;
}

/** The Koa application: request context, errors, security headers, CORS, JSON bodies, routes. */
export function createHttpApp(options: HttpAppOptions): HttpApp {
  const { config, log, metrics } = options;
  const app = new Koa({ proxy: config.http.trustProxy });
  // Errors are logged by errorHandler with their error id; Koa's default printer would duplicate them.
  app.silent = true;

  app.use(requestContext(log, metrics));
  app.use(errorHandler(log));
  app.use(
    securityHeaders({
      // The docs page loads its own bundled assets; everything else is JSON.
      contentSecurityPolicy: { directives: { 'script-src': ["'self'"], 'style-src': ["'self'", "'unsafe-inline'"], 'img-src': ["'self'", 'data:'] } },
    }),
  );
  if (config.http.corsOrigins.length > 0) {
    const allowed = new Set(config.http.corsOrigins);
    app.use(cors({ origin: (ctx) => (allowed.has(ctx.get('origin')) ? ctx.get('origin') : ''), credentials: true, exposeHeaders: ['X-Request-Id', 'Retry-After'] }));
  }
  app.use(
    bodyParser({
      enableTypes: ['json'],
      jsonLimit: `${config.http.bodyLimitKb}kb`,
      jsonStrict: true,
      encoding: 'utf-8',
      // Malformed bodies become a clean 400/413/415 problem, never a 500.
      onError: (err: Error & { status?: number }) => {
        throw Object.assign(err, { status: err.status && err.status < 500 ? err.status : 400, expose: true });
      },
    }),
  );
  app.use(requireJsonBody);
  for (const mw of options.middleware ?? []) app.use(mw);

  // Every method Node parses is "implemented" for the routers' method check, so one no route has
  // (TRACE, QUERY, ...) on an existing path is a 405 with `Allow`, not a 501.
  const methods = [...METHODS];
  const apiRouter = new Router({ prefix: API_PREFIX, methods });
  // Operations paths match exactly: a case- or slash-variant (`/METRICS`, `/metrics/`) must not
  // slip past an edge that hides `/metrics`.
  const rootRouter = new Router({ strict: true, sensitive: true, methods });
  mountRoutes(apiRouter, options.routes.filter((r) => !r.root), { authenticate: options.authenticate, audit: options.audit });
  mountRoutes(rootRouter, options.routes.filter((r) => r.root), { authenticate: options.authenticate, audit: options.audit });
  app.use(rootRouter.routes()).use(rootRouter.allowedMethods());
  app.use(apiRouter.routes()).use(apiRouter.allowedMethods());
  // A route whose path parameter is an enum is mounted once per value (mount-routes.ts), each layer
  // named by its operationId: such a layer answers for the route's documented template.
  const templates = new Map(options.routes.map((r) => [r.operationId, r.root ? r.path : `${API_PREFIX}${r.path}`]));
  const mountedRoutes = () =>
    [rootRouter, apiRouter].flatMap((router) =>
      router.stack.flatMap((layer) =>
        layer.methods.filter((m) => m !== 'HEAD').map((method) => ({ method: method.toLowerCase(), path: (layer.name && templates.get(layer.name)) || String(layer.path) })),
      ),
    );
  return { koa: app, mountedRoutes };
}

/** A body the API cannot read must be refused, not silently treated as empty. */
async function requireJsonBody(ctx: Koa.Context, next: Koa.Next): Promise<void> {
  const hasBody = Number(ctx.get('content-length') || 0) > 0 || ctx.get('transfer-encoding') !== '';
  if (hasBody && ['POST', 'PUT', 'PATCH'].includes(ctx.method) && !ctx.is('application/json')) {
    ctx.throw(415, 'Content-Type must be application/json');
  }
  await next();
}
