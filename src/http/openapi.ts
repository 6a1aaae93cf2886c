import { z } from 'zod';
import { problemSchema } from './problem.js';
import type { RouteSpec } from './route.js';

/** Statuses any route can answer (validation, auth, size, rate limit, crash). */
const COMMON_ERRORS = [400, 413, 429, 500, 503];
const AUTH_ERRORS = [401, 403];

export const API_PREFIX = '/api/v1';

/** Named schemas (zod `.meta({ id })`) collected while converting, published under components.schemas. */
type Components = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output', components: Components, options: { body?: boolean } = {}): Record<string, unknown> {
  const converted = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
    reused: 'inline',
    override: (ctx) => {
      // Integers keep zod's safe-integer bounds: the validators refuse what is beyond them.
      // No string in a request body may hold U+0000 (see mount-routes.ts).
      if (options.body && ctx.jsonSchema.type === 'string' && !ctx.jsonSchema.enum) ctx.jsonSchema.not = { pattern: '\\u0000' };
    },
  });
  // Single-schema conversion refers to named schemas as #/$defs/<id>; in the document they live
  // under components.schemas.
  const relinked = JSON.parse(JSON.stringify(converted).replaceAll('"#/$defs/', '"#/components/schemas/')) as Record<string, unknown> & {
    $defs?: Record<string, unknown>;
  };
  const { $schema: _ignored, $defs, ...rest } = relinked;
  // A named schema converted for input and for output can differ (defaults, transforms); the
  // output form is the one documented under its name, inputs are inlined.
  for (const [id, def] of Object.entries($defs ?? {})) {
    if (io === 'output' || !(id in components)) components[id] = def;
  }
  return rest;
}

function parameters(schema: z.ZodType | undefined, location: 'path' | 'query', components: Components): Array<Record<string, unknown>> {
  if (!schema) return [];
  const js = jsonSchema(schema, 'input', components) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => {
    const { description, ...rest } = s;
    return {
      name,
      in: location,
      required: location === 'path' || (js.required ?? []).includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** `/diaries/:id` → `/diaries/{id}` */
export function openApiPath(koaPath: string): string {
  return koaPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * Builds the OpenAPI 3.1 document from the same route specs (and so the same zod schemas) that
 * validate requests. Nothing is written by hand, so the document cannot drift from the code.
 */
export function buildOpenApiDocument(routes: RouteSpec[], info: { title: string; version: string; serverUrl: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Components = { Problem: jsonSchema(problemSchema, 'output', {}) };
  for (const route of routes) {
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(route.responses)) {
      responses[status] =
        schema === null
          ? { description: `${status}` }
          : {
              description: `${status}`,
              content: { [route.produces ?? 'application/json']: { schema: jsonSchema(schema, 'output', components) } },
            };
    }
    const errorStatuses = new Set([...COMMON_ERRORS, ...(route.access === 'public' ? [] : AUTH_ERRORS), ...(route.errors ?? [])]);
    for (const status of [...errorStatuses].sort()) {
      responses[String(status)] ??= { $ref: '#/components/responses/Problem' };
    }
    // Node's HTTP parser answers a request line plus headers over its limit (16 KiB) before any route
    // runs, with no body.
    responses['431'] = { description: 'Request header fields (or the URL) too large' };
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      tags: route.tags,
      parameters: [...parameters(route.params, 'path', components), ...parameters(route.query, 'query', components)],
      responses,
      ...(route.access === 'public' ? { security: [] } : {}),
      ...(route.access === 'admin' ? { 'x-required-role': 'ADMIN' } : {}),
    };
    if (route.body) {
      // A body whose every field is optional may be left out: the API reads a missing body as {}.
      const required = !route.body.safeParse({}).success;
      operation.requestBody = { required, content: { 'application/json': { schema: jsonSchema(route.body, 'input', components, { body: true }) } } };
    }
    const path = openApiPath(route.root ? route.path : `${API_PREFIX}${route.path}`);
    paths[path] = { ...paths[path], [route.method]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version },
    servers: [{ url: info.serverUrl }],
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: components,
      responses: {
        Problem: { description: 'RFC 9457 problem details', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    },
  };
}
