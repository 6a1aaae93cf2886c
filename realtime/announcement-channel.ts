import type { Namespace, Socket } from 'socket.io';
import type { Announcement } from '../src/admin/announcement-repository.js';
import type { AnnouncementService } from '../src/admin/announcement-service.js';
import type { Logger } from '../src/platform/logger.js';
import type { Metrics } from '../src/platform/metrics.js';
import { ACTIVITY_ROOM } from './activity-feed.js';
import type { AnnouncementMessage } from './contract.js';

export type { AnnouncementChannel } from '../src/admin/announcement-service.js';

const toMessage = (a: Announcement): AnnouncementMessage => ({ id: a.id, title: a.title, body: a.body, createdAt: a.createdAt.toISOString() });

/**
 * Announcements over sockets. A new one is fanned out by every instance to its own sockets (told
 * through `serverSideEmit`), so each device's ack is attributed to its user and recorded once.
 * Devices that were offline get pending announcements on their next connect. Ack counts go to the
 * admin activity room.
 */
export function createAnnouncementChannel(deps: {
  users: Namespace;
  admin: Namespace;
  announcements: () => AnnouncementService;
  clusterReachable: () => boolean;
  ackTimeoutMs: number;
  metrics: Metrics;
  log: Logger;
}) {
  const { users, admin } = deps;
  const log = deps.log.child({ component: 'announcements' });

  function sendTo(socket: Socket, message: AnnouncementMessage): void {
    deps.metrics.notificationsEmittedTotal.inc({ kind: 'announcement' });
    socket.timeout(deps.ackTimeoutMs).emit('announcement', message, (err: Error | null) => {
      if (err) return;
      deps
        .announcements()
        .ack(socket.data.userId as string, message.id)
        .catch((e: unknown) => log.warn({ err: e }, 'recording an announcement ack failed'));
    });
  }

  const fanOutLocally = (message: AnnouncementMessage) => {
    for (const socket of users.sockets.values()) sendTo(socket, message);
  };
  admin.on('announcement:fan-out', (message: AnnouncementMessage) => fanOutLocally(message));

  return {
    broadcast(announcement: Announcement) {
      const message = toMessage(announcement);
      fanOutLocally(message);
      if (!deps.clusterReachable()) return;
      try {
        admin.serverSideEmit('announcement:fan-out', message);
      } catch (err) {
        log.warn({ err }, 'announcement fan-out to other instances failed; devices get it on reconnect');
      }
    },
    ackCountChanged(announcementId: string, acks: number) {
      (deps.clusterReachable() ? admin : admin.local).to(ACTIVITY_ROOM).emit('announcement:acks', { announcementId, acks });
    },
    async sendPending(socket: Socket): Promise<void> {
      for (const a of await deps.announcements().pendingFor(socket.data.userId as string)) sendTo(socket, toMessage(a));
    },
  };
}
