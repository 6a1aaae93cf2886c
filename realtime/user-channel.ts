import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import { ackAnnouncementSchema, ackNotificationsSchema, refreshTokenSchema } from '../kernel/contracts/socket-events.js';
import type { AnnouncementService } from '../src/announcements/announcement-service.js';
import type { AccessTokens } from '../src/auth/access-tokens.js';
import type { NotificationService } from '../src/notifications/notification-service.js';
import type { ThoughtRecordService } from '../src/thought-records/thought-record-service.js';
import type { createAnnouncementChannel } from './announcement-channel.js';
import type { DiaryCommands } from './diary-commands.js';
import type { createNotificationDelivery } from './notification-delivery.js';
import { createSocketGuard, type GuardOptions } from './socket-guard.js';
import { sessionRoom, userRoom, type UserNamespace, type UserSocket } from './socket-server.js';
import { registerThoughtRecordCommands } from './thought-record-channel.js';
import { tokenRefreshHandler, type TokenExpiryWheel } from './token-expiry.js';

/**
 * Every user's sockets (namespace `/`): rooms for the person and the session, replay of the
 * inbox and pending announcements on connect, acks, token refresh, and the analysis commands.
 */
export function attachUserChannel(deps: {
  nsp: UserNamespace;
  accessTokens: AccessTokens;
  expiry: TokenExpiryWheel;
  notifications: Pick<NotificationService, 'ack'>;
  delivery: Pick<ReturnType<typeof createNotificationDelivery>, 'replay' | 'deviceAcked' | 'onStatusSent'>;
  announcements: Pick<AnnouncementService, 'ack'>;
  announcementChannel: Pick<ReturnType<typeof createAnnouncementChannel>, 'sendPending'>;
  diaryCommands: DiaryCommands;
  thoughtRecords: Pick<ThoughtRecordService, 'get' | 'save'>;
  guard: GuardOptions;
  metrics: Metrics;
  log: Logger;
}): void {
  const { nsp, metrics, expiry } = deps;
  const log = deps.log.child({ component: 'user-channel' });
  const guard = createSocketGuard<UserSocket>({ options: deps.guard, metrics, log });

  guard.on('notifications:ack', ackNotificationsSchema, async (socket, body) => {
    deps.delivery.deviceAcked(socket, body);
    return { acked: await deps.notifications.ack(socket.data.userId, body) };
  });
  guard.on('announcements:ack', ackAnnouncementSchema, async (socket, body) => {
    await deps.announcements.ack(socket.data.userId, body.id);
    return { ok: true as const };
  });
  guard.on('auth:refresh', refreshTokenSchema, tokenRefreshHandler({ wheel: expiry, accessTokens: deps.accessTokens }));
  deps.diaryCommands.register(guard);
  registerThoughtRecordCommands(guard, deps.thoughtRecords);
  deps.delivery.onStatusSent((socket, n) => deps.diaryCommands.statusSent(socket, n));

  // One listener for every socket (socket.io calls it with the socket as `this`).
  function disconnected(this: UserSocket, reason: string): void {
    expiry.unwatch(this);
    metrics.socketsConnected.dec({ namespace: '/' });
    metrics.socketDisconnectsTotal.inc({ namespace: '/', reason });
  }

  nsp.on('connection', (socket) => {
    const { userId, sessionId } = socket.data;
    void socket.join([userRoom(userId), sessionRoom(sessionId)]);
    metrics.socketsConnected.inc({ namespace: '/' });
    metrics.socketConnectionsTotal.inc({ namespace: '/' });
    socket.once('disconnect', disconnected);
    expiry.watch(socket);
    guard.attach(socket);

    // The handshake checked auth and kept only `{ lastSeq? }` of it.
    const { lastSeq } = socket.handshake.auth as { lastSeq?: number };
    Promise.all([deps.delivery.replay(socket, lastSeq), deps.announcementChannel.sendPending(socket)]).catch((err: unknown) =>
      log.warn({ err, userId }, 'replay on connect failed; redelivery will retry'),
    );
  });
}
