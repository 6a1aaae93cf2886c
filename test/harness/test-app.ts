import { randomBytes } from 'node:crypto';
import * as mariadb from 'mariadb';
import mongoose from 'mongoose';
import { loadConfig, type AppConfig } from '../../config/index.js';
import { createApiApp, type ApiApp, type ApiAppOptions } from '../../src/app.js';
import { runMigrate } from '../../src/cli/migrate-command.js';
import { createLogger, type Logger } from '../../kernel/logger.js';
import { recordViolation } from './contract-audit.js';
import type { ServiceUrls } from '../../scripts/services/index.js';
import { serviceUrls } from './services.js';

/** A short unique name for a test's own database, topic prefix and Redis key prefix. */
export function uniqueNamespace(label: string): string {
  return `t_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${randomBytes(4).toString('hex')}`;
}

function withPath(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The run's Redis: on a Redis Cluster the adapter uses sharded pub/sub, as production on a cluster should. */
function runRedis(urls: ServiceUrls): Record<string, string> {
  return urls.REDIS_CLUSTER_NODES ? { REDIS_CLUSTER_NODES: urls.REDIS_CLUSTER_NODES, APP__REALTIME__SHARDED_PUB_SUB: 'true' } : { REDIS_URL: urls.REDIS_URL };
}

/**
 * Configuration for one test namespace: its own MariaDB database and MongoDB database, its own
 * Kafka topic prefix and Redis key prefix, so tests never see each other's data.
 */
export function testConfig(namespace: string, overrides: Record<string, unknown> = {}, env: Record<string, string> = {}): AppConfig {
  const urls = serviceUrls();
  return loadConfig(
    {
      APP_PROFILE: 'test',
      MARIADB_URL: withPath(urls.MARIADB_URL, namespace),
      MONGO_URL: withPath(urls.MONGO_URL, namespace),
      ...(env.REDIS_URL || env.REDIS_CLUSTER_NODES ? {} : runRedis(urls)),
      REDIS_KEY_PREFIX: `${namespace}:`,
      KAFKA_BROKERS: urls.KAFKA_BROKERS,
      KAFKA_TOPIC_PREFIX: `${namespace}.`,
      INSTANCE_ID: `${namespace}-${randomBytes(2).toString('hex')}`,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'fatal',
      ...env,
    },
    overrides,
  );
}

export function testLogger(config: AppConfig, component = 'test'): Logger {
  return createLogger(config, component);
}

/** Drops the namespace's MariaDB and MongoDB databases. */
export async function dropNamespace(config: AppConfig): Promise<void> {
  const u = new URL(config.mariadb.url);
  const db = u.pathname.slice(1);
  const conn = await mariadb.createConnection({ host: u.hostname, port: Number(u.port), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${db}\``);
  } finally {
    await conn.end();
  }
  const mongo = await mongoose.createConnection(config.mongo.url, { serverSelectionTimeoutMS: 2_000 }).asPromise();
  try {
    await mongo.dropDatabase();
  } finally {
    await mongo.close();
  }
}

export interface TestApp extends ApiApp {
  /** Stops the app and drops its databases. */
  destroy(): Promise<void>;
}

/** Migrates a fresh namespace and starts an API app on a free port. */
export async function startTestApp(label: string, overrides: Record<string, unknown> = {}, options: Pick<ApiAppOptions, 'onFatal'> = {}): Promise<TestApp> {
  const config = testConfig(uniqueNamespace(label), overrides);
  const log = testLogger(config);
  await runMigrate(config, log, 'up');
  const app = await createApiApp(config, { ...options, log, responseAudit: recordViolation });
  await app.start();
  return Object.assign(app, {
    async destroy() {
      await app.stop();
      await dropNamespace(config);
    },
  });
}
