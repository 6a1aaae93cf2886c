import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppConfig } from '../config/index.js';
import { withDeadline, backoffDelay, sleep } from '../kernel/backoff.js';
import { createApiClients, type ApiClients } from '../kernel/clients/index.js';
import { ensureTopics, topicLayout } from '../kernel/clients/kafka.js';
import { pipelineProducerOptions } from '../kernel/clients/kafka-producer.js';
import type { Mailer } from '../kernel/clients/mailer.js';
import { pingMongo } from '../kernel/clients/mongo.js';
import { topicNames, type TopicNames } from '../kernel/contracts/analysis-events.js';
import type { HealthCheck } from '../kernel/health.js';
import { createLogger, type Logger } from '../kernel/logger.js';
import { createMetrics, type Metrics } from '../kernel/metrics.js';
import { createRateLimiter } from '../kernel/rate-limiter.js';
import { createReadRouting } from '../kernel/replica-reads.js';
import type { ReplicaHealth } from '../kernel/replica-health.js';
import { defineMongoModels, syncMongoIndexes, type MongoModels } from '../models/mongo/index.js';
import { defineSqlModels, type SqlModels } from '../models/sql/index.js';
import {
  attachRealtimeHandlers,
  createActivityFeed,
  createAnnouncementChannel,
  createNotificationDelivery,
  createRealtimeLifecycle,
  createSessionControl,
  createSocketServer,
  createThoughtRecordEvents,
  type SocketServer,
} from '../realtime/index.js';
import { activityRoutes } from './admin/activity-routes.js';
import { createAnalysisRepository } from './analysis/analysis-repository.js';
import { createEmotionStats } from './analysis/emotion-stats.js';
import { statsRoutes } from './analysis/stats-routes.js';
import { createAnnouncementAcks } from './announcements/announcement-acks.js';
import { createAnnouncementRepository } from './announcements/announcement-repository.js';
import { announcementRoutes } from './announcements/announcement-routes.js';
import { createAnnouncementQueries, createAnnouncementService } from './announcements/announcement-service.js';
import { createAccessTokens, type AccessTokens } from './auth/access-tokens.js';
import type { AuthEvents } from './auth/auth-events.js';
import { createAuthenticate } from './auth/authenticate.js';
import { createIdentityModule } from './auth/identity-module.js';
import { createTokenRevocation, type TokenRevocation } from './auth/token-revocation.js';
import { createDiaryRepository } from './diaries/diary-repository.js';
import { diaryRoutes } from './diaries/diary-routes.js';
import { createDiaryService } from './diaries/diary-service.js';
import { healthRoutes } from './health/health-routes.js';
import { createHttpApp } from './http/app.js';
import type { ResponseAudit } from './http/mount-routes.js';
import { openApiRoutes } from './http/openapi-routes.js';
import { webAppRoutes } from './http/web-routes.js';
import type { RouteSpec } from './http/route.js';
import { createAnalysisStatusConsumer } from './notifications/analysis-status-consumer.js';
import { createDeliveryAcks } from './notifications/delivery-acks.js';
import { createNotificationRepository } from './notifications/notification-repository.js';
import { notificationRoutes } from './notifications/notification-routes.js';
import { createNotificationStreams } from './notifications/notification-stream.js';
import { createNotificationService } from './notifications/notification-service.js';
import { createOutboxRelay } from './outbox/outbox-relay.js';
import { createOutboxRepository } from './outbox/outbox-repository.js';
import { createReportRepository } from './reports/report-repository.js';
import { reportRoutes } from './reports/report-routes.js';
import { createReportService } from './reports/report-service.js';
import { createSettingsRepository } from './settings/settings-repository.js';
import { settingsRoutes } from './settings/settings-routes.js';
import { createSettingsService } from './settings/settings-service.js';
import { createThoughtRecordRepository } from './thought-records/thought-record-repository.js';
import { thoughtRecordRoutes } from './thought-records/thought-record-routes.js';
import { createThoughtRecordService } from './thought-records/thought-record-service.js';
import { createThoughtRecordStats } from './thought-records/thought-record-stats.js';
import type { AccountDeletionHook } from './users/user-service.js';

