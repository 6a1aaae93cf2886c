import type { AppConfig } from '../config/index.js';
import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import type { ServerNotice } from '../kernel/contracts/socket-events.js';
import type { AnnouncementService } from '../src/announcements/announcement-service.js';
import type { AccessTokens } from '../src/auth/access-tokens.js';
import type { NotificationService } from '../src/notifications/notification-service.js';
import type { ActivityFeed } from './activity-feed.js';
import { attachAdminChannel } from './admin-channel.js';
import type { createAnnouncementChannel } from './announcement-channel.js';
import { handshakeAuth } from './handshake-auth.js';
import type { createNotificationDelivery } from './notification-delivery.js';
import type { SocketServer } from './socket-server.js';
import { createTokenExpiryWheel } from './token-expiry.js';
import { attachUserChannel } from './user-channel.js';

/**
 * The realtime layer. The composition root builds it in dependency order: the socket server
 * (no HTTP server yet), then the outbound ports from it (activity feed, session control,
 * notification delivery, announcement channel), then the services with those ports, then the
 * inbound handlers here, and attaches the server to HTTP last.
 */
export { createActivityFeed, type ActivityFeed } from './activity-feed.js';
export { createAnnouncementChannel } from './announcement-channel.js';
export { createNotificationDelivery } from './notification-delivery.js';
export { createSessionControl } from './session-control.js';
export { createSocketServer, type SocketServer } from './socket-server.js';
export { createThoughtRecordEvents } from './thought-record-channel.js';

import { createDiaryCommands } from './diary-commands.js';
import type { DiaryService } from '../src/diaries/diary-service.js';
import type { ThoughtRecordService } from '../src/thought-records/thought-record-service.js';

type Delivery = ReturnType<typeof createNotificationDelivery>;
type AnnouncementChannel = ReturnType<typeof createAnnouncementChannel>;

/** Handshake checks and the event handlers of both namespaces, calling the services. */
export function attachRealtimeHandlers(deps: {
  server: SocketServer;
  config: AppConfig;
  log: Logger;
  metrics: Metrics;
  accessTokens: AccessTokens;
  notifications: NotificationService;
  announcements: AnnouncementService;
  delivery: Delivery;
  announcementChannel: AnnouncementChannel;
  feed: ActivityFeed;
  diaries: Pick<DiaryService, 'get' | 'reanalyze'>;
  thoughtRecords: Pick<ThoughtRecordService, 'get' | 'save'>;
}): void {
  const { server, config, metrics, accessTokens } = deps;
  const log = deps.log.child({ component: 'realtime' });
  const guard = { eventsPerWindow: config.realtime.eventsPerWindow, eventWindowMs: config.realtime.eventWindowMs };
  // One expiry timer for both namespaces of this instance.
  const expiry = createTokenExpiryWheel();
  const handshake = { accessTokens, metrics, maxSocketsPerUser: config.realtime.maxSocketsPerUser };
  server.users.use(handshakeAuth(handshake));
  server.admin.use(handshakeAuth({ ...handshake, requireAdmin: true }));
  attachUserChannel({
    nsp: server.users,
    accessTokens,
    expiry,
    notifications: deps.notifications,
    delivery: deps.delivery,
    announcements: deps.announcements,
    announcementChannel: deps.announcementChannel,
    diaryCommands: createDiaryCommands({ diaries: deps.diaries, log }),
    thoughtRecords: deps.thoughtRecords,
    guard,
    metrics,
    log,
  });
  attachAdminChannel({ nsp: server.admin, feed: deps.feed, announcements: deps.announcements, accessTokens, expiry, guard, metrics, log });
}

/** Starts and stops the realtime layer's timers and, at shutdown, moves clients elsewhere. */
export function createRealtimeLifecycle(deps: { server: SocketServer; delivery: Delivery; announcementChannel: AnnouncementChannel; feed: ActivityFeed }) {
  const { server } = deps;
  return {
    start(): void {
      deps.delivery.start();
      deps.announcementChannel.start();
      deps.feed.start();
    },

    /**
     * Graceful shutdown: tell this instance's clients, then close their transports (not a
     * server-side disconnect), so socket.io-client reconnects, through the load balancer, to
     * another instance, and replays what it missed there.
     */
    async stop(): Promise<void> {
      deps.feed.stop();
      deps.announcementChannel.stop();
      await deps.delivery.stop();
      const notice: ServerNotice = { code: 'shutdown', message: 'server restarting; reconnecting elsewhere' };
      for (const socket of server.users.sockets.values()) socket.emit('server:notice', notice);
      for (const socket of server.admin.sockets.values()) socket.emit('server:notice', notice);
      await new Promise<void>((resolve) => server.io.close(() => resolve()));
    },
  };
}
