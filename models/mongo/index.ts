import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';
import { EMOTION_STATUSES } from '../../kernel/contracts/statuses.js';

/**
 * MongoDB documents. Everything here must work on FerretDB v1 too: no multi-document transactions,
 * no change streams, no atomic updates (it applies them read-then-write). Uniqueness, and so
 * idempotency, comes from `_id` and the unique indexes below.
 *
 * Query shapes: every hot query is an `_id` lookup or an equality on the leading fields of an index
 * (owner first), narrowed by a range inside one owner's documents. On MongoDB the compound index
 * serves all of it; on FerretDB-on-PostgreSQL (patched, scripts/ferretdb/) the equality is served by
 * the GIN index it builds beside each of these, `_id` by its primary btree, and the range is
 * filtered in PostgreSQL over that owner's rows.
 */


const emotionScoreSchema = new Schema({ name: { type: String, required: true }, score: { type: Number, required: true } }, { _id: false });

const automaticThoughtSchema = new Schema(
  {
    text: { type: String, required: true },
    distortion: { type: String, required: true },
    intensity: { type: Number, required: true, min: 0, max: 1 },
    alternativeThought: { type: String, required: true },
  },
  { _id: false },
);

/** `<diaryId>:<revision>`: every hot read and write of an analysis is a lookup by `_id`. */
export const analysisId = (diaryId: string, revision: number) => `${diaryId}:${revision}`;

const diaryAnalysisSchema = new Schema(
  {
    _id: {
      type: String,
      default(this: { diaryId: string; revision: number }) {
        return analysisId(this.diaryId, this.revision);
      },
    },
    diaryId: { type: String, required: true },
    userId: { type: String, required: true },
    revision: { type: Number, required: true, min: 1 },
    analyzer: { type: String, required: true },
    analyzerVersion: { type: String, required: true },
    model: { type: String, default: null },
    language: { type: String, required: true },
    emotions: { type: [emotionScoreSchema], default: [] },
    emotionStatus: { type: String, enum: EMOTION_STATUSES, required: true },
    automaticThoughts: { type: [automaticThoughtSchema], default: [] },
    alternativeThoughts: { type: [String], default: [] },
    promptForChange: { type: String, default: '' },
    requestedAt: { type: Date, default: null },
    analyzedAt: { type: Date, required: true },
  },
  { collection: 'diary_analyses', versionKey: false },
);
diaryAnalysisSchema.index({ diaryId: 1, revision: 1 }, { unique: true, name: 'diary_revision_unique' });
diaryAnalysisSchema.index({ userId: 1, analyzedAt: -1 }, { name: 'user_analyzed' });

/** The newest analysed revision per diary (`_id` = diaryId): the worker's stale check is one `_id` lookup. */
const analysisHeadSchema = new Schema(
  { _id: { type: String, required: true }, userId: { type: String, required: true }, revision: { type: Number, required: true } },
  { collection: 'analysis_heads', versionKey: false },
);
analysisHeadSchema.index({ userId: 1 }, { name: 'user' });

/** `<userId>:<seq>`: a notification's id, so an ack by id names its owner and sequence without a lookup. */
export const notificationId = (userId: string, seq: number) => `${userId}:${seq}`;

/**
 * One per user and sequence number. A sequence, once used, stays used: deleting an entry turns its
 * notifications into tombstones (type `removed`, no payload, no diary id) instead of removing
 * them, so no later notification can take the number of one a device has already seen.
 */
const notificationSchema = new Schema(
  {
    _id: { type: String, required: true },
    userId: { type: String, required: true },
    /** Per-user increasing sequence; clients replay "everything after the last seq I saw". */
    seq: { type: Number, required: true },
    /** Id of the event that caused it; a redelivered event cannot create a second notification. */
    eventId: { type: String, required: true },
    type: { type: String, required: true },
    payload: { type: Schema.Types.Mixed, required: true },
    /** The diary it is about (null for others), so deleting the entry finds them by equality. */
    diaryId: { type: String, default: null },
    /** Equality on a boolean is what FerretDB serves from an index; `ackedAt: null` is not. */
    acked: { type: Boolean, required: true, default: false },
    ackedAt: { type: Date, default: null },
    createdAt: { type: Date, required: true },
  },
  { collection: 'notifications', versionKey: false, minimize: false },
);
notificationSchema.index({ userId: 1, seq: 1 }, { unique: true, name: 'user_seq_unique' });
notificationSchema.index({ userId: 1, eventId: 1 }, { unique: true, name: 'user_event_unique' });
notificationSchema.index({ userId: 1, acked: 1, seq: 1 }, { name: 'user_acked_seq' });

