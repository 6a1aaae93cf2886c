import { createBatcher } from '../../kernel/batcher.js';
import type { Logger } from '../../kernel/logger.js';
import type { Metrics } from '../../kernel/metrics.js';
import type { NotificationRepository } from './notification-repository.js';

/** How long device acks are gathered before they are written together, and at most how many. */
const BATCH_MS = 20;
const BATCH_MAX = 1_000;

export interface DeliveryAcks {
  /** A device acknowledged a delivery: recorded in the next batch. */
  deviceAcked(userId: string, notificationId: string): void;
  /** Writes what is queued (at shutdown). */
  flush(): Promise<void>;
}

/**
 * The inbox's record of device acks. They arrive in bursts (a fan-out reaches many sockets at
 * once), so they are written in batches, one store call each, in order; a failed batch is logged
 * and the notifications stay unacknowledged (replayed on the next connect, deduplicated by id).
 */
export function createDeliveryAcks(deps: { repo: NotificationRepository; metrics: Metrics; log: Logger }): DeliveryAcks {
  const log = deps.log.child({ component: 'delivery-acks' });
  const batcher = createBatcher<{ userId: string; id: string }>(
    async (batch) => {
      const count = await deps.repo.ackMany(batch);
      if (count > 0) deps.metrics.notificationsAckedTotal.inc(count);
    },
    { maxDelayMs: BATCH_MS, maxItems: BATCH_MAX, onError: (err, batch) => log.warn({ err, acks: batch.length }, 'recording device acks failed; the inbox keeps them unacknowledged') },
  );
  return {
    deviceAcked: (userId, id) => batcher.add({ userId, id }),
    flush: batcher.flush,
  };
}
