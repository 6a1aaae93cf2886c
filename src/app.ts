import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Connection } from 'mongoose';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Sequelize } from 'sequelize';
import type { AppConfig } from '../config/index.js';
import { defineMongoModels, syncMongoIndexes, type MongoModels } from '../models/mongo/index.js';
import { defineSqlModels, type SqlModels } from '../models/sql/index.js';
import { createHttpApp } from './http/app.js';
import type { ResponseAudit } from './http/mount-routes.js';
import { openApiRoutes } from './http/openapi-routes.js';
import { createAnalysisRepository } from './analysis/analysis-repository.js';
import { createEmotionStats } from './analysis/emotion-stats.js';
import { statsRoutes } from './analysis/stats-routes.js';
import { noDiaryEvents } from './diaries/diary-events.js';
import { createDiaryRepository } from './diaries/diary-repository.js';
import { diaryRoutes } from './diaries/diary-routes.js';
import { createDiaryService } from './diaries/diary-service.js';
import { opsRoutes } from './ops/ops-routes.js';
import { createOutboxRelay } from './outbox/outbox-relay.js';
import { createOutboxRepository } from './outbox/outbox-repository.js';
import { createReportRepository } from './reports/report-repository.js';
import { reportRoutes } from './reports/report-routes.js';
import { createReportService } from './reports/report-service.js';
import { createSettingsRepository } from './settings/settings-repository.js';
import { settingsRoutes } from './settings/settings-routes.js';
import { createSettingsService } from './settings/settings-service.js';
import { createAccessTokens, type AccessTokens } from './auth/access-tokens.js';
import { createAuthenticate } from './auth/authenticate.js';
import { createTokenRevocation, type TokenRevocation } from './auth/token-revocation.js';
import { noopAuthEvents } from './auth/auth-events.js';
import { createIdentityModule } from './auth/identity-module.js';
import type { AccountDeletionHook } from './users/user-service.js';
import type { RouteSpec } from './http/route.js';
import type { HealthCheck } from './platform/health.js';
import { createKafka, ensureTopics, topicNames, type TopicNames } from './platform/kafka.js';
import { createLogger, type Logger } from './platform/logger.js';
import { createSequelize } from './platform/mariadb.js';
import { createMetrics, type Metrics } from './platform/metrics.js';
import { connectMongo, pingMongo } from './platform/mongo.js';
import { createRedis } from './platform/redis.js';

export interface ApiAppOptions {
  /** Called for every response that breaks its documented contract (tests collect these). */
  responseAudit?: ResponseAudit;
  log?: Logger;
}

