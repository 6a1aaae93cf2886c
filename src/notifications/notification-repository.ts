import type { AnyBulkWriteOperation } from 'mongoose';
import { isDuplicateKeyError, notificationId, type MongoModels } from '../../models/mongo/index.js';

export interface StoredNotification {
  /** `<userId>:<seq>` */
  id: string;
  userId: string;
  seq: number;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
  diaryId: string | null;
  createdAt: Date;
  ackedAt: Date | null;
}

export type NotificationInput = { eventId: string; type: string; payload: Record<string, unknown>; diaryId?: string | null };

export type AckSelector = { ids?: string[]; upToSeq?: number };

/** A tombstone's type: the notification of a deleted entry, kept only to hold its sequence. */
export const REMOVED_TYPE = 'removed';

type NotificationDocument = Omit<StoredNotification, 'id' | 'ackedAt' | 'diaryId'> & { _id: string; acked: boolean; ackedAt?: Date | null; diaryId?: string | null };

const toNotification = (d: NotificationDocument): StoredNotification => ({
  id: d._id,
  userId: d.userId,
  seq: d.seq,
  eventId: d.eventId,
  type: d.type,
  payload: d.payload,
  diaryId: d.diaryId ?? null,
  createdAt: d.createdAt,
  ackedAt: d.ackedAt ?? null,
});

const ID = /^(\d{1,20}):(\d{1,15})$/;

/** The owner and sequence a notification id names, or null for anything else. */
export function parseNotificationId(id: string): { userId: string; seq: number } | null {
  const m = ID.exec(id);
  return m ? { userId: m[1]!, seq: Number(m[2]) } : null;
}

/** Ids of `userId`'s own notifications among `ids` (another user's id or garbage is dropped). */
const ownIds = (userId: string, ids: string[]) => [...new Set(ids)].filter((id) => parseNotificationId(id)?.userId === userId);

/**
 * Sequences a window covers beyond the page it fills (room for tombstones and holes); each
 * further window is four times larger, up to WINDOW_MAX sequences.
 */
const WINDOW_SLACK = 8;
const WINDOW_MAX = 256;
/** Users per heads query: FerretDB matches every fetched document against the whole `$in` list. */
const HEADS_CHUNK = 100;

/**
 * The per-user notification inbox in MongoDB. A notification is stored before anyone is told
 * about it. No transactions, no atomic counters (FerretDB has neither): a sequence is reserved on
 * the user's head document, and the notification's `_id` (`<userId>:<seq>`) is what makes it
 * unique. Two writers that got the same number from a lost `$inc` collide on that `_id`, and the
 * loser reserves again, so every notification gets a number higher than any stored before it; the
 * (userId, eventId) index makes storing an event twice a no-op. Numbers are increasing, not
 * gapless: a reservation whose insert failed leaves a hole.
 *
 * Reads of a user's sequence range go window by window up to the head, so each query touches a
 * bounded slice of that user's inbox however long it is.
 */
