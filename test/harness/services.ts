import type { LocalServices, ServiceUrls } from '../../scripts/services/index.js';

let current: LocalServices | undefined;
let currentRoot: string | undefined;

export function setServices(services: LocalServices, rootDir: string): void {
  current = services;
  currentRoot = rootDir;
}

/** The running services; only valid inside tests (after the global setup). */
export function services(): LocalServices {
  if (!current) throw new Error('test services are not started (run through mocha with test/harness/global-fixtures.ts)');
  return current;
}

export function serviceUrls(): ServiceUrls {
  return services().urls;
}

export function testRootDir(): string {
  if (!currentRoot) throw new Error('test services are not started');
  return currentRoot;
}

/**
 * Which Redis the run's apps use: `cluster` when TEST_REDIS=cluster (the second pass of `npm test`
 * runs the realtime and cluster suites on a Redis Cluster), else one server.
 */
export function redisMode(): 'single' | 'cluster' {
  return process.env.TEST_REDIS === 'cluster' ? 'cluster' : 'single';
}
