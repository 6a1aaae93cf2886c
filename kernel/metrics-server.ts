import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { checkReadiness, type HealthCheck } from './health.js';

/**
 * A minimal HTTP server for processes without the API's Koa app (the worker): /metrics for
 * Prometheus, /healthz for liveness and /readyz for its dependencies.
 */
export function createMetricsServer(deps: {
  registry: Registry;
  checks: HealthCheck[];
  readinessTimeoutMs: number;
  exposeMetrics?: boolean;
  /** Told why a dependency failed its check (the report itself never carries driver messages). */
  onCheckFailed?: (name: string, err: unknown) => void;
}) {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n');
    if (path === '/healthz') return send(200, 'application/json', '{"status":"ok"}');
    if (path === '/metrics' && deps.exposeMetrics !== false) {
      deps.registry.metrics().then(
        (text) => send(200, deps.registry.contentType, text),
        () => send(500, 'text/plain', 'metrics unavailable\n'),
      );
      return;
    }
    if (path === '/readyz') {
      void checkReadiness(deps.checks, deps.readinessTimeoutMs, deps.onCheckFailed).then((report) =>
        send(report.status === 'ok' ? 200 : 503, 'application/json', JSON.stringify(report)),
      );
      return;
    }
    send(404, 'text/plain', 'not found\n');
  });
  return {
    server,
    listen: (port: number, host: string) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      }),
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
