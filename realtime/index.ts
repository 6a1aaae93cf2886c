import type { Server as HttpServer } from 'node:http';
import type { Server, Socket } from 'socket.io';
import type { AppConfig } from '../config/index.js';
import type { AnnouncementService } from '../src/announcements/announcement-service.js';
import type { AccessTokens } from '../src/auth/access-tokens.js';
import type { AuthEvents } from '../src/auth/auth-events.js';
import type { DiaryEvents } from '../src/diaries/diary-events.js';
import type { AnalysisOutcomeEvents } from '../src/notifications/analysis-status-consumer.js';
import type { NotificationRepository } from '../src/notifications/notification-repository.js';
import type { NotificationService } from '../src/notifications/notification-service.js';
import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import { createRedis } from '../kernel/clients/redis.js';
import { createActivityFeed } from './activity-feed.js';
import { attachAdminChannel } from './admin-channel.js';
import { createAnnouncementChannel } from './announcement-channel.js';
import type { ServerNotice } from '../kernel/contracts/socket-events.js';
import { handshakeAuth, type UserStatusLookup } from './handshake-auth.js';
import { createNotificationDelivery } from './notification-delivery.js';
import { createSessionControl } from './session-control.js';
import { createSocketServer } from './socket-server.js';
import { attachUserChannel } from './user-channel.js';

export type { UserStatusLookup } from './handshake-auth.js';

/** How long cross-instance requests (activity snapshot) wait for the other instances. */
const CLUSTER_REQUEST_TIMEOUT_MS = 2_000;

/**
 * The realtime layer: builds the Socket.IO server with its namespaces and channels, and returns
 * the ports the domains publish through (notification delivery, announcements, session control,
 * activity), so services never touch `io` themselves.
 */
export function createRealtime(deps: {
  httpServer: HttpServer;
  config: AppConfig;
  log: Logger;
  metrics: Metrics;
  accessTokens: AccessTokens;
  userStatus: UserStatusLookup;
  notificationRepo: NotificationRepository;
  notifications: NotificationService;
  announcements: AnnouncementService;
}) {
  const { config, metrics } = deps;
  const log = deps.log.child({ component: 'realtime' });
  const pub = createRedis(config, log, 'socket.io-pub', { prefixed: false });
  const sub = createRedis(config, log, 'socket.io-sub', { prefixed: false });
  const io: Server = createSocketServer({ httpServer: deps.httpServer, config, pub, sub, requestTimeoutMs: CLUSTER_REQUEST_TIMEOUT_MS });
  const users = io.of('/');
  const admin = io.of('/admin');
  const guard = { eventsPerWindow: config.realtime.eventsPerWindow, eventWindowMs: config.realtime.eventWindowMs };

  const handshake = { accessTokens: deps.accessTokens, userStatus: deps.userStatus, metrics, maxSocketsPerUser: config.realtime.maxSocketsPerUser };
  users.use(handshakeAuth(handshake));
  admin.use(handshakeAuth({ ...handshake, requireAdmin: true }));

  // Cross-instance emits publish through Redis; while it is away they are skipped (catch-up and
  // reconnect replay cover them) instead of piling up rejected publishes.
  const clusterReachable = () => pub.status === 'ready';
  const delivery = createNotificationDelivery({
    nsp: users,
    repo: deps.notificationRepo,
    notifications: deps.notifications,
    metrics,
    log,
    clusterReachable,
    options: { ackTimeoutMs: config.realtime.ackTimeoutMs, redeliverIntervalMs: config.realtime.redeliverIntervalMs, replayLimit: config.realtime.replayLimit },
  });
  const feed = createActivityFeed({ io, admin, instanceId: config.app.instanceId, intervalMs: config.realtime.activityIntervalMs, clusterReachable, log });
  const announcementChannel = createAnnouncementChannel({
    users,
    admin,
    clusterReachable,
    announcements: () => deps.announcements,
    ackTimeoutMs: config.realtime.ackTimeoutMs,
    redeliverIntervalMs: config.realtime.redeliverIntervalMs,
    metrics,
    log,
  });
  const sessionControl = createSessionControl({ io, log });

  attachUserChannel({ nsp: users, accessTokens: deps.accessTokens, notifications: deps.notifications, delivery, announcements: deps.announcements, announcementChannel, guard, metrics, log });
  attachAdminChannel({ nsp: admin, feed, announcements: deps.announcements, accessTokens: deps.accessTokens, guard, metrics, log });

  const authEvents: AuthEvents = { sessionsRevoked: (e) => sessionControl.sessionsRevoked(e), userLoggedIn: (e) => feed.events.userLoggedIn(e) };
  const diaryEvents: DiaryEvents = feed.events;
  const outcomeEvents: AnalysisOutcomeEvents = feed.events;

  return {
    io,
    delivery,
    announcementChannel,
    authEvents,
    diaryEvents,
    outcomeEvents,
    feed,

    async start(): Promise<void> {
      // The adapter's first subscribe may already have started the connection (lazyConnect).
      await Promise.all([pub, sub].map((c) => (c.status === 'wait' ? c.connect() : Promise.resolve()))).catch((err: unknown) => log.warn({ err }, 'redis for socket.io not reachable at start; retrying in the background'));
      delivery.start();
      announcementChannel.start();
      feed.start();
    },

    /**
     * Graceful shutdown: tell this instance's clients, then close their transports (not a
     * server-side disconnect), so socket.io-client reconnects, through the load balancer, to
     * another instance, and replays what it missed there.
     */
    async stop(): Promise<void> {
      feed.stop();
      announcementChannel.stop();
      await delivery.stop();
      const notice: ServerNotice = { code: 'shutdown', message: 'server restarting; reconnecting elsewhere' };
      const sockets: Socket[] = [...users.sockets.values(), ...admin.sockets.values()];
      for (const socket of sockets) socket.emit('server:notice', notice);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      pub.disconnect();
      sub.disconnect();
    },
  };
}

export type Realtime = ReturnType<typeof createRealtime>;
