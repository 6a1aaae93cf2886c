import { createBatcher } from '../../kernel/batcher.js';
import { NotFoundError } from '../../kernel/errors.js';
import type { AnnouncementRepository } from './announcement-repository.js';

/** How long ack counts are gathered before admins are told the new count. */
export const ACK_COUNT_INTERVAL_MS = 1000;

/** How long device acks are gathered before they are written together, and at most how many. */
const ACK_BATCH_MS = 20;
const ACK_BATCH_MAX = 1_000;

/** Announcement ids known to exist, so an ack of a known one is a single insert. */
const KNOWN_IDS_MAX = 1_000;

/** Where ack counts go (admins' live view). */
export interface AckCountSink {
  ackCountChanged(announcementId: string, acks: number): void;
}

/**
 * Each user's ack of an announcement, recorded once, and the count admins see.
 *
 * Counting never recounts: new acks are added to this instance's counter in the store (its own
 * document, `counterId` = the instance id, so it has one writer), at most once per
 * `ackCountIntervalMs` per announcement, and admins are told the sum of all instances' counters.
 * Acks arriving while a write is in flight ride on the next one, so writes to one counter never
 * overlap. A process that dies loses at most the acks of its last interval from the count (the
 * acks themselves are stored); a graceful stop writes them.
 */
export function createAnnouncementAcks(deps: { repo: AnnouncementRepository; counts: AckCountSink; counterId: string; ackCountIntervalMs?: number; onError?: (err: unknown) => void }) {
  const { repo } = deps;
  const intervalMs = deps.ackCountIntervalMs ?? ACK_COUNT_INTERVAL_MS;
  const known = new Set<string>();
  /** Per announcement: acks not yet added to the counter, and the write in flight or scheduled. */
  const counting = new Map<string, { pending: number; timer?: NodeJS.Timeout; writing?: Promise<void> }>();

  function remember(id: string): void {
    if (known.size >= KNOWN_IDS_MAX) known.delete(known.values().next().value!);
    known.add(id);
  }

  function writeCount(announcementId: string): Promise<void> {
    const entry = counting.get(announcementId)!;
    entry.timer = undefined;
    const count = entry.pending;
    entry.pending = 0;
    entry.writing = repo
      .addAcks(announcementId, deps.counterId, count)
      .then(async () => {
        const total = (await repo.ackCounts([announcementId])).get(announcementId) ?? 0;
        deps.counts.ackCountChanged(announcementId, total);
      })
      .catch((err: unknown) => {
        entry.pending += count; // not written: the next write carries it
        deps.onError?.(err);
      })
      .finally(() => {
        entry.writing = undefined;
        if (entry.pending > 0) schedule(announcementId);
        else if (!entry.timer) counting.delete(announcementId);
      });
    return entry.writing;
  }

  function schedule(announcementId: string): void {
    let entry = counting.get(announcementId);
    if (!entry) counting.set(announcementId, (entry = { pending: 0 }));
    if (entry.timer || entry.writing) return;
    entry.timer = setTimeout(() => void writeCount(announcementId), intervalMs);
    entry.timer.unref();
  }

  function counted(announcementId: string): void {
    schedule(announcementId);
    counting.get(announcementId)!.pending += 1;
  }

  // Device acks arrive in bursts (an announcement reaches every socket at once): one insert per batch.
  const deviceAcks = createBatcher<{ userId: string; announcementId: string }>(
    async (batch) => {
      for (const { announcementId } of await repo.ackMany(batch)) counted(announcementId);
    },
    { maxDelayMs: ACK_BATCH_MS, maxItems: ACK_BATCH_MAX, onError: (err) => deps.onError?.(err) },
  );

  return {
    /** An announcement just created here (so its acks need no lookup). */
    remember,

    /** Records a user's ack (REST, socket); not found for an announcement that does not exist. */
    async ack(userId: string, announcementId: string): Promise<{ newlyAcked: boolean }> {
      if (!known.has(announcementId)) {
        if (!(await repo.find(announcementId))) throw new NotFoundError('Announcement');
        remember(announcementId);
      }
      const newlyAcked = await repo.ack(announcementId, userId);
      if (newlyAcked) counted(announcementId);
      return { newlyAcked };
    },

    /** A device acknowledged a delivery of an announcement that exists: recorded in the next batch. */
    deviceAcked(userId: string, announcementId: string): void {
      deviceAcks.add({ userId, announcementId });
    },

    /** Writes the acks and counts still pending (at shutdown). */
    async close(): Promise<void> {
      await deviceAcks.flush();
      const writes: Array<Promise<void>> = [];
      for (const [id, entry] of counting) {
        if (entry.writing) writes.push(entry.writing);
        if (entry.timer) {
          clearTimeout(entry.timer);
          writes.push(writeCount(id));
        }
      }
      await Promise.all(writes);
    },
  };
}

export type AnnouncementAcks = ReturnType<typeof createAnnouncementAcks>;
