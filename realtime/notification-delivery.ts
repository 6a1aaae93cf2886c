import type { Namespace, Socket } from 'socket.io';
import type { Logger } from '../src/platform/logger.js';
import type { Metrics } from '../src/platform/metrics.js';
import type { NotificationRepository, StoredNotification } from '../src/notifications/notification-repository.js';
import type { NotificationDelivery } from '../src/notifications/notification-service.js';
import type { NotificationEnvelope } from './contract.js';

export const userRoom = (userId: string) => `user:${userId}`;
export const sessionRoom = (sessionId: string) => `session:${sessionId}`;

/** The socket event a notification type travels as. */
export function eventFor(type: string): 'analysis:status' | 'notification' {
  return type === 'analysis.status' ? 'analysis:status' : 'notification';
}

export function envelope(n: StoredNotification): NotificationEnvelope {
  return { id: n.id, seq: n.seq, type: n.type, payload: n.payload, createdAt: n.createdAt.toISOString() };
}

/**
 * Delivery of stored notifications to sockets, with acknowledgements:
 * - live: broadcast to room `user:<id>` on every instance (Redis adapter), acked by any device;
 * - replay: on connect, everything after the device's last seen sequence plus anything unacked;
 * - redelivery: each instance periodically re-sends unacked notifications of the users connected
 *   to it whose last delivery is older than the ack timeout.
 * Together these make a lost broadcast (dead instance, Redis blip, dropped socket) a delay, not a
 * loss. Clients deduplicate by id.
 */
export function createNotificationDelivery(deps: {
  nsp: Namespace;
  repo: NotificationRepository;
  metrics: Metrics;
  log: Logger;
  options: { ackTimeoutMs: number; redeliverIntervalMs: number; replayLimit: number };
}): NotificationDelivery & {
  replay(socket: Socket, afterSeq: number): Promise<void>;
  start(): void;
  stop(): Promise<void>;
} {
  const { nsp, repo, metrics, options } = deps;
  const log = deps.log.child({ component: 'notification-delivery' });
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();

  const acknowledge = (userId: string, ids: string[]) => {
    repo.ack(userId, { ids }).then(
      (n) => n > 0 && metrics.notificationsAckedTotal.inc(n),
      (err: unknown) => log.warn({ err, userId }, 'recording a socket ack failed; the notification will be redelivered'),
    );
  };
  const delivered = (ids: string[]) => repo.markDelivered(ids).catch((err: unknown) => log.warn({ err }, 'marking delivery failed'));

  /** Emits to one local socket and records the ack. */
  function emitTo(socket: Socket, n: StoredNotification, kind: 'replay' | 'redelivery'): void {
    metrics.notificationsEmittedTotal.inc({ kind });
    socket.timeout(options.ackTimeoutMs).emit(eventFor(n.type), envelope(n), (err: Error | null) => {
      if (!err) acknowledge(n.userId, [n.id]);
    });
  }

  async function redeliverRound(): Promise<void> {
    const byUser = new Map<string, Socket[]>();
    for (const socket of nsp.sockets.values()) {
      const userId = socket.data.userId as string | undefined;
      if (userId) byUser.set(userId, [...(byUser.get(userId) ?? []), socket]);
    }
    if (byUser.size === 0) return;
    const due = await repo.dueForRedelivery([...byUser.keys()], new Date(Date.now() - options.ackTimeoutMs), options.replayLimit);
    for (const n of due) for (const socket of byUser.get(n.userId) ?? []) emitTo(socket, n, 'redelivery');
    await delivered(due.map((n) => n.id));
  }

  return {
    deliver(userId, n) {
      metrics.notificationsEmittedTotal.inc({ kind: 'live' });
      try {
        nsp
          .to(userRoom(userId))
          .timeout(options.ackTimeoutMs)
          .emit(eventFor(n.type), envelope(n), (_err: Error | null, responses: unknown[]) => {
            // Any device's ack counts: the inbox is per user. No ack → redelivered later.
            if (responses?.length) acknowledge(userId, [n.id]);
          });
      } catch (err) {
        log.warn({ err, userId }, 'live delivery failed; the notification will be redelivered');
      }
      void delivered([n.id]);
    },

    async replay(socket, afterSeq) {
      const userId = socket.data.userId as string;
      const pending = await repo.forReplay(userId, afterSeq, options.replayLimit);
      // One socket keeps emit order, so the device receives them in sequence order.
      for (const n of pending) emitTo(socket, n, 'replay');
      await delivered(pending.filter((n) => n.ackedAt === null).map((n) => n.id));
    },

    start() {
      timer = setInterval(() => {
        round = redeliverRound().catch((err: unknown) => log.warn({ err }, 'redelivery round failed'));
      }, options.redeliverIntervalMs);
      timer.unref();
    },

    async stop() {
      clearInterval(timer);
      await round;
    },
  };
}
