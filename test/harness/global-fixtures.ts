import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalServices, type LocalServices } from '../../scripts/services/index.js';
import { contractViolations } from './contract-audit.js';
import { redisMode, setServices } from './services.js';

/**
 * Mocha global fixtures: start MariaDB, Redis, Kafka and the MongoDB-wire server once for the
 * whole run (or use the *_URL variables when given), and stop them at the end, pass or fail.
 * Ctrl-C and SIGTERM are covered by the process hooks in scripts/services/process.ts.
 */
let services: LocalServices | undefined;
let rootDir: string | undefined;

export async function mochaGlobalSetup(): Promise<void> {
  rootDir = mkdtempSync(path.join(tmpdir(), 'emotion-diary-test-'));
  const started = Date.now();
  services = await startLocalServices({ rootDir, redisCluster: redisMode() === 'cluster' });
  setServices(services, rootDir);
  const flavour = services.started.mongo?.flavour ?? 'external';
  const redis = services.urls.REDIS_CLUSTER_NODES ? `; redis: cluster ${services.urls.REDIS_CLUSTER_NODES}` : '';
  console.log(`  services ready in ${Date.now() - started} ms (mongo-wire: ${flavour}${redis}; data and logs in ${rootDir})`);
}

export async function mochaGlobalTeardown(): Promise<void> {
  await services?.stop();
  if (rootDir && !process.env.KEEP_TEST_DATA) rmSync(rootDir, { recursive: true, force: true });
}

/** Fails the run when any response seen during the tests broke its documented OpenAPI contract. */
export const mochaHooks = {
  afterAll(this: Mocha.Context): void {
    if (contractViolations.length > 0) {
      const lines = contractViolations.map((v) => `${v.operationId} ${v.status}: ${v.problem}`);
      throw new Error(`responses that do not match the OpenAPI document:\n  ${[...new Set(lines)].join('\n  ')}`);
    }
  },
};