export interface ApiAppOptions {
  /** Called for every response that breaks its documented contract (tests collect these). */
  responseAudit?: ResponseAudit;
  log?: Logger;
  /** Replaces the mailer built from `config.mail` (tests). */
  mailer?: Mailer;
  /** A part of the process died beyond repair (a consumer that will not restart): stop and exit. */
  onFatal?: (err: Error) => void;
}

/** Handles the composition root exposes for operations and tests; routes never see these. */
export interface ApiApp {
  config: AppConfig;
  log: Logger;
  metrics: Metrics;
  server: Server;
  clients: ApiClients;
  sql: SqlModels;
  mongoModels: MongoModels;
  topics: TopicNames;
  /** The MariaDB replica's probe, when `mariadb.replica.url` is set. */
  replicaHealth?: ReplicaHealth;
  accessTokens: AccessTokens;
  tokenRevocation: TokenRevocation;
  realtime: SocketServer & { delivery: ReturnType<typeof createNotificationDelivery> };
  /** Method + path of every route the HTTP server answers. */
  mountedRoutes(): Array<{ method: string; path: string }>;
  /** Base URL the HTTP server listens on, once started. */
  url(): string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** How long cross-instance requests (activity snapshot) wait for the other instances. */
const CLUSTER_REQUEST_TIMEOUT_MS = 2_000;

/**
 * The API process's composition root. Everything is built once, in dependency order, with plain
 * factories: the connections; the Socket.IO server (not yet on HTTP) and the realtime ports made
 * from it; the repositories and services, given those ports; the socket handlers and routes,
 * given the services; Koa; the HTTP server, to which Socket.IO attaches last. `start` and `stop`
 * own the order in which they run and end.
 */
export async function createApiApp(config: AppConfig, options: ApiAppOptions = {}): Promise<ApiApp> {
  const log = options.log ?? createLogger(config, 'api');
  const metrics = createMetrics(undefined, { instance: config.app.instanceId, process: 'api' });
  const topics = topicNames(config.kafka.topicPrefix);
  let shuttingDown = false;
  const fatal = (err: Error) => options.onFatal?.(err);

  // Connections.
  const clients = await createApiClients(config, log, { mailer: options.mailer });
  const { sequelize, mongo, redis, kafka, mailer } = clients;
  const sql = defineSqlModels(sequelize);
  const mongoModels = defineMongoModels(mongo);
  const limiter = createRateLimiter(redis);
  // Lists and stats may read from the replica; the writes that must show in them tell `reads`.
  const readRouting = createReadRouting({
    config: config.mariadb.replica,
    primary: { sequelize, models: sql },
    replica: clients.replica ? { sequelize: clients.replica, models: defineSqlModels(clients.replica) } : undefined,
    redis,
    metrics,
    log,
  });
  const { reads } = readRouting;

  // Realtime ports, built from the socket server before any service.
  const socketServer = createSocketServer({ config, pubsub: clients.pubsub, requestTimeoutMs: CLUSTER_REQUEST_TIMEOUT_MS, metrics });
  const feed = createActivityFeed({ server: socketServer, instanceId: config.app.instanceId, intervalMs: config.realtime.activityIntervalMs, log });
  const sessionControl = createSessionControl({ server: socketServer, log });
  const { ackTimeoutMs, redeliverIntervalMs, replayLimit } = config.realtime;
  const notificationRepo = createNotificationRepository(mongoModels);
  const deliveryAcks = createDeliveryAcks({ repo: notificationRepo, metrics, log });
  const delivery = createNotificationDelivery({ server: socketServer, repo: notificationRepo, acks: deliveryAcks, metrics, log, options: { ackTimeoutMs, redeliverIntervalMs, replayLimit } });
  const announcementRepo = createAnnouncementRepository(mongoModels);
  const announcementQueries = createAnnouncementQueries(announcementRepo);
  const announcementAcks = createAnnouncementAcks({
    repo: announcementRepo,
    counts: feed,
    counterId: config.app.instanceId,
    onError: (err) => log.warn({ err }, 'recording or counting announcement acks failed'),
  });
  const announcementChannel = createAnnouncementChannel({ server: socketServer, queries: announcementQueries, acks: announcementAcks, ackTimeoutMs, redeliverIntervalMs, metrics, log });
  const realtime = createRealtimeLifecycle({ server: socketServer, delivery, announcementChannel, feed });

  // Tokens.
  const tokenRevocation = createTokenRevocation(redis, { accessTtlSec: config.auth.jwt.accessTtlSec });
  const accessTokens = createAccessTokens(config.auth.jwt, tokenRevocation);

  // Domains.
  const outbox = createOutboxRepository(sequelize, sql);
  const relay = createOutboxRelay({ sequelize, outbox, kafka, topics, metrics, log, options: { ...config.outbox, topicLayout: topicLayout(config.kafka), producer: pipelineProducerOptions(config.kafka) } });
  const settings = createSettingsService({ repo: createSettingsRepository(sql), redis });
  const analyses = createAnalysisRepository(mongoModels);
  const notifications = createNotificationService({ repo: notificationRepo, metrics, delivery });
  const streams = createNotificationStreams({
    notifications,
    accessTokens,
    log,
    options: { pollMs: config.realtime.ssePollMs, heartbeatMs: config.realtime.sseHeartbeatMs, maxStreamsPerUser: config.realtime.sseMaxStreamsPerUser },
  });
  const announcements = createAnnouncementService({ repo: announcementRepo, queries: announcementQueries, acks: announcementAcks, channel: announcementChannel });
  const diaryRepo = createDiaryRepository(sequelize, sql, reads);
  const diaries = createDiaryService({
    sequelize,
    diaries: diaryRepo,
    analyses,
    outbox,
    settings,
    topics,
    events: feed.events,
    onDeleted: [(userId, diaryId) => analyses.deleteForDiary(userId, diaryId), (userId, diaryId) => notificationRepo.removeForDiary(userId, diaryId)],
    onOutboxWritten: () => relay.wake(),
    limiter,
    analysisBudget: { limit: config.diaries.analysisRequestsPerUser, windowSec: config.diaries.analysisRequestsWindowSec },
    readYourWrites: reads,
    log,
  });
  // Thought records: deleted with their entry (and its owner) by MariaDB's foreign keys.
  const thoughtRecordRepo = createThoughtRecordRepository(sequelize, reads);
  const thoughtRecords = createThoughtRecordService({ records: thoughtRecordRepo, diaries: diaryRepo, analyses, events: createThoughtRecordEvents(socketServer), readYourWrites: reads });
  const statusConsumer = createAnalysisStatusConsumer({
    kafka,
    topics,
    groupPrefix: config.kafka.topicPrefix,
    diaries: diaryRepo,
    analyses,
    notifications,
    events: feed.events,
    onFatal: fatal,
    metrics,
    log,
    partitionsConcurrently: config.gateway.partitionsConcurrently,
    usersConcurrently: config.gateway.usersConcurrently,
    readYourWrites: reads,
    sessionTimeoutMs: config.kafka.sessionTimeoutMs,
    metadataMaxAgeMs: config.kafka.metadataMaxAgeMs,
  });

  // Accounts and authentication. Deletion hooks remove what a user owns outside MariaDB.
  const authEvents: AuthEvents = { sessionsRevoked: (e) => sessionControl.sessionsRevoked(e), userLoggedIn: (e) => feed.events.userLoggedIn(e) };
  const accountDeletionHooks: AccountDeletionHook[] = [
    (userId) => analyses.deleteForUser(userId),
    (userId) => notificationRepo.deleteForUser(userId),
    (userId) => announcementRepo.deleteAcksOfUser(userId),
  ];
  const identity = createIdentityModule({ config, sequelize, sql, reads, redis, log, accessTokens, tokenRevocation, events: authEvents, deletionHooks: accountDeletionHooks, mailer, limiter });

  // Inbound: socket handlers and routes.
  attachRealtimeHandlers({
    server: socketServer,
    config,
    log,
    metrics,
    accessTokens,
    notifications,
    announcements,
    delivery,
    announcementChannel,
    feed,
    diaries,
    thoughtRecords,
  });

  const healthAdmin = kafka.admin({ retry: { retries: 0 } });
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
    statusConsumer.health,
  ];
  const routes: RouteSpec[] = [
    ...identity.routes,
    ...diaryRoutes(diaries, { contentMaxChars: config.diaries.contentMaxChars }),
    ...settingsRoutes(settings),
    ...reportRoutes(createReportService({ reports: createReportRepository(sequelize, sql, reads), analyses, settings, readYourWrites: reads })),
    ...statsRoutes(createEmotionStats({ reads, settings })),
    ...thoughtRecordRoutes(thoughtRecords, createThoughtRecordStats({ records: thoughtRecordRepo, settings })),
    ...notificationRoutes(notifications),
    streams.route,
    ...announcementRoutes(announcements),
    ...activityRoutes(() => feed.snapshot()),
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
  const http = createHttpApp({ config, log, metrics, routes, authenticate: createAuthenticate(accessTokens), audit: options.responseAudit, middleware: [webAppRoutes()] });

  // The HTTP server, with Socket.IO on it.
  const server = createServer(http.koa.callback());
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 65_000;
  socketServer.attach(server);

  /** Kafka being down must not keep the API from serving: the relay creates the topics later. */
  async function ensureTopicsIfReachable(): Promise<void> {
    const admin = kafka.admin({ retry: { retries: 1 } });
    try {
      await admin.connect();
      await ensureTopics(admin, topics, topicLayout(config.kafka));
    } catch (err) {
      log.warn({ err }, 'kafka not reachable at start; the outbox keeps analysis requests until it is');
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  /** The gateway consumer keeps trying in the background while Kafka is unreachable. */
  const consumerAbort = new AbortController();
  let consumerStarting: Promise<void> = Promise.resolve();
  async function startStatusConsumer(signal: AbortSignal): Promise<void> {
    for (let attempt = 1; !signal.aborted; attempt++) {
      try {
        await statusConsumer.start();
        return;
      } catch (err) {
        log.warn({ err, attempt }, 'status consumer could not start; retrying');
        await sleep(backoffDelay(attempt, { baseMs: 500, maxMs: 30_000 }), signal);
      }
    }
  }

  const app: ApiApp = {
    config,
    log,
    metrics,
    server,
    clients,
    sql,
    mongoModels,
    topics,
    replicaHealth: readRouting.health,
    accessTokens,
    tokenRevocation,
    realtime: { ...socketServer, delivery },
    mountedRoutes: http.mountedRoutes,
    url() {
      const address = server.address() as AddressInfo | null;
      if (!address) throw new Error('server not listening');
      return `http://127.0.0.1:${address.port}`;
    },
    async start() {
      await clients.connect();
      await readRouting.start();
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
      realtime.start();
      streams.start();
      consumerStarting = startStatusConsumer(consumerAbort.signal);
      log.info({ url: app.url(), instance: config.app.instanceId, profile: config.profile }, 'api started');
    },
    /**
     * Stops in reverse order, bounded as a whole: HTTP and sockets (in-flight requests get the
     * grace period), the consumer and the relay, the acks still queued, then the connections.
     */
    async stop() {
      shuttingDown = true;
      const steps = async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        // Open streams would hold server.close() for the whole grace period: they end now, and reconnect elsewhere.
        streams.stop();
        const grace = setTimeout(() => server.closeAllConnections(), config.http.shutdownGraceMs);
        await realtime.stop();
        await closed;
        clearTimeout(grace);
        consumerAbort.abort();
        await consumerStarting;
        await statusConsumer.stop();
        await relay.stop();
        await Promise.all([announcementAcks.close(), deliveryAcks.flush()]);
        await healthAdmin.disconnect().catch(() => undefined);
        await readRouting.stop();
      };
      await withDeadline(steps(), config.http.shutdownGraceMs + 10_000, () => log.warn('shutdown took too long; closing the connections anyway'));
      await clients.close();
      log.info('api stopped');
    },
  };
  return app;
}
