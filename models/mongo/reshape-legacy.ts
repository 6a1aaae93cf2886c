import { announcementAckId, notificationId, type MongoModels } from './index.js';

interface LegacyNotification {
  _id: unknown;
  userId: string;
  seq: number;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
  createdAt: Date;
  ackedAt?: Date | null;
}

interface LegacyAck {
  _id: unknown;
  announcementId: string;
  userId: string;
  ackedAt: Date;
}

const BATCH = 500;

type Collection = MongoModels['Notification']['collection'];

/**
 * Moves documents with an ObjectId `_id` to their new `_id`, crash-safe: each old document is
 * parked in `parking` before it is removed, and a run first finishes what a crashed run parked.
 * (The `_id` of a document cannot change in place, and the new one collides with the old one on
 * the unique indexes until the old one is gone.)
 */
async function move<T extends { _id: unknown }>(coll: Collection, parking: Collection, reshape: (old: T) => { _id: string; doc: object }, onMoved: (old: T) => void): Promise<number> {
  let moved = 0;
  const one = async (old: T) => {
    const { _id, doc } = reshape(old);
    await coll.deleteOne({ _id: old._id } as never);
    await coll.replaceOne({ _id } as never, doc, { upsert: true });
    await parking.deleteOne({ _id: old._id } as never);
    onMoved(old);
    moved += 1;
  };
  for (const old of await parking.find<T>({}).toArray()) await one(old);
  for (;;) {
    const batch = await coll.find<T>({ _id: { $type: 'objectId' } }).limit(BATCH).toArray();
    if (batch.length === 0) break;
    for (const old of batch) {
      await parking.replaceOne({ _id: old._id } as never, old as never, { upsert: true });
      await one(old);
    }
  }
  return moved;
}

/**
 * Brings documents written by versions before 0.2 (ObjectId `_id`s) to the current shapes:
 * notifications get `<userId>:<seq>` ids, the `acked` flag and their diary id, and each user a
 * head; announcement acks get `<announcementId>:<userId>` ids and their announcements a counter.
 * Idempotent (only documents with an ObjectId `_id` are touched), a no-op on a store written by
 * this version. Run by `migrate up`.
 */
export async function reshapeLegacyDocuments(models: MongoModels): Promise<{ notifications: number; announcementAcks: number }> {
  const { Notification, NotificationHead, AnnouncementAck, AnnouncementAckCount } = models;
  const db = Notification.db;
  const heads = new Map<string, number>();
  const notifications = await move<LegacyNotification>(
    Notification.collection,
    db.collection('reshape_parked_notifications') as unknown as Collection,
    (old) => ({
      _id: notificationId(old.userId, old.seq),
      doc: {
        userId: old.userId,
        seq: old.seq,
        eventId: old.eventId,
        type: old.type,
        payload: old.payload,
        diaryId: typeof old.payload?.diaryId === 'string' ? old.payload.diaryId : null,
        acked: Boolean(old.ackedAt),
        ackedAt: old.ackedAt ?? null,
        createdAt: old.createdAt,
      },
    }),
    (old) => heads.set(old.userId, Math.max(heads.get(old.userId) ?? 0, old.seq)),
  );
  for (const [userId, seq] of heads) await NotificationHead.updateOne({ _id: userId }, { $max: { seq } }, { upsert: true });

  const counts = new Map<string, number>();
  const announcementAcks = await move<LegacyAck>(
    AnnouncementAck.collection,
    db.collection('reshape_parked_announcement_acks') as unknown as Collection,
    (old) => ({ _id: announcementAckId(old.announcementId, old.userId), doc: { announcementId: old.announcementId, userId: old.userId, ackedAt: old.ackedAt } }),
    (old) => counts.set(old.announcementId, (counts.get(old.announcementId) ?? 0) + 1),
  );
  for (const [announcementId, count] of counts) {
    await AnnouncementAckCount.updateOne({ _id: `${announcementId}|migrated` }, { $inc: { count }, $setOnInsert: { announcementId } }, { upsert: true });
  }
  return { notifications, announcementAcks };
}
