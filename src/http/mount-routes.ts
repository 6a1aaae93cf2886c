import type Router from '@koa/router';
import type { Context } from 'koa';
import { ZodEnum, type z } from 'zod';
import { ForbiddenError, ValidationError, type FieldProblem } from '../../kernel/errors.js';
import type { Principal, RouteSpec } from './route.js';

/** Resolves the caller from the request (Authorization header); throws UnauthorizedError when it cannot. */
export type Authenticate = (ctx: Context) => Promise<Principal>;

/** Receives every response that does not match its route's documented contract (used by tests). */
export type ResponseAudit = (violation: { operationId: string; status: number; problem: string }) => void;

export function toFieldProblems(error: z.ZodError, prefix: string): FieldProblem[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    if (issue.code === 'unrecognized_keys') return { path, message: `unknown field(s): ${issue.keys.join(', ')}` };
    return { path, message: issue.message };
  });
}

function parsePart(schema: z.ZodType | undefined, value: unknown, part: string, problems: FieldProblem[]): unknown {
  if (!schema) return value;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  problems.push(...toFieldProblems(result.error, part));
  return undefined;
}

/** Query strings give strings or string arrays; a single repeated key is the caller's mistake, not ours. */
function plainQuery(ctx: Context): Record<string, unknown> {
  return { ...ctx.query };
}

/**
 * The Koa paths a route is mounted on. A path parameter its schema limits to a few values (an
 * enum) is spelled out into one literal path per value, so a sibling literal path is never taken
 * for a value: `GET /auth/oauth/exchange` is not the login route for a provider named "exchange"
 * (it answers 405 with `Allow: POST`, as for any method no route has), and an unknown value is a 404.
 */
function mountedPaths(route: RouteSpec): Array<{ path: string; fixed: Record<string, string> }> {
  let paths = [{ path: route.path, fixed: {} as Record<string, string> }];
  const shape = (route.params as { shape?: Record<string, unknown> } | undefined)?.shape ?? {};
  for (const [name, schema] of Object.entries(shape)) {
    const values = schema instanceof ZodEnum ? (schema.options as unknown[]).map(String) : undefined;
    if (!values) continue;
    const segment = new RegExp(`:${name}(?=/|$)`);
    paths = paths.flatMap(({ path, fixed }) => values.map((value) => ({ path: path.replace(segment, value), fixed: { ...fixed, [name]: value } })));
  }
  return paths;
}

export function mountRoutes(router: Router, routes: RouteSpec[], options: { authenticate: Authenticate; audit?: ResponseAudit }): void {
  for (const route of routes) {
    for (const { path, fixed } of mountedPaths(route)) {
      router[route.method](route.operationId, path, (ctx: Context) => {
        if (Object.keys(fixed).length > 0) ctx.params = { ...ctx.params, ...fixed };
        return handle(route, ctx, options);
      });
    }
  }
}

async function handle(route: RouteSpec, ctx: Context, options: { authenticate: Authenticate; audit?: ResponseAudit }): Promise<void> {
  let principal: Principal | undefined;
  if (route.access !== 'public') {
    principal = await options.authenticate(ctx);
    if (route.access === 'admin' && principal.role !== 'ADMIN') throw new ForbiddenError('Administrator role required');
  }

  const problems: FieldProblem[] = [];
  const rawBody = (ctx.request as { body?: unknown }).body;
  // U+0000 means nothing in any text here and PostgreSQL (under the MongoDB-wire store) cannot
  // store it in JSON: a body holding it is refused at the edge, named, before it reaches a store.
  const nulAt = nulPath(rawBody, 'body');
  if (nulAt) throw new ValidationError('Request validation failed', [{ path: nulAt, message: 'must not contain U+0000 (NUL)' }]);
  const params = parsePart(route.params, ctx.params, 'params', problems);
  const query = parsePart(route.query, plainQuery(ctx), 'query', problems);
  const body = route.body ? parsePart(route.body, rawBody, 'body', problems) : undefined;
  if (problems.length > 0) throw new ValidationError('Request validation failed', problems);

  const result = await route.handler({
    params,
    query,
    body,
    principal,
    meta: { ip: ctx.ip, requestId: String(ctx.state.requestId ?? ''), userAgent: ctx.get('user-agent') },
    ctx,
  });
  for (const [name, value] of Object.entries(result.headers ?? {})) ctx.set(name, value);
  ctx.status = result.status;
  if (result.body !== undefined) ctx.body = result.body;
  else if (result.status === 204) ctx.body = null;

  if (options.audit) auditResponse(route, result.status, result.body, options.audit);
}

/** Where in a request part the first string holding U+0000 is (a key or a value), if any. */
function nulPath(value: unknown, at: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? at : undefined;
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return at;
    const found = nulPath(item, `${at}.${key}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

function auditResponse(route: RouteSpec, status: number, body: unknown, audit: ResponseAudit): void {
  if (!(status in route.responses)) {
    audit({ operationId: route.operationId, status, problem: `undocumented status ${status}` });
    return;
  }
  // A stream is written after the handler returns: there is no body to compare.
  if (route.produces === 'text/event-stream') return;
  const schema = route.responses[status];
  if (schema === null || schema === undefined) {
    if (body !== undefined && status !== 302) audit({ operationId: route.operationId, status, problem: 'documented without a body but has one' });
    return;
  }
  // Compare the JSON the client sees, not the in-memory objects (Dates become strings).
  const wire = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
  const result = schema.safeParse(wire);
  if (!result.success) {
    audit({ operationId: route.operationId, status, problem: toFieldProblems(result.error, 'body').map((p) => `${p.path}: ${p.message}`).join('; ') });
    return;
  }
  // Parsing strips fields the schema does not name; the document forbids them, so a response
  // carrying one breaks the contract too.
  const extra = undocumentedFields(wire, result.data, 'body');
  if (extra.length > 0) audit({ operationId: route.operationId, status, problem: `undocumented fields: ${extra.join(', ')}` });
}

/** Paths of object keys in `wire` that parsing dropped (present in the response, absent from the parsed value). */
function undocumentedFields(wire: unknown, parsed: unknown, at: string): string[] {
  if (Array.isArray(wire) && Array.isArray(parsed)) return wire.flatMap((item, i) => undocumentedFields(item, parsed[i], `${at}[${i}]`));
  if (wire === null || parsed === null || typeof wire !== 'object' || typeof parsed !== 'object' || Array.isArray(parsed)) return [];
  const kept = parsed as Record<string, unknown>;
  return Object.entries(wire as Record<string, unknown>).flatMap(([key, value]) =>
    key in kept ? undocumentedFields(value, kept[key], `${at}.${key}`) : [`${at}.${key}`],
  );
}

