import type { Metrics } from '../platform/metrics.js';
import type { AckSelector, NotificationRepository, StoredNotification } from './notification-repository.js';

export interface NotificationView {
  id: string;
  seq: number;
  type: string;
  payload: Record<string, unknown>;
  createdAt: Date;
  ackedAt: Date | null;
}

/** Delivers a stored notification to the user's connected devices (the realtime layer). */
export interface NotificationDelivery {
  deliver(userId: string, notification: StoredNotification): void;
}

export const noDelivery: NotificationDelivery = { deliver: () => undefined };

export const toView = ({ id, seq, type, payload, createdAt, ackedAt }: StoredNotification): NotificationView => ({ id, seq, type, payload, createdAt, ackedAt });

/**
 * Durable notifications: stored first, then handed to delivery. Anything delivery misses (no
 * socket, an instance or Redis blip, no ack) is replayed on reconnect or redelivered later.
 */
export function createNotificationService(deps: { repo: NotificationRepository; metrics: Metrics; delivery: () => NotificationDelivery }) {
  const { repo, metrics } = deps;
  return {
    async publish(userId: string, input: { eventId: string; type: string; payload: Record<string, unknown> }): Promise<StoredNotification> {
      const { notification, created } = await repo.add(userId, input);
      if (created) {
        metrics.notificationsStoredTotal.inc({ type: input.type });
        deps.delivery().deliver(userId, notification);
      }
      return notification;
    },

    async ack(userId: string, selector: AckSelector): Promise<number> {
      const acked = await repo.ack(userId, selector);
      if (acked > 0) metrics.notificationsAckedTotal.inc(acked);
      return acked;
    },

    async list(userId: string, options: { afterSeq?: number; beforeSeq?: number; unackedOnly?: boolean; limit: number }): Promise<NotificationView[]> {
      return (await repo.list(userId, options)).map(toView);
    },
  };
}

export type NotificationService = ReturnType<typeof createNotificationService>;
