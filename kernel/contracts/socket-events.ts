import { z } from 'zod';

/**
 * The Socket.IO contract, shared by the server and the test clients: event names, payloads and
 * acknowledgements. Client payloads are untrusted: every one has a zod schema.
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

export interface NotificationEnvelope<T = Record<string, unknown>> {
  /** Unique id: clients deduplicate by it (a notification can arrive more than once). */
  id: string;
  /** Per-user increasing sequence (gaps are possible). */
  seq: number;
  type: string;
  payload: T;
  createdAt: string;
}

export interface AnalysisStatusPayload {
  diaryId: string;
  revision: number;
  status: 'PROCESSING' | 'COMPLETED' | 'FAILED';
  summary?: {
    emotionStatus: 'POSITIVE' | 'NEGATIVE' | 'NEUTRAL';
    topEmotions: Array<{ name: string; score: number }>;
    alternativeThought: string | null;
    distortions: string[];
  };
  error?: string;
}

export interface AnnouncementMessage {
  id: string;
  title: string;
  body: string;
  createdAt: string;
}

export interface ServerNotice {
  code: 'token_expired' | 'session_revoked' | 'rate_limited' | 'shutdown';
  message: string;
}

export type AckError = { error: { code: string; message: string } };
export type Ack<T> = (response: T | AckError) => void;

/** What a device acknowledges for a delivery. */
export type DeliveryAck = { ok: true } | undefined;

export interface ServerToClientEvents {
  'analysis:status': (n: NotificationEnvelope<AnalysisStatusPayload>, ack: (r?: DeliveryAck) => void) => void;
  notification: (n: NotificationEnvelope, ack: (r?: DeliveryAck) => void) => void;
  announcement: (a: AnnouncementMessage, ack: (r?: DeliveryAck) => void) => void;
  'server:notice': (notice: ServerNotice) => void;
}

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

export interface ClientToServerEvents {
  'notifications:ack': (body: z.input<typeof ackNotificationsSchema>, ack: Ack<{ acked: number }>) => void;
  'announcements:ack': (body: z.input<typeof ackAnnouncementSchema>, ack: Ack<{ ok: true }>) => void;
  'auth:refresh': (body: z.input<typeof refreshTokenSchema>, ack: Ack<{ ok: true; expiresAt: string }>) => void;
}

// ---- /admin namespace ----

export interface ActivityEvent {
  type:
    | 'user.login'
    | 'diary.created'
    | 'diary.updated'
    | 'diary.reanalyze'
    | 'diary.deleted'
    | 'analysis.completed'
    | 'analysis.failed'
    | 'instance.sockets';
  at: string;
  instanceId: string;
  userId?: string;
  diaryId?: string;
  detail?: Record<string, unknown>;
}

export interface InstanceStats {
  instanceId: string;
  sockets: number;
  adminSockets: number;
  users: number;
  at: string;
}

export interface ActivitySnapshot {
  instances: InstanceStats[];
  totalSockets: number;
  /** True when an instance did not answer in time: the counts cover the others only. */
  partial: boolean;
}

export interface AdminServerToClientEvents {
  activity: (e: ActivityEvent) => void;
  'announcement:acks': (e: { announcementId: string; acks: number }) => void;
}

export const createAnnouncementSchema = z.object({ title: z.string().trim().min(1).max(200), body: z.string().trim().min(1).max(5000) }).strict();

export interface AdminClientToServerEvents {
  'activity:snapshot': (body: Record<string, never> | undefined, ack: Ack<ActivitySnapshot>) => void;
  'announcements:create': (body: z.input<typeof createAnnouncementSchema>, ack: Ack<AnnouncementMessage>) => void;
  /** As on `/`; the fresh token must still carry the ADMIN role. */
  'auth:refresh': (body: z.input<typeof refreshTokenSchema>, ack: Ack<{ ok: true; expiresAt: string }>) => void;
}

/** Between server instances (through the Redis adapter). */
export interface InterServerEvents {
  'instance:stats': (ack: (stats: InstanceStats) => void) => void;
}

export interface SocketData {
  userId: string;
  role: 'USER' | 'ADMIN';
  sessionId: string;
  tokenExpiresAtMs: number;
}

/** Client events the server knows; anything else is ignored and counted. */
export const KNOWN_CLIENT_EVENTS = new Set(['notifications:ack', 'announcements:ack', 'auth:refresh', 'activity:snapshot', 'announcements:create']);