/** Handles the composition root exposes for operations and tests; routes never see these. */
export interface ApiApp {
  config: AppConfig;
  log: Logger;
  metrics: Metrics;
  server: Server;
  sequelize: Sequelize;
  sql: SqlModels;
  mongo: Connection;
  mongoModels: MongoModels;
  redis: Redis;
  kafka: Kafka;
  topics: TopicNames;
  accessTokens: AccessTokens;
  tokenRevocation: TokenRevocation;
  /** Method + path of every route the HTTP server answers. */
  mountedRoutes(): Array<{ method: string; path: string }>;
  /** Base URL the HTTP server listens on, once started. */
  url(): string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The API process's composition root: builds every client, repository, service, route, socket
 * handler and consumer with plain factories, and owns their start and stop order.
 */
export async function createApiApp(config: AppConfig, options: ApiAppOptions = {}): Promise<ApiApp> {
  const log = options.log ?? createLogger(config, 'api');
  const metrics = createMetrics(undefined, { instance: config.app.instanceId, process: 'api' });
  const topics = topicNames(config.kafka.topicPrefix);

  const sequelize = createSequelize(config, log);
  const sql = defineSqlModels(sequelize);
  const mongo = await connectMongo(config);
  const mongoModels = defineMongoModels(mongo);
  const redis = createRedis(config, log, 'api');
  const kafka = createKafka(config, log);
  const healthAdmin = kafka.admin({ retry: { retries: 0 } });

  let shuttingDown = false;
  const checks: HealthCheck[] = [
    { name: 'mariadb', check: async () => void (await sequelize.query('SELECT 1')) },
    {
      name: 'redis',
      check: async () => {
        if (redis.status !== 'ready') throw new Error(`redis ${redis.status}`);
        await redis.ping();
      },
    },
    { name: 'mongo', check: () => pingMongo(mongo) },
    {
      name: 'kafka',
      check: async () => {
        await healthAdmin.connect();
        await healthAdmin.describeCluster();
      },
    },
  ];

  const tokenRevocation = createTokenRevocation(redis, {
    accessTtlSec: config.auth.jwt.accessTtlSec,
    refreshAbsoluteTtlSec: config.auth.refresh.absoluteTtlSec,
  });
  const accessTokens = createAccessTokens(config.auth.jwt, tokenRevocation);

  // Pipeline: transactional outbox and its relay to Kafka.
  const outbox = createOutboxRepository(sequelize, sql);
  const relay = createOutboxRelay({ sequelize, outbox, kafka: createKafka(config, log, { retries: 2 }), topics, metrics, log, options: { ...config.outbox, partitions: config.kafka.partitions } });

  // Domains.
  const settings = createSettingsService({ repo: createSettingsRepository(sql), redis });
  const analyses = createAnalysisRepository(mongoModels);
  const diaries = createDiaryService({
    sequelize,
    diaries: createDiaryRepository(sequelize, sql),
    analyses,
    outbox,
    settings,
    topics,
    events: noDiaryEvents,
    onDeleted: [(userId, diaryId) => analyses.deleteForDiary(userId, diaryId)],
    onOutboxWritten: () => relay.wake(),
    log,
  });

  // Accounts and authentication. Deletion hooks remove what a user owns outside MariaDB.
  const accountDeletionHooks: AccountDeletionHook[] = [];
  const identity = createIdentityModule({
    config,
    sequelize,
    sql,
    redis,
    log,
    accessTokens,
    tokenRevocation,
    events: noopAuthEvents,
    deletionHooks: accountDeletionHooks,
  });

  const routes: RouteSpec[] = [
    ...identity.routes,
    ...diaryRoutes(diaries, { contentMaxChars: config.diaries.contentMaxChars }),
    ...settingsRoutes(settings),
    ...reportRoutes(createReportService({ reports: createReportRepository(sequelize, sql), analyses, settings })),
    ...statsRoutes(createEmotionStats({ sequelize, settings })),
    ...opsRoutes({ checks, readinessTimeoutMs: config.http.readinessTimeoutMs, registry: metrics.registry, isShuttingDown: () => shuttingDown }),
  ];
  routes.push(...openApiRoutes(() => routes, { title: 'Emotion Diary API', version: '1.0.0', serverUrl: config.app.publicUrl }));

  const http = createHttpApp({
    config,
    log,
    metrics,
    routes,
    authenticate: createAuthenticate(accessTokens),
    audit: options.responseAudit,
  });
  /** Kafka being down must not keep the API from serving: the relay creates the topics later. */
  async function ensureTopicsIfReachable(): Promise<void> {
    const admin = kafka.admin({ retry: { retries: 1 } });
    try {
      await admin.connect();
      await ensureTopics(admin, topics, config.kafka.partitions);
    } catch (err) {
      log.warn({ err }, 'kafka not reachable at start; the outbox keeps analysis requests until it is');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  const server = createServer(http.koa.callback());
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 65_000;

  const app: ApiApp = {
    config,
    log,
    metrics,
    server,
    sequelize,
    sql,
    mongo,
    mongoModels,
    redis,
    kafka,
    topics,
    accessTokens,
    tokenRevocation,
    mountedRoutes: http.mountedRoutes,
    url() {
      const address = server.address() as AddressInfo | null;
      if (!address) throw new Error('server not listening');
      return `http://127.0.0.1:${address.port}`;
    },
    async start() {
      await redis.connect();
      await sequelize.authenticate();
      await syncMongoIndexes(mongoModels);
      await ensureTopicsIfReachable();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      if (config.outbox.enabled) relay.start();
      log.info({ url: app.url(), instance: config.app.instanceId, profile: config.profile }, 'api started');
    },
    async stop() {
      shuttingDown = true;
      // Stop accepting, let in-flight requests finish within the grace period, then cut the rest.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), config.http.shutdownGraceMs);
      await closed;
      clearTimeout(grace);
      await relay.stop();
      identity.close();
      await healthAdmin.disconnect().catch(() => undefined);
      redis.disconnect();
      await mongo.close().catch(() => undefined);
      await sequelize.close().catch(() => undefined);
      log.info('api stopped');
    },
  };
  return app;
}
