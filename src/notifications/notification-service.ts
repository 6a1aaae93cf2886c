import type { Logger } from '../../kernel/logger.js';
import type { Metrics } from '../../kernel/metrics.js';
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

/** How long device acks are gathered before they are written together, and at most how many. */
const ACK_BATCH_MS = 20;
const ACK_BATCH_MAX = 1_000;

/**
 * Durable notifications: stored first, then handed to delivery. Anything delivery misses (no
 * socket, an instance or Redis blip, no ack) is replayed on reconnect or redelivered later.
 */
export function createNotificationService(deps: { repo: NotificationRepository; metrics: Metrics; delivery: () => NotificationDelivery; log: Logger }) {
  const { repo, metrics } = deps;
  const log = deps.log.child({ component: 'notifications' });

  // Device acks of deliveries arrive in bursts (a fan-out to many sockets): one bulk write per batch.
  let queued: Array<{ userId: string; id: string }> = [];
  let flushTimer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  function flush(): Promise<void> {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    if (queued.length === 0) return flushing;
    const batch = queued;
    queued = [];
    flushing = flushing
      .then(() => repo.ackMany(batch))
      .then(
        (count) => void (count > 0 && metrics.notificationsAckedTotal.inc(count)),
        (err: unknown) => log.warn({ err, acks: batch.length }, 'recording device acks failed; the inbox keeps them unacknowledged'),
      );
    return flushing;
  }

  return {
    /**
     * Stores the notification and hands it to delivery. A redelivered event finds it stored: it is
     * handed to delivery again unless acknowledged (its first delivery may have been lost with the
     * instance that stored it), and never when its entry has been deleted meanwhile (a tombstone).
     */
    async publish(userId: string, input: { eventId: string; type: string; payload: Record<string, unknown>; diaryId?: string | null }): Promise<{ notification: StoredNotification; created: boolean }> {
      const stored = await repo.add(userId, input);
      if (stored.created) metrics.notificationsStoredTotal.inc({ type: input.type });
      if (stored.created || stored.notification.ackedAt === null) deps.delivery().deliver(userId, stored.notification);
      return stored;
    },

    async ack(userId: string, selector: AckSelector): Promise<number> {
      const acked = await repo.ack(userId, selector);
      if (acked > 0) metrics.notificationsAckedTotal.inc(acked);
      return acked;
    },

    /** A device acknowledged a delivery: recorded in the next batch. */
    deviceAcked(userId: string, id: string): void {
      queued.push({ userId, id });
      if (queued.length >= ACK_BATCH_MAX) void flush();
      else flushTimer ??= setTimeout(() => void flush(), ACK_BATCH_MS);
    },

    async list(userId: string, options: { afterSeq?: number; beforeSeq?: number; unackedOnly?: boolean; limit: number }): Promise<NotificationView[]> {
      return (await repo.list(userId, options)).map(toView);
    },

    /** Writes the acks still queued (at shutdown). */
    flush,
  };
}

export type NotificationService = ReturnType<typeof createNotificationService>;
