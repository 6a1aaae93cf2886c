import type { Types } from 'mongoose';
import { announcementAckId, isDuplicateKeyError, type MongoModels } from '../../models/mongo/index.js';

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

/** Indexes of the documents a bulk insert refused as duplicates, or null when it failed otherwise. */
function writeErrorIndexes(err: unknown): Set<number> | null {
  const writeErrors = (err as { writeErrors?: Array<{ index: number; code: number }> | { index: number; code: number } }).writeErrors;
  if (!writeErrors) return null;
  const list = Array.isArray(writeErrors) ? writeErrors : [writeErrors];
  if (!list.every((e) => isDuplicateKeyError(e))) return null;
  return new Set(list.map((e) => e.index));
}

/**
 * Announcements, their per-user acks (`_id` = `<announcementId>:<userId>`: recording one is a
 * single insert, and a second insert of the same ack is refused) and their ack counters.
 */
export function createAnnouncementRepository(models: MongoModels) {
  const { Announcement: Model, AnnouncementAck, AnnouncementAckCount } = models;

  /** Which of these (announcement, user) pairs are acknowledged, for many users at once (`_id` lookups). */
  async function ackedPairs(pairs: Array<{ announcementId: string; userId: string }>): Promise<Set<string>> {
    if (pairs.length === 0) return new Set();
    const rows = await AnnouncementAck.find({ _id: { $in: pairs.map((p) => announcementAckId(p.announcementId, p.userId)) } }, { _id: 1 }).lean();
    return new Set(rows.map((r) => String(r._id)));
  }

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

    /** The newest announcements created at or after `since`, newest first. */
    async list(limit: number, since = new Date(0)): Promise<Announcement[]> {
      return (await Model.find({ createdAt: { $gte: since } }).sort({ createdAt: -1 }).limit(limit).lean<AnnouncementDocument[]>()).map(toAnnouncement);
    },

    /** Which of `ids` the user has acknowledged (`_id` lookups). */

    ackedPairs,

    /** Which of these announcements the user has acknowledged. */
    async ackedIds(userId: string, ids: string[]): Promise<Set<string>> {
      const acked = await ackedPairs(ids.map((announcementId) => ({ announcementId, userId })));
      return new Set(ids.filter((id) => acked.has(announcementAckId(id, userId))));
    },

    /** Records the ack; false when this user had already acknowledged it. */
    async ack(announcementId: string, userId: string): Promise<boolean> {
      try {
        await AnnouncementAck.collection.insertOne({ _id: announcementAckId(announcementId, userId), announcementId, userId, ackedAt: new Date() } as never);
        return true;
      } catch (err) {
        if (isDuplicateKeyError(err)) return false;
        throw err;
      }
    },

    /**
     * Records many acks in one call; returns those that were new (a repeated ack is refused by
     * its `_id` and left out).
     */
    async ackMany(acks: Array<{ announcementId: string; userId: string }>): Promise<Array<{ announcementId: string; userId: string }>> {
      const unique = [...new Map(acks.map((a) => [announcementAckId(a.announcementId, a.userId), a])).entries()];
      if (unique.length === 0) return [];
      const ackedAt = new Date();
      const docs = unique.map(([_id, a]) => ({ _id, announcementId: a.announcementId, userId: a.userId, ackedAt }));
      try {
        await AnnouncementAck.collection.insertMany(docs as never, { ordered: false });
        return unique.map(([, a]) => a);
      } catch (err) {
        const refused = writeErrorIndexes(err);
        if (!refused) throw err;
        return unique.filter((_, i) => !refused.has(i)).map(([, a]) => a);
      }
    },

    /**
     * Adds to this instance's counter of an announcement. The caller must be the counter's only
     * writer and must not call again for the same counter before this returns (FerretDB applies
     * `$inc` read-then-write).
     */
    async addAcks(announcementId: string, counterId: string, count: number): Promise<void> {
      await AnnouncementAckCount.updateOne({ _id: `${announcementId}|${counterId}` }, { $inc: { count }, $setOnInsert: { announcementId } }, { upsert: true });
    },

    /** Ack counts of announcements: the sum of their counters. */
    async ackCounts(announcementIds: string[]): Promise<Map<string, number>> {
      const counts = new Map(announcementIds.map((id) => [id, 0]));
      if (announcementIds.length === 0) return counts;
      const rows = await AnnouncementAckCount.find({ announcementId: { $in: announcementIds } }, { announcementId: 1, count: 1 }).lean();
      for (const r of rows) counts.set(r.announcementId, (counts.get(r.announcementId) ?? 0) + r.count);
      return counts;
    },

    async deleteAcksOfUser(userId: string): Promise<void> {
      await AnnouncementAck.deleteMany({ userId });
    },
  };
}

export type AnnouncementRepository = ReturnType<typeof createAnnouncementRepository>;
