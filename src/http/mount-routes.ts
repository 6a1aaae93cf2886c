import type Router from '@koa/router';
import type { Context } from 'koa';
import type { z } from 'zod';
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

export function mountRoutes(router: Router, routes: RouteSpec[], options: { authenticate: Authenticate; audit?: ResponseAudit }): void {
  for (const route of routes) {
    router[route.method](route.operationId, route.path, async (ctx: Context) => {
      let principal: Principal | undefined;
      if (route.access !== 'public') {
        principal = await options.authenticate(ctx);
        if (route.access === 'admin' && principal.role !== 'ADMIN') throw new ForbiddenError('Administrator role required');
      }

      const problems: FieldProblem[] = [];
      const params = parsePart(route.params, ctx.params, 'params', problems);
      const query = parsePart(route.query, plainQuery(ctx), 'query', problems);
      const rawBody = (ctx.request as { body?: unknown }).body;
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
    });
  }
}

function auditResponse(route: RouteSpec, status: number, body: unknown, audit: ResponseAudit): void {
  if (!(status in route.responses)) {
    audit({ operationId: route.operationId, status, problem: `undocumented status ${status}` });
    return;
  }
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

