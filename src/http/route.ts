import type { Context } from 'koa';
import type { z } from 'zod';

/** Who may call a route. `user` means any ACTIVE user; `admin` additionally requires role ADMIN. */
export type RouteAccess = 'public' | 'user' | 'admin';

/** The authenticated caller, as established by the access-token middleware. */
export interface Principal {
  userId: string;
  role: 'USER' | 'ADMIN';
  /** id of the access token (jti), used for revocation. */
  tokenId: string;
  /** id of the refresh-token family the access token was issued with. */
  sessionId: string;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  /** Present on every route whose access is not `public`. */
  principal: Principal | undefined;
  /** Request metadata a service may need (rate limiting, audit), never the Koa context itself. */
  meta: { ip: string; requestId: string; userAgent: string };
  /**
   * The Koa context, for the few routes that must touch it (OAuth redirects through passport,
   * the docs page). Domain services never receive it.
   */
  ctx: Context;
}

type AnySchema = z.ZodType;

/**
 * One REST endpoint: its contract (the zod schemas that validate requests and document
 * responses) and its handler. The same object drives routing, validation and OpenAPI.
 */
export interface RouteSpec<P extends AnySchema = AnySchema, Q extends AnySchema = AnySchema, B extends AnySchema = AnySchema> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** Koa-router style path below /api/v1, e.g. `/diaries/:id` (or from the root when `root` is set). */
  path: string;
  /** Mounted at the server root instead of below /api/v1 (health, metrics). */
  root?: boolean;
  operationId: string;
  summary: string;
  tags: string[];
  access: RouteAccess;
  params?: P;
  query?: Q;
  body?: B;
  /** Success responses by status; `null` means no body. Error statuses are added as problem+json. */
  responses: Record<number, AnySchema | null>;
  /** Error statuses this route can answer, beyond the ones every route can (400, 401, 403, 413, 429, 500). */
  errors?: number[];
  /** Content type of success bodies when not JSON (e.g. text/html). */
  produces?: string;
  handler(input: RouteInput<z.output<P>, z.output<Q>, z.output<B>>): Promise<RouteResult>;
}

/** Identity helper that keeps the schema types flowing into the handler's input. */
export function defineRoute<P extends AnySchema, Q extends AnySchema, B extends AnySchema>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec as unknown as RouteSpec;
}
