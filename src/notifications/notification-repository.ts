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

interface NotificationDocument {
  _id: Types.ObjectId;
  userId: string;
  seq: number;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
  createdAt: Date;
  ackedAt?: Date | null;
}

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
 * about it; the unique (userId, eventId) index makes storing idempotent, and a per-user counter
 * gives every notification an increasing sequence for replay. No transactions needed.
 */
export function createNotificationRepository(models: MongoModels) {
  const { Notification, Counter } = models;

  async function nextSeq(userId: string): Promise<number> {
    const counter = await Counter.findOneAndUpdate({ _id: `notifications:${userId}` }, { $inc: { seq: 1 } }, { upsert: true, new: true }).lean();
    return counter!.seq;
  }

  return {
    /** Stores a notification once per (user, event). Returns it and whether it is new. */
    async add(userId: string, input: { eventId: string; type: string; payload: Record<string, unknown> }): Promise<{ notification: StoredNotification; created: boolean }> {
      const existing = await Notification.findOne({ userId, eventId: input.eventId }).lean<NotificationDocument>();
      if (existing) return { notification: toNotification(existing), created: false };
      const seq = await nextSeq(userId);
      try {
        const doc = await Notification.create({ userId, seq, eventId: input.eventId, type: input.type, payload: input.payload, createdAt: new Date() });
        return { notification: toNotification(doc.toObject() as NotificationDocument), created: true };
      } catch (err) {
        // A concurrent delivery of the same event won the race: the sequence number is skipped.
        if (!isDuplicateKeyError(err)) throw err;
        const winner = await Notification.findOne({ userId, eventId: input.eventId }).lean<NotificationDocument>();
        return { notification: toNotification(winner!), created: false };
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

    /** Unacknowledged notifications of these users not delivered since `before`. */
    async dueForRedelivery(userIds: string[], before: Date, limit: number): Promise<StoredNotification[]> {
      if (userIds.length === 0) return [];
      const docs = await Notification.find({
        userId: { $in: userIds },
        ackedAt: null,
        $or: [{ lastDeliveredAt: null }, { lastDeliveredAt: { $lt: before } }],
      })
        .sort({ seq: 1 })
        .limit(limit)
        .lean<NotificationDocument[]>();
      return docs.map(toNotification);
    },

    async markDelivered(ids: string[]): Promise<void> {
      if (ids.length === 0) return;
      await Notification.updateMany({ _id: { $in: objectIds(ids) } }, { $set: { lastDeliveredAt: new Date() }, $inc: { deliveries: 1 } });
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
      await Counter.deleteOne({ _id: `notifications:${userId}` });
    },
  };
}

export type NotificationRepository = ReturnType<typeof createNotificationRepository>;
