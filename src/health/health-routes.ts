import type { Registry } from 'prom-client';
import { z } from 'zod';
import { checkReadiness, type HealthCheck } from '../../kernel/health.js';
import { defineRoute, type RouteSpec } from '../http/route.js';

const checkResult = z.object({ status: z.enum(['ok', 'fail']), latencyMs: z.number(), error: z.string().optional() });
const readinessSchema = z.object({ status: z.enum(['ok', 'fail']), checks: z.record(z.string(), checkResult) });

/** Liveness, readiness (each dependency, time-bounded) and Prometheus metrics, at the server root. */
export function healthRoutes(deps: {
  checks: HealthCheck[];
  readinessTimeoutMs: number;
  registry: Registry;
  isShuttingDown: () => boolean;
  onCheckFailed?: (name: string, err: unknown) => void;
  /** `metrics.enabled`: false leaves `/metrics` unmounted. */
  exposeMetrics?: boolean;
}): RouteSpec[] {
  const routes: RouteSpec[] = [
    defineRoute({
      method: 'get',
      path: '/healthz',
      root: true,
      operationId: 'healthz',
      summary: 'Liveness: the process is up and its event loop turns',
      tags: ['operations'],
      access: 'public',
      responses: { 200: z.object({ status: z.literal('ok') }) },
      handler: async () => ({ status: 200, body: { status: 'ok' } }),
    }),
    defineRoute({
      method: 'get',
      path: '/readyz',
      root: true,
      operationId: 'readyz',
      summary: 'Readiness: every dependency answers within the time bound; 503 names the failing ones',
      tags: ['operations'],
      access: 'public',
      responses: { 200: readinessSchema, 503: readinessSchema },
      handler: async () => {
        const report = await checkReadiness(deps.checks, deps.readinessTimeoutMs, deps.onCheckFailed);
        if (deps.isShuttingDown()) {
          report.status = 'fail';
          report.checks.shutdown = { status: 'fail', latencyMs: 0, error: 'instance is shutting down' };
        }
        return { status: report.status === 'ok' ? 200 : 503, body: report, headers: { 'Cache-Control': 'no-store' } };
      },
    }),
  ];
  if (deps.exposeMetrics === false) return routes;
  return [
    ...routes,
    defineRoute({
      method: 'get',
      path: '/metrics',
      root: true,
      operationId: 'metrics',
      summary: 'Prometheus metrics in the text exposition format',
      tags: ['operations'],
      access: 'public',
      produces: 'text/plain',
      responses: { 200: z.string() },
      handler: async () => ({
        status: 200,
        body: await deps.registry.metrics(),
        headers: { 'Content-Type': deps.registry.contentType },
      }),
    }),
  ];
}
