import { Types } from 'mongoose';
import { isDuplicateKeyError, type MongoModels } from '../../models/mongo/index.js';

export interface StoredNotification {
  id: string;
  userId: string;
  seq: number;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
  createdAt: Date;
  ackedAt: Date | null;
}

export type AckSelector = { ids?: string[]; upToSeq?: number };

type NotificationDocument = Omit<StoredNotification, 'id' | 'ackedAt'> & { _id: Types.ObjectId; ackedAt?: Date | null };

const toNotification = (d: NotificationDocument): StoredNotification => ({
  id: d._id.toHexString(),
  userId: d.userId,
  seq: d.seq,
  eventId: d.eventId,
  type: d.type,
  payload: d.payload,
  createdAt: d.createdAt,
  ackedAt: d.ackedAt ?? null,
});

const OBJECT_ID = /^[a-f0-9]{24}$/;
const objectIds = (ids: string[]) => ids.filter((id) => OBJECT_ID.test(id)).map((id) => new Types.ObjectId(id));

/**
 * The per-user notification inbox in MongoDB. A notification is stored before anyone is told
 * about it. Idempotency and ordering come from unique indexes only (no transactions, no atomic
 * counters, which FerretDB does not guarantee): (userId, eventId) makes storing an event twice a
 * no-op, and (userId, seq) makes "last sequence + 1" safe: of two concurrent writers taking the
 * same number, one fails and retries with the next. A later insert therefore always gets a higher
 * sequence, so "everything after the last sequence I saw" never skips a notification.
 */
export function createNotificationRepository(models: MongoModels) {
  const { Notification } = models;
  const MAX_SEQ_ATTEMPTS = 20;

  async function lastSeq(userId: string): Promise<number> {
    const last = await Notification.findOne({ userId }, { seq: 1, _id: 0 }).sort({ seq: -1 }).lean<{ seq: number }>();
    return last?.seq ?? 0;
  }

  return {
    /** Stores a notification once per (user, event). Returns it and whether it is new. */
    async add(userId: string, input: { eventId: string; type: string; payload: Record<string, unknown> }): Promise<{ notification: StoredNotification; created: boolean }> {
      for (let attempt = 1; ; attempt++) {
        const existing = await Notification.findOne({ userId, eventId: input.eventId }).lean<NotificationDocument>();
        if (existing) return { notification: toNotification(existing), created: false };
        try {
          const doc = await Notification.create({
            userId,
            seq: (await lastSeq(userId)) + 1,
            eventId: input.eventId,
            type: input.type,
            payload: input.payload,
            createdAt: new Date(),
          });
          return { notification: toNotification(doc.toObject() as NotificationDocument), created: true };
        } catch (err) {
          // Another writer took this sequence (or stored this very event): look again.
          if (!isDuplicateKeyError(err) || attempt >= MAX_SEQ_ATTEMPTS) throw err;
          await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
        }
      }
    },

    /** What a (re)connecting device must get: everything after `afterSeq`, and anything unacknowledged. */
    async forReplay(userId: string, afterSeq: number, limit: number): Promise<StoredNotification[]> {
      const docs = await Notification.find({ userId, $or: [{ seq: { $gt: afterSeq } }, { ackedAt: null }] })
        .sort({ seq: 1 })
        .limit(limit)
        .lean<NotificationDocument[]>();
      return docs.map(toNotification);
    },

    /**
     * Notifications above each user's cursor (what connected devices may still miss), in sequence
     * order per user. One query per 200 users; when a chunk fills its limit, one user's backlog (a
     * device that never acks) could crowd out everyone else in it, so that chunk is asked again
     * per user, each with an equal share of the limit (at least 10).
     */
    async afterCursors(cursors: Array<{ userId: string; afterSeq: number }>, limitPerChunk: number): Promise<StoredNotification[]> {
      const out: StoredNotification[] = [];
      for (let i = 0; i < cursors.length; i += 200) {
        const chunk = cursors.slice(i, i + 200);
        const docs = await Notification.find({ $or: chunk.map((c) => ({ userId: c.userId, seq: { $gt: c.afterSeq } })) })
          .sort({ seq: 1 })
          .limit(limitPerChunk)
          .lean<NotificationDocument[]>();
        if (docs.length < limitPerChunk) {
          out.push(...docs.map(toNotification));
          continue;
        }
        const share = Math.max(10, Math.ceil(limitPerChunk / chunk.length));
        const perUser = await Promise.all(
          chunk.map((c) => Notification.find({ userId: c.userId, seq: { $gt: c.afterSeq } }).sort({ seq: 1 }).limit(share).lean<NotificationDocument[]>()),
        );
        out.push(...perUser.flat().map(toNotification));
      }
      return out;
    },

    /** The highest sequence the user has (0 when none). */
    lastSeq,

    async seqsOf(userId: string, ids: string[]): Promise<number[]> {
      const docs = await Notification.find({ userId, _id: { $in: objectIds(ids) } }, { seq: 1, _id: 0 }).lean<Array<{ seq: number }>>();
      return docs.map((d) => d.seq);
    },

    /** Acknowledges by ids and/or up to a sequence; returns how many were newly acknowledged. */
    async ack(userId: string, selector: AckSelector): Promise<number> {
      const or: object[] = [];
      if (selector.ids?.length) or.push({ _id: { $in: objectIds(selector.ids) } });
      if (selector.upToSeq !== undefined) or.push({ seq: { $lte: selector.upToSeq } });
      if (or.length === 0) return 0;
      const result = await Notification.updateMany({ userId, ackedAt: null, $or: or }, { $set: { ackedAt: new Date() } });
      return result.modifiedCount;
    },

    async list(userId: string, options: { afterSeq?: number; beforeSeq?: number; unackedOnly?: boolean; limit: number }): Promise<StoredNotification[]> {
      const filter: Record<string, unknown> = { userId };
      if (options.unackedOnly) filter.ackedAt = null;
      if (options.beforeSeq !== undefined) filter.seq = { $lt: options.beforeSeq };
      else if (options.afterSeq !== undefined) filter.seq = { $gt: options.afterSeq };
      const docs = await Notification.find(filter)
        .sort({ seq: options.afterSeq !== undefined ? 1 : -1 })
        .limit(options.limit)
        .lean<NotificationDocument[]>();
      return docs.map(toNotification);
    },

    async deleteForDiary(userId: string, diaryId: string): Promise<void> {
      await Notification.deleteMany({ userId, 'payload.diaryId': diaryId });
    },

    async deleteForUser(userId: string): Promise<void> {
      await Notification.deleteMany({ userId });
    },
  };
}

export type NotificationRepository = ReturnType<typeof createNotificationRepository>;
