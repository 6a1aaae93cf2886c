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

/**
 * Announcements: an admin writes one, every user gets it live or on their next connect, and each
 * user's ack is counted once; admins see the count change live.
 */
export function createAnnouncementService(deps: { repo: AnnouncementRepository; channel: () => AnnouncementChannel }) {
  const { repo } = deps;
  return {
    async create(adminId: string, input: { title: string; body: string }): Promise<Announcement> {
      const announcement = await repo.create({ ...input, createdBy: adminId });
      deps.channel().broadcast(announcement);
      return announcement;
    },

    async ack(userId: string, announcementId: string): Promise<{ newlyAcked: boolean }> {
      if (!(await repo.find(announcementId))) throw new NotFoundError('Announcement');
      const newlyAcked = await repo.ack(announcementId, userId);
      if (newlyAcked) deps.channel().ackCountChanged(announcementId, await repo.ackCount(announcementId));
      return { newlyAcked };
    },

    async listWithCounts(limit: number): Promise<Array<Announcement & { acks: number }>> {
      const list = await repo.list(limit);
      return Promise.all(list.map(async (a) => ({ ...a, acks: await repo.ackCount(a.id) })));
    },

    async pendingFor(userId: string): Promise<Announcement[]> {
      return repo.unackedFor(userId, new Date(Date.now() - ANNOUNCEMENT_WINDOW_MS), 50);
    },

    async listFor(userId: string): Promise<Array<Announcement & { acked: boolean }>> {
      const list = (await repo.list(50)).filter((a) => a.createdAt.getTime() >= Date.now() - ANNOUNCEMENT_WINDOW_MS);
      const acked = await repo.ackedIds(userId, list.map((a) => a.id));
      return list.map((a) => ({ ...a, acked: acked.has(a.id) }));
    },
  };
}

export type AnnouncementService = ReturnType<typeof createAnnouncementService>;
