import type { Metrics } from '../../kernel/metrics.js';
import type { AckSelector, NotificationInput, NotificationRepository, StoredNotification } from './notification-repository.js';

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
export function createNotificationService(deps: { repo: NotificationRepository; metrics: Metrics; delivery: NotificationDelivery }) {
  const { repo, metrics, delivery } = deps;
  return {
    /** Stores the notification (once per event); `deliver` then hands it to the devices. */
    async store(userId: string, input: { eventId: string; type: string; payload: Record<string, unknown>; diaryId?: string | null }): Promise<{ notification: StoredNotification; created: boolean }> {
      const stored = await repo.add(userId, input);
      if (stored.created) metrics.notificationsStoredTotal.inc({ type: input.type });
      return stored;
    },

    /** Stores several notifications of one user, in order (each once per event). */
    async storeMany(userId: string, inputs: NotificationInput[]): Promise<Array<{ notification: StoredNotification; created: boolean }>> {
      const stored = await repo.addMany(userId, inputs);
      for (const [i, s] of stored.entries()) if (s.created) metrics.notificationsStoredTotal.inc({ type: inputs[i]!.type });
      return stored;
    },

    /**
     * Hands a stored notification to delivery. A redelivered event finds it stored: it is handed
     * to delivery again unless acknowledged (its first delivery may have been lost with the
     * instance that stored it), and never when its entry has been deleted meanwhile (a tombstone).
     */
    deliver(userId: string, stored: { notification: StoredNotification; created: boolean }): void {
      if (stored.created || stored.notification.ackedAt === null) delivery.deliver(userId, stored.notification);
    },

    /** Notifications about a deleted entry become tombstones. */
    removeForDiary: (userId: string, diaryId: string) => repo.removeForDiary(userId, diaryId),

    async ack(userId: string, selector: AckSelector): Promise<number> {
      const acked = await repo.ack(userId, selector);
      if (acked > 0) metrics.notificationsAckedTotal.inc(acked);
      return acked;
    },

    /** The highest sequence of each user's inbox (users without one are absent). */
    heads(userIds: string[]): Promise<Map<string, number>> {
      return repo.heads(userIds);
    },

    async list(userId: string, options: { afterSeq?: number; beforeSeq?: number; unackedOnly?: boolean; limit: number }): Promise<NotificationView[]> {
      return (await repo.list(userId, options)).map(toView);
    },
  };
}

export type NotificationService = ReturnType<typeof createNotificationService>;