export function createNotificationRepository(models: MongoModels, options: { maxReserveAttempts?: number } = {}) {
  const { Notification, NotificationHead } = models;
  const maxAttempts = options.maxReserveAttempts ?? 20;

  async function reserve(userId: string): Promise<number> {
    const head = await NotificationHead.findOneAndUpdate({ _id: userId }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'after' }).lean();
    return head!.seq;
  }

  async function head(userId: string): Promise<number> {
    return (await NotificationHead.findById(userId, { seq: 1 }).lean())?.seq ?? 0;
  }

  /**
   * Live notifications of a user with from < seq <= to (or, descending, to <= seq < from), in
   * sequence order, at most `limit`, window by window. Each window asks for its notifications by
   * `_id` (`<userId>:<seq>` names the owner): point lookups in the primary index, on FerretDB too,
   * where a range would be filtered over all of the user's notifications.
   */
  async function scan(userId: string, range: { from: number; to: number; descending?: boolean }, limit: number): Promise<StoredNotification[]> {
    const out: StoredNotification[] = [];
    const { descending = false } = range;
    let window = Math.min(WINDOW_MAX, limit + WINDOW_SLACK);
    let edge = range.from;
    while (out.length < limit && (descending ? edge > range.to : edge < range.to)) {
      const next = descending ? Math.max(range.to, edge - window) : Math.min(range.to, edge + window);
      const seqs = descending ? Array.from({ length: edge - next }, (_, i) => edge - 1 - i) : Array.from({ length: next - edge }, (_, i) => edge + 1 + i);
      const docs = await Notification.find({ _id: { $in: seqs.map((seq) => notificationId(userId, seq)) } })
        .sort({ seq: descending ? -1 : 1 })
        .lean<NotificationDocument[]>();
      for (const d of docs) if (d.type !== REMOVED_TYPE && out.length < limit) out.push(toNotification(d));
      edge = next;
      window = Math.min(WINDOW_MAX, window * 4);
    }
    return out;
  }

  /**
   * Unacknowledged notifications of a user in a sequence range, in order: one query, since the
   * (userId, acked) equality already narrows it to what nobody has acknowledged, a small set.
   */
  async function unacked(userId: string, seq: { $gt?: number; $lt?: number; $lte?: number }, limit: number, descending = false): Promise<StoredNotification[]> {
    const docs = await Notification.find({ userId, acked: false, ...(Object.keys(seq).length > 0 ? { seq } : {}) })
      .sort({ seq: descending ? -1 : 1 })
      .limit(limit)
      .lean<NotificationDocument[]>();
    return docs.filter((d) => d.type !== REMOVED_TYPE).map(toNotification);
  }

  return {
    /**
     * Stores a notification once per (user, event): two calls on the usual path (reserve a number,
     * insert). Returns it and whether it is new; an event stored before answers with what was stored
     * (its tombstone, if its entry has been deleted since).
     */
    async add(userId: string, input: NotificationInput): Promise<{ notification: StoredNotification; created: boolean }> {
      for (let attempt = 1; ; attempt++) {
        try {
          // A first reservation for a user can collide too: two upserts of the same head on FerretDB.
          const seq = await reserve(userId);
          const doc: NotificationDocument = {
            _id: notificationId(userId, seq),
            userId,
            seq,
            eventId: input.eventId,
            type: input.type,
            payload: input.payload,
            diaryId: input.diaryId ?? null,
            acked: false,
            ackedAt: null,
            createdAt: new Date(),
          };
          await Notification.collection.insertOne(doc as never);
          return { notification: toNotification(doc), created: true };
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
          const existing = await Notification.findOne({ userId, eventId: input.eventId }).lean<NotificationDocument>();
          if (existing) return { notification: toNotification(existing), created: false };
          // Another writer holds this number (a lost `$inc` on FerretDB): take the next one.
          if (attempt >= maxAttempts) throw err;
        }
      }
    },

    /**
     * Stores several notifications of one user in order, for the price of one: a single
     * reservation of as many numbers and one ordered insert. When that insert stops at a
     * duplicate (an event stored before, or numbers another writer also got from a lost `$inc`),
     * what it inserted keeps its numbers and the rest are stored one by one with `add`, so each
     * still gets a number above those before it.
     */
    async addMany(userId: string, inputs: NotificationInput[]): Promise<Array<{ notification: StoredNotification; created: boolean }>> {
      if (inputs.length <= 1) return inputs.length === 0 ? [] : [await this.add(userId, inputs[0]!)];
      let last: number;
      try {
        last = (await NotificationHead.findOneAndUpdate({ _id: userId }, { $inc: { seq: inputs.length } }, { upsert: true, returnDocument: 'after' }).lean())!.seq;
      } catch (err) {
        // Two first reservations of a user collide on FerretDB (two upserts of one head): `add` retries.
        if (!isDuplicateKeyError(err)) throw err;
        const out: Array<{ notification: StoredNotification; created: boolean }> = [];
        for (const input of inputs) out.push(await this.add(userId, input));
        return out;
      }
      const createdAt = new Date();
      const docs = inputs.map((input, i): NotificationDocument => {
        const seq = last - inputs.length + 1 + i;
        return { _id: notificationId(userId, seq), userId, seq, eventId: input.eventId, type: input.type, payload: input.payload, diaryId: input.diaryId ?? null, acked: false, ackedAt: null, createdAt };
      });
      try {
        await Notification.collection.insertMany(docs as never[], { ordered: true });
        return docs.map((d) => ({ notification: toNotification(d), created: true }));
      } catch (err) {
        if (!isDuplicateKeyError(err) && !(err as { writeErrors?: Array<{ code?: number }> }).writeErrors?.some((e) => isDuplicateKeyError(e))) throw err;
        const found = await Notification.find({ _id: { $in: docs.map((d) => d._id) } }, { eventId: 1 }).lean<Array<{ _id: string; eventId: string }>>();
        const ours = new Set(found.filter((f) => docs.some((d) => d._id === f._id && d.eventId === f.eventId)).map((f) => f._id));
        const out: Array<{ notification: StoredNotification; created: boolean }> = [];
        for (const [i, d] of docs.entries()) out.push(ours.has(d._id) ? { notification: toNotification(d), created: true } : await this.add(userId, inputs[i]!));
        return out;
      }
    },

    /** The highest sequence handed out to the user (0 when none). */
    head,

    /** Heads of many users at once (`_id` lookups); users without one are absent. */
    async heads(userIds: string[]): Promise<Map<string, number>> {
      const out = new Map<string, number>();
      for (let i = 0; i < userIds.length; i += HEADS_CHUNK) {
        const docs = await NotificationHead.find({ _id: { $in: userIds.slice(i, i + HEADS_CHUNK) } }, { seq: 1 }).lean();
        for (const d of docs) out.set(d._id, d.seq);
      }
      return out;
    },

    /** Live notifications after `afterSeq` up to the head, oldest first. */
    async after(userId: string, afterSeq: number, limit: number, knownHead?: number): Promise<StoredNotification[]> {
      return scan(userId, { from: afterSeq, to: knownHead ?? (await head(userId)) }, limit);
    },

    /**
     * What a (re)connecting device must get, in sequence order: everything nobody acknowledged at
     * or before `afterSeq`, and everything after it.
     */
    async forReplay(userId: string, afterSeq: number, limit: number, knownHead?: number): Promise<StoredNotification[]> {
      const [missed, later] = await Promise.all([
        afterSeq > 0 ? unacked(userId, { $lte: afterSeq }, limit) : Promise.resolve([]),
        knownHead === undefined ? head(userId).then((h) => scan(userId, { from: afterSeq, to: h }, limit)) : scan(userId, { from: afterSeq, to: knownHead }, limit),
      ]);
      return [...missed, ...later].slice(0, limit);
    },

    /** Acknowledges by ids and/or up to a sequence in one call; returns how many were newly acknowledged. */
    async ack(userId: string, selector: AckSelector): Promise<number> {
      const ackedAt = new Date();
      const ids = ownIds(userId, selector.ids ?? []);
      const ops: Array<AnyBulkWriteOperation<NotificationDocument>> = [];
      if (ids.length > 0) ops.push({ updateMany: { filter: { _id: { $in: ids }, acked: false }, update: { $set: { acked: true, ackedAt } } } });
      if (selector.upToSeq !== undefined) {
        ops.push({ updateMany: { filter: { userId, acked: false, seq: { $lte: selector.upToSeq } }, update: { $set: { acked: true, ackedAt } } } });
      }
      if (ops.length === 0) return 0;
      const result = await Notification.bulkWrite(ops as never, { ordered: false });
      return result.modifiedCount;
    },

    /** Acknowledgements of many users' notifications by id, written together (one call). */
    async ackMany(acks: Array<{ userId: string; id: string }>): Promise<number> {
      // An id names its owner: those that do not match the user they were delivered to are dropped.
      const ids = [...new Set(acks.filter((a) => parseNotificationId(a.id)?.userId === a.userId).map((a) => a.id))];
      if (ids.length === 0) return 0;
      return (await Notification.updateMany({ _id: { $in: ids }, acked: false }, { $set: { acked: true, ackedAt: new Date() } })).modifiedCount;
    },

    async list(userId: string, options: { afterSeq?: number; beforeSeq?: number; unackedOnly?: boolean; limit: number }): Promise<StoredNotification[]> {
      // Both bounds: the window between them, oldest first (as afterSeq alone).
      const { afterSeq, beforeSeq } = options;
      if (options.unackedOnly) {
        if (afterSeq !== undefined) return unacked(userId, { $gt: afterSeq, ...(beforeSeq !== undefined ? { $lt: beforeSeq } : {}) }, options.limit);
        return unacked(userId, beforeSeq !== undefined ? { $lt: beforeSeq } : {}, options.limit, true);
      }
      if (afterSeq !== undefined) {
        const last = await head(userId);
        return scan(userId, { from: afterSeq, to: beforeSeq !== undefined ? Math.min(last, beforeSeq - 1) : last }, options.limit);
      }
      // Never from above the head: there is nothing there, and a beforeSeq of millions would have
      // the scan walk empty windows down to the head.
      const top = (await head(userId)) + 1;
      return scan(userId, { from: beforeSeq === undefined ? top : Math.min(beforeSeq, top), to: 1, descending: true }, options.limit);
    },

    /**
     * Turns the notifications about a diary into tombstones: payload, diary id and type gone, the
     * sequence and event id kept (a redelivered event then finds it stored and is not shown again).
     */
    async removeForDiary(userId: string, diaryId: string): Promise<number> {
      const result = await Notification.updateMany(
        { userId, diaryId },
        { $set: { type: REMOVED_TYPE, payload: {}, diaryId: null, acked: true, ackedAt: new Date() } },
      );
      return result.modifiedCount;
    },

    async deleteForUser(userId: string): Promise<void> {
      await Notification.deleteMany({ userId });
      await NotificationHead.deleteOne({ _id: userId });
    },
  };
}

export type NotificationRepository = ReturnType<typeof createNotificationRepository>;
