import { createCoalescedReads } from '../../kernel/coalesced-reads.js';
import { announcementAckId } from '../../models/mongo/index.js';
import type { AnnouncementAcks } from './announcement-acks.js';
import type { Announcement, AnnouncementRepository } from './announcement-repository.js';

/** How announcements reach sockets (the realtime layer). */
export interface AnnouncementBroadcast {
  broadcast(announcement: Announcement): void;
}

/** Announcements stay deliverable (on next connect) for this long. */
export const ANNOUNCEMENT_WINDOW_MS = 30 * 86_400_000;

/** How long an instance reuses the recent announcements it read (every connect asks for them). */
const RECENT_REUSE_MS = 1_000;

/**
 * What users and the realtime layer read: recent announcements and which a user has acknowledged.
 * The recent list is the same for everyone, so one read serves every connect of the next second
 * (concurrent callers share it); `invalidateRecent` drops it as soon as this instance learns of a
 * new announcement (it created one, or a fan-out arrived), and a read that was in flight when that
 * happened is used by its callers but not kept.
 */
export function createAnnouncementQueries(repo: AnnouncementRepository, options: { reuseMs?: number } = {}) {
  const reuseMs = options.reuseMs ?? RECENT_REUSE_MS;
  let cached: { list: Promise<Announcement[]>; readAtMs: number; version: number } | undefined;
  let version = 0;
  const recent = (): Promise<Announcement[]> => {
    const now = Date.now();
    if (cached && cached.version === version && now - cached.readAtMs < reuseMs) return cached.list;
    const entry = { list: repo.list(50, new Date(now - ANNOUNCEMENT_WINDOW_MS)), readAtMs: now, version };
    cached = entry;
    entry.list.catch(() => {
      if (cached === entry) cached = undefined;
    });
    return entry.list;
  };
  // Every connect asks which active announcements its user acknowledged: concurrent connects share
  // one `_id $in` query (a reconnect storm costs a few queries, not one per socket).
  const ackReads = createCoalescedReads(
    async (pairs: Array<{ announcementId: string; userId: string }>) => {
      const acked = await repo.ackedPairs(pairs);
      return new Map(pairs.map((p) => [p, acked.has(announcementAckId(p.announcementId, p.userId))]));
    },
    { maxKeys: 500 },
  );
  return {
    /** A new announcement exists: the next read goes to the store. */
    invalidateRecent(): void {
      version++;
      cached = undefined;
    },

    /** Announcements created since `since` (for instances looking for a broadcast they missed). */
    createdSince: (since: Date) => repo.createdSince(since),

    /** Active announcements of the delivery window the user has not acknowledged, oldest first. */
    async pendingFor(userId: string): Promise<Announcement[]> {
      const now = Date.now();
      const active = (await recent()).filter((a) => a.expiresAt === null || a.expiresAt.getTime() > now);
      const acked = await Promise.all(active.map((a) => ackReads.load({ announcementId: a.id, userId })));
      return active.filter((_, i) => acked[i] !== true).reverse();
    },

    async listFor(userId: string): Promise<Array<Announcement & { acked: boolean }>> {
      const list = await recent();
      const acked = await repo.ackedIds(userId, list.map((a) => a.id));
      return list.map((a) => ({ ...a, acked: acked.has(a.id) }));
    },

    async listWithCounts(limit: number): Promise<Array<Announcement & { acks: number }>> {
      const list = await repo.list(limit);
      const counts = await repo.ackCounts(list.map((a) => a.id));
      return list.map((a) => ({ ...a, acks: counts.get(a.id) ?? 0 }));
    },
  };
}

export type AnnouncementQueries = ReturnType<typeof createAnnouncementQueries>;

/**
 * Announcements: an admin writes one, every user gets it live or on their next connect, and each
 * user's ack is counted once; admins see the count change live.
 */
export function createAnnouncementService(deps: { repo: AnnouncementRepository; queries: AnnouncementQueries; acks: AnnouncementAcks; channel: AnnouncementBroadcast }) {
  const { repo, queries, acks } = deps;
  return {
    async create(adminId: string, input: { title: string; body: string }): Promise<Announcement> {
      const announcement = await repo.create({ ...input, createdBy: adminId });
      queries.invalidateRecent();
      acks.remember(announcement.id);
      deps.channel.broadcast(announcement);
      return announcement;
    },
    ack: (userId: string, announcementId: string) => acks.ack(userId, announcementId),
    listWithCounts: queries.listWithCounts,
    listFor: queries.listFor,
  };
}

export type AnnouncementService = ReturnType<typeof createAnnouncementService>;
