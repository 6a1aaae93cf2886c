import { Schema, type Connection, type InferSchemaType, type Model } from 'mongoose';

/**
 * MongoDB documents. Everything here must work on FerretDB too: no multi-document transactions,
 * no change streams. Uniqueness (and so idempotency) comes from the unique indexes below.
 */

const EMOTION_STATUSES = ['POSITIVE', 'NEGATIVE', 'NEUTRAL'] as const;

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

/**
 * The newest analysed revision per diary (`_id` = diaryId), so the worker's stale check is one
 * `_id` lookup instead of a query over all analyses (which FerretDB's SQLite backend would scan).
 */
const analysisHeadSchema = new Schema(
  { _id: { type: String, required: true }, userId: { type: String, required: true }, revision: { type: Number, required: true } },
  { collection: 'analysis_heads', versionKey: false },
);

const notificationSchema = new Schema(
  {
    userId: { type: String, required: true },
    /** Per-user increasing sequence; clients replay "everything after the last seq I saw". */
    seq: { type: Number, required: true },
    /** Id of the event that caused it; a redelivered event cannot create a second notification. */
    eventId: { type: String, required: true },
    type: { type: String, required: true },
    payload: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
    ackedAt: { type: Date, default: null },
  },
  { collection: 'notifications', versionKey: false, minimize: false },
);
notificationSchema.index({ userId: 1, seq: 1 }, { unique: true, name: 'user_seq_unique' });
notificationSchema.index({ userId: 1, eventId: 1 }, { unique: true, name: 'user_event_unique' });
notificationSchema.index({ userId: 1, ackedAt: 1, seq: 1 }, { name: 'user_unacked' });

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

const announcementAckSchema = new Schema(
  {
    announcementId: { type: String, required: true },
    userId: { type: String, required: true },
    ackedAt: { type: Date, required: true },
  },
  { collection: 'announcement_acks', versionKey: false },
);
announcementAckSchema.index({ announcementId: 1, userId: 1 }, { unique: true, name: 'announcement_user_unique' });
announcementAckSchema.index({ userId: 1, announcementId: 1 }, { name: 'user_announcement' });

export type DiaryAnalysisDoc = InferSchemaType<typeof diaryAnalysisSchema>;
export type AnalysisHeadDoc = InferSchemaType<typeof analysisHeadSchema>;
export type NotificationDoc = InferSchemaType<typeof notificationSchema>;
export type AnnouncementDoc = InferSchemaType<typeof announcementSchema>;
export type AnnouncementAckDoc = InferSchemaType<typeof announcementAckSchema>;

export function defineMongoModels(conn: Connection) {
  return {
    DiaryAnalysis: conn.model('DiaryAnalysis', diaryAnalysisSchema),
    AnalysisHead: conn.model('AnalysisHead', analysisHeadSchema),
    Notification: conn.model('Notification', notificationSchema),
    Announcement: conn.model('Announcement', announcementSchema),
    AnnouncementAck: conn.model('AnnouncementAck', announcementAckSchema),
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
