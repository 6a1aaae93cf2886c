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
import { createDiaryRepository } from './diaries/diary-repository.js';
import { diaryRoutes } from './diaries/diary-routes.js';
import { createDiaryService } from './diaries/diary-service.js';
import { healthRoutes } from './health/health-routes.js';
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
import type { AuthEvents } from './auth/auth-events.js';
import { createAnnouncementRepository } from './announcements/announcement-repository.js';
import { announcementRoutes } from './announcements/announcement-routes.js';
import { activityRoutes } from './admin/activity-routes.js';
import { createAnnouncementService } from './announcements/announcement-service.js';
import type { DiaryEvents } from './diaries/diary-events.js';
import { createAnalysisStatusConsumer } from './notifications/analysis-status-consumer.js';
import { createNotificationRepository } from './notifications/notification-repository.js';
import { notificationRoutes } from './notifications/notification-routes.js';
import { createNotificationService } from './notifications/notification-service.js';
import { createRealtime, type Realtime } from '../realtime/index.js';
import { createIdentityModule } from './auth/identity-module.js';
import type { AccountDeletionHook } from './users/user-service.js';
import type { RouteSpec } from './http/route.js';
import type { HealthCheck } from '../kernel/health.js';
import { createKafka, ensureTopics } from '../kernel/clients/kafka.js';
import { topicNames, type TopicNames } from '../kernel/contracts/analysis-events.js';
import { createLogger, type Logger } from '../kernel/logger.js';
import { createSequelize } from '../kernel/clients/mariadb.js';
import { createMetrics, type Metrics } from '../kernel/metrics.js';
import { connectMongo, pingMongo } from '../kernel/clients/mongo.js';
import { createRateLimiter } from '../kernel/rate-limiter.js';
import { createRedis } from '../kernel/clients/redis.js';

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
  realtime: Realtime;
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

  const tokenRevocation = createTokenRevocation(redis, { accessTtlSec: config.auth.jwt.accessTtlSec });
  const accessTokens = createAccessTokens(config.auth.jwt, tokenRevocation);

  // Pipeline: transactional outbox and its relay to Kafka.
  const outbox = createOutboxRepository(sequelize, sql);
  const relay = createOutboxRelay({ sequelize, outbox, kafka: createKafka(config, log, { retries: 2 }), topics, metrics, log, options: { ...config.outbox, partitions: config.kafka.partitions } });

  // The realtime layer needs the HTTP server, which needs the routes, which need the services:
  // services reach it through these forwarding ports, bound once it exists (below).
  const late: { realtime?: Realtime } = {};
  const live = () => {
    if (!late.realtime) throw new Error('realtime layer not built yet');
    return late.realtime;
  };
  const authEvents: AuthEvents = { sessionsRevoked: (e) => live().authEvents.sessionsRevoked(e), userLoggedIn: (e) => live().authEvents.userLoggedIn(e) };
  const diaryEvents: DiaryEvents = { diaryWritten: (e) => live().diaryEvents.diaryWritten(e), diaryDeleted: (e) => live().diaryEvents.diaryDeleted(e) };

  // Domains.
  const settings = createSettingsService({ repo: createSettingsRepository(sql), redis });
  const analyses = createAnalysisRepository(mongoModels);
  const notificationRepo = createNotificationRepository(mongoModels);
  const notifications = createNotificationService({ repo: notificationRepo, metrics, delivery: () => live().delivery, log });
  const announcementRepo = createAnnouncementRepository(mongoModels);
  const announcements = createAnnouncementService({
    repo: announcementRepo,
    channel: () => live().announcementChannel,
    counterId: config.app.instanceId,
    onError: (err) => log.warn({ err }, 'counting announcement acks failed'),
  });
  const diaryRepo = createDiaryRepository(sequelize, sql);
  const diaries = createDiaryService({
    sequelize,
    diaries: diaryRepo,
    analyses,
    outbox,
    settings,
    topics,
    events: diaryEvents,
    onDeleted: [(userId, diaryId) => analyses.deleteForDiary(userId, diaryId), (userId, diaryId) => notificationRepo.removeForDiary(userId, diaryId)],
    onOutboxWritten: () => relay.wake(),
    limiter: createRateLimiter(redis),
    analysisBudget: { limit: config.diaries.analysisRequestsPerUser, windowSec: config.diaries.analysisRequestsWindowSec },
    log,
  });
  const statusConsumer = createAnalysisStatusConsumer({
    kafka,
    topics,
    groupPrefix: config.kafka.topicPrefix,
    diaries: diaryRepo,
    analyses,
    notifications,
    events: () => live().outcomeEvents,
    metrics,
    log,
    partitionsConcurrently: config.worker.partitionsConcurrently,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
  });

  // Accounts and authentication. Deletion hooks remove what a user owns outside MariaDB.
  const accountDeletionHooks: AccountDeletionHook[] = [
    (userId) => analyses.deleteForUser(userId),
    (userId) => notificationRepo.deleteForUser(userId),
    (userId) => announcementRepo.deleteAcksOfUser(userId),
  ];
  const identity = createIdentityModule({
    config,
    sequelize,
    sql,
    redis,
    log,
    accessTokens,
    tokenRevocation,
    events: authEvents,
    deletionHooks: accountDeletionHooks,
  });

  const routes: RouteSpec[] = [
    ...identity.routes,
    ...diaryRoutes(diaries, { contentMaxChars: config.diaries.contentMaxChars }),
    ...settingsRoutes(settings),
    ...reportRoutes(createReportService({ reports: createReportRepository(sequelize, sql), analyses, settings })),
    ...statsRoutes(createEmotionStats({ sequelize, settings })),
    ...notificationRoutes(notifications),
    ...announcementRoutes(announcements),
    ...activityRoutes(() => live().feed.snapshot()),
    ...healthRoutes({
      checks,
      readinessTimeoutMs: config.http.readinessTimeoutMs,
      registry: metrics.registry,
      isShuttingDown: () => shuttingDown,
      onCheckFailed: (name, err) => log.warn({ err, dependency: name }, 'readiness check failed'),
      exposeMetrics: config.metrics.enabled,
    }),
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
  const realtimeLayer = createRealtime({
    httpServer: server,
    config,
    log,
    metrics,
    accessTokens,
    userStatus: async (userId) => (await sql.User.findByPk(userId, { attributes: ['status'], raw: true }))?.status ?? null,
    notificationRepo,
    notifications,
    announcements,
  });
  late.realtime = realtimeLayer;

  /** The gateway consumer keeps trying in the background while Kafka is unreachable. */
  let consumerStarting: Promise<void> | undefined;
  const startStatusConsumer = async (signal: AbortSignal) => {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        await statusConsumer.start();
        return;
      } catch (err) {
        log.warn({ err, attempt }, 'status consumer could not start; retrying');
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** attempt)));
      }
    }
  };
  const consumerAbort = new AbortController();

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
    realtime: realtimeLayer,
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
      await realtimeLayer.start();
      consumerStarting = startStatusConsumer(consumerAbort.signal);
      log.info({ url: app.url(), instance: config.app.instanceId, profile: config.profile }, 'api started');
    },
    async stop() {
      shuttingDown = true;
      // Stop accepting, let in-flight requests finish within the grace period, then cut the rest.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => server.closeAllConnections(), config.http.shutdownGraceMs);
      await realtimeLayer.stop();
      await announcements.close();
      await notifications.flush();
      await closed;
      clearTimeout(grace);
      consumerAbort.abort();
      await consumerStarting;
      await statusConsumer.stop();
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
