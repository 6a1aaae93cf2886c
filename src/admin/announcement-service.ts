import { NotFoundError } from '../platform/errors.js';
import type { Announcement, AnnouncementRepository } from './announcement-repository.js';

/** How announcements reach sockets and ack counts reach admins (the realtime layer). */
export interface AnnouncementChannel {
  broadcast(announcement: Announcement): void;
  ackCountChanged(announcementId: string, acks: number): void;
}

export const noAnnouncementChannel: AnnouncementChannel = { broadcast: () => undefined, ackCountChanged: () => undefined };

/** Announcements stay deliverable (on next connect) for this long. */
export const ANNOUNCEMENT_WINDOW_MS = 30 * 86_400_000;

/** How long ack counts are gathered before admins are told the new count. */
export const ACK_COUNT_INTERVAL_MS = 1000;

/**
 * Announcements: an admin writes one, every user gets it live or on their next connect, and each
 * user's ack is counted once; admins see the count change live.
 *
 * Counting is coalesced: an announcement to N users brings N acks within seconds, and a count
 * after each one would read the whole ack range N times (O(N^2), and a full scan each on a store
 * without secondary indexes). Instead the first new ack schedules one count `ackCountIntervalMs`
 * later; acks arriving meanwhile ride on it, and an ack after the count schedules the next, so
 * the last count admins see includes the last ack.
 */
export function createAnnouncementService(deps: {
  repo: AnnouncementRepository;
  channel: () => AnnouncementChannel;
  ackCountIntervalMs?: number;
  onError?: (err: unknown) => void;
}) {
  const { repo } = deps;
  const countsDue = new Map<string, NodeJS.Timeout>();

  const scheduleCount = (announcementId: string) => {
    if (countsDue.has(announcementId)) return;
    const timer = setTimeout(() => {
      countsDue.delete(announcementId);
      repo.ackCount(announcementId).then(
        (acks) => deps.channel().ackCountChanged(announcementId, acks),
        (err: unknown) => deps.onError?.(err),
      );
    }, deps.ackCountIntervalMs ?? ACK_COUNT_INTERVAL_MS);
    timer.unref();
    countsDue.set(announcementId, timer);
  };

  return {
    async create(adminId: string, input: { title: string; body: string }): Promise<Announcement> {
      const announcement = await repo.create({ ...input, createdBy: adminId });
      deps.channel().broadcast(announcement);
      return announcement;
    },

    async ack(userId: string, announcementId: string): Promise<{ newlyAcked: boolean }> {
      if (!(await repo.find(announcementId))) throw new NotFoundError('Announcement');
      const newlyAcked = await repo.ack(announcementId, userId);
      if (newlyAcked) scheduleCount(announcementId);
      return { newlyAcked };
    },

    async listWithCounts(limit: number): Promise<Array<Announcement & { acks: number }>> {
      const list = await repo.list(limit);
      return Promise.all(list.map(async (a) => ({ ...a, acks: await repo.ackCount(a.id) })));
    },

    /** Announcements created since `since` (for instances looking for a broadcast they missed). */
    createdSince(since: Date): Promise<Announcement[]> {
      return repo.createdSince(since);
    },

    async pendingFor(userId: string): Promise<Announcement[]> {
      return repo.unackedFor(userId, new Date(Date.now() - ANNOUNCEMENT_WINDOW_MS), 50);
    },

    async listFor(userId: string): Promise<Array<Announcement & { acked: boolean }>> {
      const list = (await repo.list(50)).filter((a) => a.createdAt.getTime() >= Date.now() - ANNOUNCEMENT_WINDOW_MS);
      const acked = await repo.ackedIds(userId, list.map((a) => a.id));
      return list.map((a) => ({ ...a, acked: acked.has(a.id) }));
    },

    /** Drops counts not yet made (at shutdown). */
    close(): void {
      for (const timer of countsDue.values()) clearTimeout(timer);
      countsDue.clear();
    },
  };
}

export type AnnouncementService = ReturnType<typeof createAnnouncementService>;
