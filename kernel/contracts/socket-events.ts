import { z } from 'zod';
import { analysisSummarySchema } from './analysis-events.js';
import { ANALYSIS_STATUSES, EMOTION_STATUSES, type AnalysisEventStatus } from './statuses.js';
import { thoughtRecordBodySchema, type ThoughtRecordChanged, type ThoughtRecordView } from './thought-records.js';

/**
 * The Socket.IO contract, shared by the server, the web app and the test clients: event names,
 * payloads and acknowledgements, each payload a zod schema its type is derived from. What clients
 * send is untrusted: the server listens with `UntrustedEvents<...>` (every argument `unknown`)
 * and parses each payload with its schema.
 *
 * Namespace `/` (every user): rooms `user:<id>` (all devices of a person) and `session:<sid>`.
 * Namespace `/admin` (role ADMIN): room `activity`.
 */

/** Handshake `auth` object: `io(url, { auth: { token, lastSeq } })`. */
export const handshakeAuthSchema = z.object({
  token: z.string().min(1).max(4096),
  /** The highest notification sequence this device has seen; everything after it is replayed. */
  lastSeq: z.number().int().min(0).optional(),
});
export type HandshakeAuth = z.infer<typeof handshakeAuthSchema>;

// ---- server → client payloads ----

const ANALYSIS_EVENT_STATUSES = ['PROCESSING', 'COMPLETED', 'FAILED'] as const satisfies readonly AnalysisEventStatus[];

/** The analysis summary a COMPLETED status carries to the devices. */
export const analysisStatusSummarySchema = analysisSummarySchema.omit({ analyzer: true });

export const analysisStatusPayloadSchema = z.object({
  diaryId: z.string(),
  revision: z.number().int(),
  status: z.enum(ANALYSIS_EVENT_STATUSES),
  summary: analysisStatusSummarySchema.optional(),
  error: z.string().optional(),
});
export type AnalysisStatusPayload = z.infer<typeof analysisStatusPayloadSchema>;

const envelopeFields = {
  /** `<userId>:<seq>`, unique: clients deduplicate by it (a notification can arrive more than once). */
  id: z.string(),
  /** Per-user, increasing; not gapless. */
  seq: z.number().int(),
  createdAt: z.iso.datetime(),
};

/** A notification of the durable inbox as it travels to a device. */
export const notificationEnvelopeSchema = z.object({ ...envelopeFields, type: z.string(), payload: z.record(z.string(), z.unknown()) });
export type NotificationEnvelope = z.infer<typeof notificationEnvelopeSchema>;

/** The same for `analysis:status` (type `analysis.status`). */
export const analysisStatusEnvelopeSchema = z.object({ ...envelopeFields, type: z.literal('analysis.status'), payload: analysisStatusPayloadSchema });
export type AnalysisStatusEnvelope = z.infer<typeof analysisStatusEnvelopeSchema>;

export const announcementMessageSchema = z.object({ id: z.string(), title: z.string(), body: z.string(), createdAt: z.iso.datetime() });
export type AnnouncementMessage = z.infer<typeof announcementMessageSchema>;

export const serverNoticeSchema = z.object({ code: z.enum(['token_expired', 'session_revoked', 'rate_limited', 'shutdown']), message: z.string() });
export type ServerNotice = z.infer<typeof serverNoticeSchema>;

export type AckError = { error: { code: string; message: string } };
export type Ack<T> = (response: T | AckError) => void;

/** What a device answers to a delivery (anything, or nothing, counts as received). */
export type DeliveryAck = { ok: true } | undefined;

/** What `diary:get`, `diary:reanalyze` and `diary:subscribe` answer: an entry's analysis status and its summary. */
export const diaryStatusSchema = z.object({
  diaryId: z.string(),
  revision: z.number().int(),
  analysisStatus: z.enum(ANALYSIS_STATUSES),
  /** The revision the current analysis is of (null before the first one). */
  analyzedRevision: z.number().int().nullable(),
  emotionStatus: z.enum(EMOTION_STATUSES).nullable(),
  alternativeThought: z.string().nullable(),
  updatedAt: z.iso.datetime(),
});
export type DiaryStatus = z.infer<typeof diaryStatusSchema>;

