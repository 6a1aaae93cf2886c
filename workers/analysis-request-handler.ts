import { randomUUID } from 'node:crypto';
import type { KafkaMessage } from 'kafkajs';
import {
  analysisRequestedSchema,
  derivedEventId,
  parseEvent,
  type AnalysisRequested,
  type AnalysisStatusEvent,
  type AnalysisSummary,
} from '../kernel/contracts/analysis-events.js';
import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import type { AnalysisResult, Analyzer } from './analyzers/analyzer.js';
import type { AnalysisStore } from './analysis-store.js';
import type { PipelinePublisher } from './pipeline-publisher.js';
import { withRetries } from './retry.js';

export interface HandlerContext {
  topic: string;
  partition: number;
  message: KafkaMessage;
  /** Keeps the consumer's group membership alive during a slow analysis. */
  heartbeat(): Promise<void>;
  /** Aborted on shutdown: the message is then left uncommitted for another worker. */
  signal: AbortSignal;
}

export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

const HEARTBEAT_EVERY_MS = 2_000;

function summarize(result: AnalysisResult, analyzerName: string): AnalysisSummary {
  return {
    emotionStatus: result.emotionStatus,
    topEmotions: result.emotions.filter((e) => e.score > 0).slice(0, 3),
    alternativeThought: result.alternativeThoughts[0] ?? result.automaticThoughts[0]?.alternativeThought ?? null,
    distortions: [...new Set(result.automaticThoughts.map((t) => t.distortion))],
    analyzer: analyzerName,
  };
}

/**
 * Handles one analysis request, at least once and idempotently:
 * invalid message → DLQ; a revision older than one already stored → skipped; already analysed →
 * COMPLETED re-emitted (same event id); otherwise PROCESSING, analysis with bounded retries,
 * upsert by diaryId+revision, COMPLETED, or after the last attempt FAILED plus a DLQ record.
 * Infrastructure errors (MongoDB, Kafka) are thrown: the offset stays uncommitted and kafkajs
 * retries the message. Diary text is never logged.
 */
export function createAnalysisRequestHandler(deps: {
  analyzer: Analyzer;
  store: AnalysisStore;
  publisher: PipelinePublisher;
  metrics: Metrics;
  log: Logger;
  retry: RetryPolicy;
}) {
  const { analyzer, store, publisher, metrics } = deps;
  const log = deps.log.child({ component: 'analysis-handler' });

  type StatusFields = { status: 'PROCESSING' } | { status: 'COMPLETED'; summary: AnalysisSummary } | { status: 'FAILED'; error: string };
  const statusEvent = (req: AnalysisRequested, fields: StatusFields): AnalysisStatusEvent =>
    ({
      eventId: derivedEventId(req.eventId, fields.status),
      occurredAt: new Date().toISOString(),
      diaryId: req.diaryId,
      userId: req.userId,
      revision: req.revision,
      type: 'analysis.status',
      requestedAt: req.occurredAt,
      ...fields,
    });

  async function analyzeWithHeartbeats(req: AnalysisRequested, ctx: HandlerContext) {
    const beat = setInterval(() => void ctx.heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
    metrics.workerInFlight.inc();
    try {
      return await withRetries(
        async () => {
          const stop = metrics.workerAnalysisDuration.startTimer({ analyzer: analyzer.name });
          try {
            return await analyzer.analyze({ title: req.title, content: req.content, language: req.language }, ctx.signal);
          } finally {
            stop();
          }
        },
        {
          ...deps.retry,
          signal: ctx.signal,
          onRetry: (attempt, err) => {
            metrics.workerRetriesTotal.inc();
            log.warn({ diaryId: req.diaryId, revision: req.revision, attempt, error: err.message }, 'analysis attempt failed, retrying');
          },
        },
      );
    } finally {
      clearInterval(beat);
      metrics.workerInFlight.dec();
    }
  }

  return async function handle(ctx: HandlerContext): Promise<void> {
    const { message } = ctx;
    const requestId = message.headers?.requestId?.toString();
    const parsed = parseEvent(analysisRequestedSchema, message.value);
    if (!parsed.ok) {
      await publisher.deadLetter(
        {
          eventId: randomUUID(),
          occurredAt: new Date().toISOString(),
          reason: 'invalid_message',
          error: parsed.error,
          attempts: 0,
          source: { topic: ctx.topic, partition: ctx.partition, offset: message.offset },
          originalValue: message.value?.toString('utf8') ?? null,
          originalKey: message.key?.toString('utf8') ?? null,
        },
        message.key?.toString('utf8') ?? null,
      );
      metrics.workerDlqTotal.inc({ reason: 'invalid_message' });
      log.warn({ offset: message.offset, partition: ctx.partition, error: parsed.error }, 'invalid analysis request dead-lettered');
      return;
    }
    const req = parsed.event;
    const fields = { diaryId: req.diaryId, revision: req.revision, requestId };

    if ((await store.newestRevision(req.diaryId)) > req.revision) {
      metrics.workerProcessedTotal.inc({ outcome: 'skipped_stale' });
      log.info(fields, 'stale revision skipped');
      return;
    }
    const existing = await store.find(req.diaryId, req.revision);
    if (existing) {
      // A redelivery of a request already done: say COMPLETED again (same event id), do no work.
      const summary = summarize(existing as unknown as AnalysisResult, existing.analyzer);
      await publisher.status(statusEvent(req, { status: 'COMPLETED', summary }), requestId);
      metrics.workerProcessedTotal.inc({ outcome: 'duplicate' });
      return;
    }

    await publisher.status(statusEvent(req, { status: 'PROCESSING' }), requestId);
    const outcome = await analyzeWithHeartbeats(req, ctx);
    if (outcome.ok && outcome.value) {
      const result = outcome.value;
      // After a fallback (LLM → offline) the stored provenance names the analyzer that answered.
      const provenance = result.producedBy ?? { analyzer: analyzer.name, version: analyzer.version, model: analyzer.model };
      const producedBy = provenance.analyzer;
      await store.save(
        { diaryId: req.diaryId, userId: req.userId, revision: req.revision },
        { name: provenance.analyzer, version: provenance.version, model: provenance.model },
        result,
        new Date(req.occurredAt),
      );
      await publisher.status(statusEvent(req, { status: 'COMPLETED', summary: summarize(result, producedBy) }), requestId);
      metrics.workerProcessedTotal.inc({ outcome: 'completed' });
      log.info({ ...fields, attempts: outcome.attempts, emotionStatus: result.emotionStatus }, 'analysis completed');
      return;
    }

    const error = (outcome.error?.message ?? 'analysis failed').slice(0, 500);
    await publisher.status(statusEvent(req, { status: 'FAILED', error }), requestId);
    await publisher.deadLetter(
      {
        eventId: derivedEventId(req.eventId, 'dlq'),
        occurredAt: new Date().toISOString(),
        reason: 'analysis_failed',
        error,
        attempts: outcome.attempts,
        source: { topic: ctx.topic, partition: ctx.partition, offset: message.offset },
        originalValue: message.value?.toString('utf8') ?? null,
        originalKey: message.key?.toString('utf8') ?? null,
        diaryId: req.diaryId,
        userId: req.userId,
        revision: req.revision,
      },
      req.diaryId,
    );
    metrics.workerProcessedTotal.inc({ outcome: 'failed' });
    metrics.workerDlqTotal.inc({ reason: 'analysis_failed' });
    log.error({ ...fields, attempts: outcome.attempts, error }, 'analysis failed after retries; dead-lettered');
  };
}

export type AnalysisRequestHandler = ReturnType<typeof createAnalysisRequestHandler>;