/**
 * The last sequence handed out per user (`_id` = userId), raised with `$inc` before each insert.
 * Atomic on MongoDB; FerretDB applies it read-then-write, so two writers may get the same number:
 * the unique `_id` of the notification then refuses one of them, which takes the next.
 */
const notificationHeadSchema = new Schema({ _id: { type: String, required: true }, seq: { type: Number, required: true } }, { collection: 'notification_heads', versionKey: false });

const announcementSchema = new Schema(
  {
    title: { type: String, required: true },
    body: { type: String, required: true },
    createdBy: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, default: null },
  },
  { collection: 'announcements', versionKey: false },
);
announcementSchema.index({ createdAt: -1 }, { name: 'created' });

/** `<announcementId>:<userId>`: one ack per user, recorded by one insert. */
export const announcementAckId = (announcementId: string, userId: string) => `${announcementId}:${userId}`;

const announcementAckSchema = new Schema(
  {
    _id: { type: String, required: true },
    announcementId: { type: String, required: true },
    userId: { type: String, required: true },
    ackedAt: { type: Date, required: true },
  },
  { collection: 'announcement_acks', versionKey: false },
);
announcementAckSchema.index({ userId: 1 }, { name: 'user' });

/**
 * Ack counts without recounting: each API instance keeps its own counter per announcement
 * (`_id` = `<announcementId>|<instanceId>`) and is its only writer, so FerretDB's read-then-write
 * `$inc` cannot lose an increment; the count is the sum of a handful of counters.
 */
const announcementAckCountSchema = new Schema(
  { _id: { type: String, required: true }, announcementId: { type: String, required: true }, count: { type: Number, required: true } },
  { collection: 'announcement_ack_counts', versionKey: false },
);
announcementAckCountSchema.index({ announcementId: 1 }, { name: 'announcement' });

export type DiaryAnalysisDoc = InferSchemaType<typeof diaryAnalysisSchema>;
export type AnalysisHeadDoc = InferSchemaType<typeof analysisHeadSchema>;
export type NotificationDoc = InferSchemaType<typeof notificationSchema>;
export type NotificationHeadDoc = InferSchemaType<typeof notificationHeadSchema>;
export type AnnouncementDoc = InferSchemaType<typeof announcementSchema>;
export type AnnouncementAckDoc = InferSchemaType<typeof announcementAckSchema>;
export type AnnouncementAckCountDoc = InferSchemaType<typeof announcementAckCountSchema>;

export function defineMongoModels(conn: Connection) {
  return {
    DiaryAnalysis: conn.model('DiaryAnalysis', diaryAnalysisSchema),
    AnalysisHead: conn.model('AnalysisHead', analysisHeadSchema),
    Notification: conn.model('Notification', notificationSchema),
    NotificationHead: conn.model('NotificationHead', notificationHeadSchema),
    Announcement: conn.model('Announcement', announcementSchema),
    AnnouncementAck: conn.model('AnnouncementAck', announcementAckSchema),
    AnnouncementAckCount: conn.model('AnnouncementAckCount', announcementAckCountSchema),
  };
}

export type MongoModels = ReturnType<typeof defineMongoModels>;

/** Creates collections and indexes. Idempotent; run by `migrate` and at process start. */
export async function syncMongoIndexes(models: MongoModels): Promise<void> {
  for (const model of Object.values(models) as unknown as Array<Pick<Model<unknown>, 'createCollection' | 'createIndexes'>>) {
    await model.createCollection().catch((err: { codeName?: string; code?: number }) => {
      if (err.codeName !== 'NamespaceExists' && err.code !== 48) throw err;
    });
    await model.createIndexes();
  }
}

/** Mongo error code for a unique-index violation. */
export const DUPLICATE_KEY = 11000;

export function isDuplicateKeyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: number }).code === DUPLICATE_KEY;
}