/**
 * To a socket subscribed to the entry (`diary:subscribe`), after each status of its analysis is
 * delivered: the status, and with COMPLETED the entry's status view as stored (a detail view
 * refreshes from it without a REST call). Not durable: `analysis:status` is the durable event.
 */
export const diaryProgressSchema = analysisStatusPayloadSchema.extend({ diary: diaryStatusSchema.optional() });
export type DiaryProgress = z.infer<typeof diaryProgressSchema>;

export interface ServerToClientEvents {
  'analysis:status': (n: AnalysisStatusEnvelope, ack: (r?: DeliveryAck) => void) => void;
  'diary:progress': (p: DiaryProgress) => void;
  notification: (n: NotificationEnvelope, ack: (r?: DeliveryAck) => void) => void;
  announcement: (a: AnnouncementMessage, ack: (r?: DeliveryAck) => void) => void;
  'server:notice': (notice: ServerNotice) => void;
  /** To every device of the person after a thought record is saved or deleted (live, not durable: see thought-records.ts). */
  'thought-record:changed': (e: ThoughtRecordChanged) => void;
}

// ---- client → server payloads ----

export const ackNotificationsSchema = z
  .object({
    ids: z.array(z.string().min(1).max(64)).max(500).optional(),
    /** Acknowledges everything up to and including this sequence. */
    upToSeq: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((b) => b.ids !== undefined || b.upToSeq !== undefined, 'ids or upToSeq is required');

export const ackAnnouncementSchema = z.object({ id: z.string().min(1).max(64) }).strict();
export const refreshTokenSchema = z.object({ token: z.string().min(1).max(4096) }).strict();
/** One of the caller's entries (the same id rule as REST's /diaries/:id). */
export const diaryRefSchema = z.object({ diaryId: z.string().regex(/^\d{1,20}$/, 'must be a diary id') }).strict();
/** As PUT /diaries/:id/thought-record: the entry and the record's body. */
export const saveThoughtRecordSchema = z.object({ diaryId: diaryRefSchema.shape.diaryId, record: thoughtRecordBodySchema }).strict();

export interface ClientToServerEvents {
  'notifications:ack': (body: z.input<typeof ackNotificationsSchema>, ack: Ack<{ acked: number }>) => void;
  'announcements:ack': (body: z.input<typeof ackAnnouncementSchema>, ack: Ack<{ ok: true }>) => void;
  'auth:refresh': (body: z.input<typeof refreshTokenSchema>, ack: Ack<{ ok: true; expiresAt: string }>) => void;
  /** The entry's current analysis status and summary (as GET /diaries/:id; not_found for others' entries). */
  'diary:get': (body: z.input<typeof diaryRefSchema>, ack: Ack<DiaryStatus>) => void;
  /** As POST /diaries/:id/reanalyze: a new analysis of the current revision is requested. */
  'diary:reanalyze': (body: z.input<typeof diaryRefSchema>, ack: Ack<DiaryStatus>) => void;
  /** `diary:progress` for this entry on this socket from now on (a detail view); answers its current status. */
  'diary:subscribe': (body: z.input<typeof diaryRefSchema>, ack: Ack<DiaryStatus>) => void;
  'diary:unsubscribe': (body: z.input<typeof diaryRefSchema>, ack: Ack<{ ok: true }>) => void;
  /** As GET /diaries/:id/thought-record. */
  'thought-record:get': (body: z.input<typeof diaryRefSchema>, ack: Ack<ThoughtRecordView>) => void;
  /** As PUT /diaries/:id/thought-record (same rules and error codes: not_found, not_analyzed, analysis_changed, version_conflict, ...). */
  'thought-record:save': (body: z.input<typeof saveThoughtRecordSchema>, ack: Ack<ThoughtRecordView>) => void;
}

// ---- /admin namespace ----

export const ACTIVITY_TYPES = [
  'user.login',
  'diary.created',
  'diary.updated',
  'diary.reanalyze',
  'diary.deleted',
  'analysis.completed',
  'analysis.failed',
  'instance.sockets',
] as const;

export const activityEventSchema = z.object({
  type: z.enum(ACTIVITY_TYPES),
  at: z.iso.datetime(),
  instanceId: z.string(),
  userId: z.string().optional(),
  diaryId: z.string().optional(),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type ActivityEvent = z.infer<typeof activityEventSchema>;

export const instanceStatsSchema = z.object({ instanceId: z.string(), sockets: z.number().int(), adminSockets: z.number().int(), users: z.number().int(), at: z.iso.datetime() });
export type InstanceStats = z.infer<typeof instanceStatsSchema>;

export const activitySnapshotSchema = z.object({
  instances: z.array(instanceStatsSchema),
  totalSockets: z.number().int(),
  /** True when an instance did not answer in time: the counts cover the others only. */
  partial: z.boolean(),
});
export type ActivitySnapshot = z.infer<typeof activitySnapshotSchema>;

export const announcementAcksSchema = z.object({ announcementId: z.string(), acks: z.number().int() });
export type AnnouncementAcks = z.infer<typeof announcementAcksSchema>;

export interface AdminServerToClientEvents {
  activity: (e: ActivityEvent) => void;
  'announcement:acks': (e: AnnouncementAcks) => void;
  'server:notice': (notice: ServerNotice) => void;
}

export const activitySnapshotRequestSchema = z.union([z.undefined(), z.object({}).strict()]);
export const createAnnouncementSchema = z.object({ title: z.string().trim().min(1).max(200), body: z.string().trim().min(1).max(5000) }).strict();

export interface AdminClientToServerEvents {
  'activity:snapshot': (body: z.input<typeof activitySnapshotRequestSchema>, ack: Ack<ActivitySnapshot>) => void;
  'announcements:create': (body: z.input<typeof createAnnouncementSchema>, ack: Ack<AnnouncementMessage>) => void;
  /** As on `/`; the fresh token must still carry the ADMIN role. */
  'auth:refresh': (body: z.input<typeof refreshTokenSchema>, ack: Ack<{ ok: true; expiresAt: string }>) => void;
}

// ---- between server instances (through the Redis adapter) ----

export interface InterServerEvents {
  /** Each instance answers with its own counts (the admin snapshot). */
  'instance:stats': (ack: (stats: InstanceStats) => void) => void;
  /** A stored notification: each instance sends it to its own sockets of the user. */
  'notification:deliver': (userId: string, n: NotificationEnvelope) => void;
  /** A new announcement: each instance sends it to its own sockets. */
  'announcement:fan-out': (message: AnnouncementMessage) => void;
  /** How many admins watch the activity room on an instance (activity is published only while some do). */
  'activity:watchers': (report: { instanceId: string; admins: number }) => void;
  /** Sessions ended: each instance tells its own sockets in `room` (but those in `keep`) and disconnects them. */
  'sessions:end': (order: { room: string; keep: string[]; notice: ServerNotice }) => void;
}

/** What the handshake puts on every accepted socket. */
export interface SocketData {
  userId: string;
  role: 'USER' | 'ADMIN';
  sessionId: string;
  tokenExpiresAtMs: number;
}

/** The server's view of what clients send: every argument unknown until its schema parses it. */
export type UntrustedEvents<E> = { [K in keyof E]: (...args: unknown[]) => void };

/** Client events the server knows; anything else is ignored and counted. */
export const KNOWN_CLIENT_EVENTS: ReadonlySet<string> = new Set<keyof ClientToServerEvents | keyof AdminClientToServerEvents>([
  'notifications:ack',
  'announcements:ack',
  'auth:refresh',
  'diary:get',
  'diary:reanalyze',
  'diary:subscribe',
  'diary:unsubscribe',
  'thought-record:get',
  'thought-record:save',
  'activity:snapshot',
  'announcements:create',
]);
