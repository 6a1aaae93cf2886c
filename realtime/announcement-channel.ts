import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import type { AnnouncementMessage } from '../kernel/contracts/socket-events.js';
import type { AnnouncementAcks } from '../src/announcements/announcement-acks.js';
import type { Announcement } from '../src/announcements/announcement-repository.js';
import type { AnnouncementBroadcast, AnnouncementQueries } from '../src/announcements/announcement-service.js';
import type { SocketServer, UserSocket } from './socket-server.js';

const toMessage = (a: Announcement): AnnouncementMessage => ({ id: a.id, title: a.title, body: a.body, createdAt: a.createdAt.toISOString() });

/** How far back an instance looks for announcements it may not have fanned out (lost broadcasts). */
const CATCH_UP_WINDOW_MS = 10 * 60_000;

interface SocketAnnouncement {
  message: AnnouncementMessage;
  lastSentAtMs: number;
  inFlight: boolean;
  /** Kept once acked, so the same announcement found again (catch-up, fan-out) is not re-sent. */
  acked: boolean;
}

/**
 * Announcements over sockets. A new one is fanned out by every instance to its own sockets (told
 * through `serverSideEmit`), so each device's ack is attributed to its user and recorded once.
 * Devices that were offline get pending announcements on their next connect.
 *
 * Delivery to a connected device is tracked per socket until that socket acks: every
 * `redeliverIntervalMs` an instance re-sends what its sockets have not acked within the ack
 * timeout, and looks in the store for announcements created since it started that it never fanned
 * out (a `serverSideEmit` lost while Redis was down), so a blip delays an announcement instead of
 * losing it for devices that stay connected.
 */
export function createAnnouncementChannel(deps: {
  server: SocketServer;
  queries: Pick<AnnouncementQueries, 'createdSince' | 'pendingFor' | 'invalidateRecent'>;
  acks: Pick<AnnouncementAcks, 'deviceAcked'>;
  ackTimeoutMs: number;
  redeliverIntervalMs: number;
  metrics: Metrics;
  log: Logger;
}): AnnouncementBroadcast & { sendPending(socket: UserSocket): Promise<void>; start(): void; stop(): void } {
  const { users, admin, clusterReachable } = deps.server;
  const log = deps.log.child({ component: 'announcements' });
  const bySocket = new WeakMap<UserSocket, Map<string, SocketAnnouncement>>();
  /** Announcements this instance has fanned out (id → createdAt ms), pruned after the catch-up window. */
  const fannedOut = new Map<string, number>();
  const startedAtMs = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let ticking = false;

  function emit(socket: UserSocket, entry: SocketAnnouncement): void {
    entry.inFlight = true;
    entry.lastSentAtMs = Date.now();
    deps.metrics.notificationsEmittedTotal.inc({ kind: 'announcement' });
    socket.timeout(deps.ackTimeoutMs).emit('announcement', entry.message, (err: Error | null) => {
      entry.inFlight = false;
      if (err) return; // no ack in time: the next tick sends it again while the socket is connected
      entry.acked = true;
      deps.acks.deviceAcked(socket.data.userId, entry.message.id);
    });
  }

  function sendTo(socket: UserSocket, message: AnnouncementMessage): void {
    let known = bySocket.get(socket);
    if (!known) bySocket.set(socket, (known = new Map()));
    if (known.has(message.id)) return;
    const entry: SocketAnnouncement = { message, lastSentAtMs: 0, inFlight: false, acked: false };
    known.set(message.id, entry);
    emit(socket, entry);
  }

  const fanOutLocally = (message: AnnouncementMessage) => {
    if (fannedOut.has(message.id)) return;
    fannedOut.set(message.id, Date.parse(message.createdAt));
    deps.queries.invalidateRecent();
    for (const socket of users.sockets.values()) sendTo(socket, message);
  };
  admin.on('announcement:fan-out', (message) => fanOutLocally(message));

  async function tick(): Promise<void> {
    if (users.sockets.size === 0) return; // nobody to deliver to; those who connect get pending ones
    const now = Date.now();
    for (const [id, createdAtMs] of fannedOut) if (createdAtMs < now - CATCH_UP_WINDOW_MS) fannedOut.delete(id);
    const since = new Date(Math.max(startedAtMs, now - CATCH_UP_WINDOW_MS));
    for (const a of await deps.queries.createdSince(since)) fanOutLocally(toMessage(a));
    for (const socket of users.sockets.values()) {
      for (const entry of bySocket.get(socket)?.values() ?? []) {
        if (!entry.acked && !entry.inFlight && now - entry.lastSentAtMs >= deps.ackTimeoutMs) emit(socket, entry);
      }
    }
  }

  return {
    broadcast(announcement: Announcement) {
      const message = toMessage(announcement);
      fanOutLocally(message);
      if (!clusterReachable()) return;
      try {
        admin.serverSideEmit('announcement:fan-out', message);
      } catch (err) {
        log.warn({ err }, 'announcement fan-out to other instances failed; the other instances find it in the store');
      }
    },
    async sendPending(socket: UserSocket): Promise<void> {
      for (const a of await deps.queries.pendingFor(socket.data.userId)) sendTo(socket, toMessage(a));
    },
    start(): void {
      timer = setInterval(() => {
        if (ticking) return;
        ticking = true;
        tick()
          .catch((err: unknown) => log.warn({ err }, 'announcement catch-up failed; retrying on the next tick'))
          .finally(() => (ticking = false));
      }, deps.redeliverIntervalMs);
      timer.unref();
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}
