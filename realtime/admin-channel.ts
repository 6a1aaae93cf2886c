import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import { activitySnapshotRequestSchema, createAnnouncementSchema, refreshTokenSchema } from '../kernel/contracts/socket-events.js';
import type { AnnouncementService } from '../src/announcements/announcement-service.js';
import type { AccessTokens } from '../src/auth/access-tokens.js';
import { ACTIVITY_ROOM, type ActivityFeed } from './activity-feed.js';
import { createSocketGuard, type GuardOptions } from './socket-guard.js';
import { sessionRoom, userRoom, type AdminNamespace, type AdminSocket } from './socket-server.js';
import { tokenRefreshHandler, type TokenExpiryWheel } from './token-expiry.js';

/** Namespace `/admin` (role ADMIN, checked at the handshake): the live activity room and admin actions. */
export function attachAdminChannel(deps: {
  nsp: AdminNamespace;
  feed: Pick<ActivityFeed, 'snapshot' | 'watchersChanged'>;
  announcements: Pick<AnnouncementService, 'create'>;
  accessTokens: AccessTokens;
  expiry: TokenExpiryWheel;
  guard: GuardOptions;
  metrics: Metrics;
  log: Logger;
}): void {
  const { nsp, metrics, expiry } = deps;
  const log = deps.log.child({ component: 'admin-channel' });
  const guard = createSocketGuard<AdminSocket>({ options: deps.guard, metrics, log });

  guard.on('auth:refresh', refreshTokenSchema, tokenRefreshHandler({ wheel: expiry, accessTokens: deps.accessTokens, requiredRole: 'ADMIN' }));
  guard.on('activity:snapshot', activitySnapshotRequestSchema, () => deps.feed.snapshot());
  guard.on('announcements:create', createAnnouncementSchema, async (socket, body) => {
    const a = await deps.announcements.create(socket.data.userId, body);
    return { id: a.id, title: a.title, body: a.body, createdAt: a.createdAt.toISOString() };
  });

  function disconnected(this: AdminSocket, reason: string): void {
    expiry.unwatch(this);
    deps.feed.watchersChanged();
    metrics.socketsConnected.dec({ namespace: '/admin' });
    metrics.socketDisconnectsTotal.inc({ namespace: '/admin', reason });
  }

  nsp.on('connection', (socket) => {
    void socket.join([ACTIVITY_ROOM, userRoom(socket.data.userId), sessionRoom(socket.data.sessionId)]);
    deps.feed.watchersChanged();
    metrics.socketsConnected.inc({ namespace: '/admin' });
    metrics.socketConnectionsTotal.inc({ namespace: '/admin' });
    socket.once('disconnect', disconnected);
    expiry.watch(socket);
    guard.attach(socket);
  });
}
