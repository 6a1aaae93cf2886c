import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { EMOTION_STATUSES } from './statuses.js';

/**
 * The Kafka contract of the analysis pipeline, shared by the API (outbox relay,
 * gateway consumer) and the worker. Every consumer parses with these schemas: a message that
 * does not match is a poison message, never a crash.
 *
 * Topics: `<prefix>diary.analysis.requested` (key diaryId), `<prefix>diary.analysis.status`
 * (key userId: status events from the worker, deletions from the API's outbox),
 * `<prefix>diary.analysis.dlq`. Header `requestId` carries the HTTP request id.
 */

/** The pipeline topics (`kafka.topicPrefix` in front, so tests and tenants can isolate). */
export interface TopicNames {
  analysisRequested: string;
  analysisStatus: string;
  analysisDlq: string;
}

export function topicNames(prefix: string): TopicNames {
  return {
    analysisRequested: `${prefix}diary.analysis.requested`,
    analysisStatus: `${prefix}diary.analysis.status`,
    analysisDlq: `${prefix}diary.analysis.dlq`,
  };
}

const id = z.string().regex(/^\d{1,20}$/);
const envelope = {
  eventId: z.uuid(),
  occurredAt: z.iso.datetime(),
  diaryId: id,
  userId: id,
  revision: z.number().int().min(1),
};

export const analysisRequestedSchema = z.object({
  ...envelope,
  type: z.literal('analysis.requested'),
  title: z.string().max(255).nullable(),
  content: z.string().min(1),
  /** The writer's language setting, for generated texts. */
  language: z.enum(['en', 'ko']).default('en'),
});
export type AnalysisRequested = z.infer<typeof analysisRequestedSchema>;

export const analysisSummarySchema = z.object({
  emotionStatus: z.enum(EMOTION_STATUSES),
  topEmotions: z.array(z.object({ name: z.string(), score: z.number() })).max(3),
  alternativeThought: z.string().nullable(),
  distortions: z.array(z.string()).default([]),
  analyzer: z.string(),
});
export type AnalysisSummary = z.infer<typeof analysisSummarySchema>;

export const analysisStatusSchema = z.discriminatedUnion('status', [
  z.object({ ...envelope, type: z.literal('analysis.status'), status: z.literal('PROCESSING'), requestedAt: z.iso.datetime().nullable() }),
  z.object({
    ...envelope,
    type: z.literal('analysis.status'),
    status: z.literal('COMPLETED'),
    requestedAt: z.iso.datetime().nullable(),
    summary: analysisSummarySchema,
  }),
  z.object({
    ...envelope,
    type: z.literal('analysis.status'),
    status: z.literal('FAILED'),
    requestedAt: z.iso.datetime().nullable(),
    error: z.string().max(500),
  }),
]);
export type AnalysisStatusEvent = z.infer<typeof analysisStatusSchema>;

/**
 * An entry was deleted (written to the outbox in the delete's transaction): the gateway removes
 * its analyses and notifications, retrying until the store takes it, so a store that is away when
 * the entry is deleted does not leave them behind.
 */
export const diaryDeletedSchema = z.object({ eventId: z.uuid(), occurredAt: z.iso.datetime(), diaryId: id, userId: id, type: z.literal('diary.deleted') });
export type DiaryDeletedEvent = z.infer<typeof diaryDeletedSchema>;

/** What the status topic carries. */
export const statusTopicEventSchema = z.union([analysisStatusSchema, diaryDeletedSchema]);

/** What the DLQ keeps: the original message as received, why it failed, and where it came from. */
export const dlqRecordSchema = z.object({
  eventId: z.uuid(),
  occurredAt: z.iso.datetime(),
  reason: z.enum(['invalid_message', 'analysis_failed']),
  error: z.string().max(2000),
  attempts: z.number().int().min(0),
  source: z.object({ topic: z.string(), partition: z.number().int(), offset: z.string() }),
  /** The original message value (utf-8), so `dlq:replay` can re-queue it unchanged. */
  originalValue: z.string().nullable(),
  originalKey: z.string().nullable(),
  /** The envelope of the failed request, when it could be read (not for invalid messages). */
  diaryId: z.string().optional(),
  userId: z.string().optional(),
  revision: z.number().int().optional(),
});
export type DlqRecord = z.infer<typeof dlqRecordSchema>;

export function newEventEnvelope(fields: { diaryId: string; userId: string; revision: number }) {
  return { eventId: randomUUID(), occurredAt: new Date().toISOString(), ...fields };
}

/**
 * A stable event id derived from the event that caused it: reprocessing the same request yields
 * the same status event ids, so consumers deduplicate redeliveries by id.
 */
export function derivedEventId(sourceEventId: string, purpose: string): string {
  const h = createHash('sha256').update(`${sourceEventId}:${purpose}`).digest('hex');
  // Shaped as an RFC 9562 UUID version 8 (custom), variant 10.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Parses a Kafka message value as JSON against a schema; returns the error instead of throwing. */
export function parseEvent<T extends z.ZodType>(schema: T, value: Buffer | null): { ok: true; event: z.output<T> } | { ok: false; error: string } {
  if (!value) return { ok: false, error: 'empty message' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return { ok: false, error: 'message is not JSON' };
  }
  const result = schema.safeParse(json);
  if (!result.success) return { ok: false, error: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ').slice(0, 1000) };
  return { ok: true, event: result.data };
}
