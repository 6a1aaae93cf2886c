import { randomUUID } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import {
  derivedEventId,
  type AnalysisRequested,
  type AnalysisStatusEvent,
  type AnalysisSummary,
  type DlqRecord,
} from '../kernel/contracts/analysis-events.js';
import type { AnalysisResult } from './analyzers/analyzer.js';

/** What the worker says about one request: the status events and dead-letter records it produces. */

export type StatusFields = { status: 'PROCESSING' } | { status: 'COMPLETED'; summary: AnalysisSummary } | { status: 'FAILED'; error: string };

/** A status event with an id derived from the request's, so a redelivery repeats the same id. */
export function statusEvent(req: AnalysisRequested, fields: StatusFields): AnalysisStatusEvent {
  return {
    eventId: derivedEventId(req.eventId, fields.status),
    occurredAt: new Date().toISOString(),
    diaryId: req.diaryId,
    userId: req.userId,
    revision: req.revision,
    type: 'analysis.status',
    requestedAt: req.occurredAt,
    ...fields,
  };
}

/** What a summary is made of: a fresh result, or an analysis as stored (a redelivery). */
export interface SummarySource {
  emotionStatus: AnalysisResult['emotionStatus'];
  emotions: ReadonlyArray<{ name: string; score: number }>;
  alternativeThoughts: readonly string[];
  automaticThoughts: ReadonlyArray<{ distortion: string; alternativeThought: string }>;
}

export function summarize(result: SummarySource, analyzerName: string): AnalysisSummary {
  return {
    emotionStatus: result.emotionStatus,
    topEmotions: result.emotions.filter((e) => e.score > 0).slice(0, 3).map(({ name, score }) => ({ name, score })),
    alternativeThought: result.alternativeThoughts[0] ?? result.automaticThoughts[0]?.alternativeThought ?? null,
    distortions: [...new Set(result.automaticThoughts.map((t) => t.distortion))],
    analyzer: analyzerName,
  };
}

export interface MessageSource {
  topic: string;
  partition: number;
  message: KafkaMessage;
}

const original = ({ topic, partition, message }: MessageSource) => ({
  source: { topic, partition, offset: message.offset },
  originalValue: message.value?.toString('utf8') ?? null,
  originalKey: message.key?.toString('utf8') ?? null,
});

/** The DLQ record of a message that is not a valid request; keyed like the original. */
export function invalidMessageRecord(src: MessageSource, error: string): { record: DlqRecord; key: string | null } {
  return {
    record: { eventId: randomUUID(), occurredAt: new Date().toISOString(), reason: 'invalid_message', error, attempts: 0, ...original(src) },
    key: src.message.key?.toString('utf8') ?? null,
  };
}

/** The DLQ record of a request whose analysis kept failing; keyed by diaryId. */
export function failedAnalysisRecord(src: MessageSource, req: AnalysisRequested, error: string, attempts: number): { record: DlqRecord; key: string } {
  return {
    record: {
      eventId: derivedEventId(req.eventId, 'dlq'),
      occurredAt: new Date().toISOString(),
      reason: 'analysis_failed',
      error,
      attempts,
      ...original(src),
      diaryId: req.diaryId,
      userId: req.userId,
      revision: req.revision,
    },
    key: req.diaryId,
  };
}
