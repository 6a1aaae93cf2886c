import type { Types } from 'mongoose';
import { isDuplicateKeyError, type MongoModels } from '../../models/mongo/index.js';

export interface Announcement {
  id: string;
  title: string;
  body: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
}

interface AnnouncementDocument {
  _id: Types.ObjectId;
  title: string;
  body: string;
  createdBy: string;
  createdAt: Date;
  expiresAt?: Date | null;
}

const toAnnouncement = (d: AnnouncementDocument): Announcement => ({
  id: d._id.toHexString(),
  title: d.title,
  body: d.body,
  createdBy: d.createdBy,
  createdAt: d.createdAt,
  expiresAt: d.expiresAt ?? null,
});

const isObjectId = (id: string) => /^[a-f0-9]{24}$/.test(id);

/** Announcements and their per-user acks; a user's ack is recorded once (unique index). */
export function createAnnouncementRepository(models: MongoModels) {
  const { Announcement: Model, AnnouncementAck } = models;
  const active = (since: Date) => ({ createdAt: { $gte: since }, $or: [{ expiresAt: null }, { expiresAt: { $gt: new Date() } }] });

  return {
    async create(input: { title: string; body: string; createdBy: string; expiresAt?: Date | null }): Promise<Announcement> {
      const doc = await Model.create({ ...input, expiresAt: input.expiresAt ?? null, createdAt: new Date() });
      return toAnnouncement(doc.toObject() as AnnouncementDocument);
    },

    async find(id: string): Promise<Announcement | null> {
      if (!isObjectId(id)) return null;
      const doc = await Model.findById(id).lean<AnnouncementDocument>();
      return doc ? toAnnouncement(doc) : null;
    },

    /** Announcements created at or after `since`, oldest first (at most 100). */
    async createdSince(since: Date): Promise<Announcement[]> {
      return (await Model.find({ createdAt: { $gte: since } }).sort({ createdAt: 1 }).limit(100).lean<AnnouncementDocument[]>()).map(toAnnouncement);
    },

    async list(limit: number): Promise<Announcement[]> {
      return (await Model.find().sort({ createdAt: -1 }).limit(limit).lean<AnnouncementDocument[]>()).map(toAnnouncement);
    },

    /** Active announcements since `since` that the user has not acknowledged, oldest first. */
    async unackedFor(userId: string, since: Date, limit: number): Promise<Announcement[]> {
      const acked = new Set((await AnnouncementAck.find({ userId }, { announcementId: 1, _id: 0 }).lean()).map((a) => a.announcementId));
      const docs = await Model.find(active(since)).sort({ createdAt: 1 }).limit(limit + acked.size).lean<AnnouncementDocument[]>();
      return docs.map(toAnnouncement).filter((a) => !acked.has(a.id)).slice(0, limit);
    },

    async ackedIds(userId: string, ids: string[]): Promise<Set<string>> {
      const rows = await AnnouncementAck.find({ userId, announcementId: { $in: ids } }, { announcementId: 1, _id: 0 }).lean();
      return new Set(rows.map((r) => r.announcementId));
    },

    /** Records the ack; false when this user had already acknowledged it. */
    async ack(announcementId: string, userId: string): Promise<boolean> {
      try {
        await AnnouncementAck.create({ announcementId, userId, ackedAt: new Date() });
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },

    async ackCount(announcementId: string): Promise<number> {
      return AnnouncementAck.countDocuments({ announcementId });
    },

    async deleteAcksOfUser(userId: string): Promise<void> {
      await AnnouncementAck.deleteMany({ userId });
    },
  };
}

export type AnnouncementRepository = ReturnType<typeof createAnnouncementRepository>;
