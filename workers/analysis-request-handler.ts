import type { KafkaMessage } from 'kafkajs';
import { analysisRequestedSchema, parseEvent, type AnalysisRequested } from '../kernel/contracts/analysis-events.js';
import type { Logger } from '../kernel/logger.js';
import type { Metrics } from '../kernel/metrics.js';
import type { AnalysisResult, Analyzer } from './analyzers/analyzer.js';
import type { AnalysisStore } from './analysis-store.js';
import { failedAnalysisRecord, invalidMessageRecord, statusEvent, summarize } from './analysis-outputs.js';
import type { PipelinePublisher } from './pipeline-publisher.js';
import { withRetries, type RetryOutcome } from './retry.js';

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

export interface AnalysisHandlerDeps {
  analyzer: Analyzer;
  store: AnalysisStore;
  publisher: PipelinePublisher;
  metrics: Metrics;
  log: Logger;
  retry: RetryPolicy;
}

const HEARTBEAT_EVERY_MS = 2_000;

/** Calls `ctx.heartbeat` every 2 s until the returned function is called. */
export function heartbeatWhile(ctx: Pick<HandlerContext, 'heartbeat'>): () => void {
  const beat = setInterval(() => void ctx.heartbeat().catch(() => undefined), HEARTBEAT_EVERY_MS);
  return () => clearInterval(beat);
}

/** The provenance stored with a result: after a fallback (LLM → offline), the analyzer that answered. */
export function provenanceOf(result: AnalysisResult, analyzer: Analyzer) {
  const p = result.producedBy ?? { analyzer: analyzer.name, version: analyzer.version, model: analyzer.model };
  return { name: p.analyzer, version: p.version, model: p.model };
}

/**
 * Handles one analysis request, at least once and idempotently:
 * invalid message → DLQ; a revision older than one already stored → skipped; already analysed →
 * COMPLETED re-emitted (same event id); otherwise PROCESSING, analysis with bounded retries,
 * upsert by diaryId+revision, COMPLETED, or after the last attempt FAILED plus a DLQ record.
 * Infrastructure errors (MongoDB, Kafka) are thrown: the offset stays uncommitted and kafkajs
 * retries the message. Diary text is never logged.
 *
 * The batch handler runs most requests on its own bulk path and hands this one what needs the
 * careful path: a diary's later requests in the same chunk, and analyses that failed once
 * (`retryAfterFirstAttempt`, PROCESSING already sent).
 */
export function createAnalysisRequestHandler(deps: AnalysisHandlerDeps) {
  const { analyzer, store, publisher, metrics } = deps;
  const log = deps.log.child({ component: 'analysis-handler' });

  /** One call of the analyzer, timed. */
  async function analyzeOnce(req: AnalysisRequested, signal: AbortSignal): Promise<AnalysisResult> {
    const stop = metrics.workerAnalysisDuration.startTimer({ analyzer: analyzer.name });
    try {
      return await analyzer.analyze({ title: req.title, content: req.content, language: req.language }, signal);
    } finally {
      stop();
    }
  }

  async function analyzeWithRetries(req: AnalysisRequested, ctx: HandlerContext, failedOnce?: Error) {
    const stopBeats = heartbeatWhile(ctx);
    metrics.workerInFlight.inc();
    try {
      return await withRetries(() => analyzeOnce(req, ctx.signal), {
        ...deps.retry,
        signal: ctx.signal,
        failedOnce,
        onRetry: (attempt, err) => {
          metrics.workerRetriesTotal.inc();
          log.warn({ diaryId: req.diaryId, revision: req.revision, attempt, error: err.message }, 'analysis attempt failed, retrying');
        },
      });
    } finally {
      stopBeats();
      metrics.workerInFlight.dec();
    }
  }

  /** Stores and announces the outcome of the analysis of a request whose PROCESSING is out. */
  async function finish(ctx: HandlerContext, req: AnalysisRequested, requestId: string | undefined, outcome: RetryOutcome<AnalysisResult>): Promise<void> {
    const fields = { diaryId: req.diaryId, revision: req.revision, requestId };
    if (outcome.ok && outcome.value) {
      const result = outcome.value;
      const provenance = provenanceOf(result, analyzer);
      await store.save({ diaryId: req.diaryId, userId: req.userId, revision: req.revision }, provenance, result, new Date(req.occurredAt));
      await publisher.status(statusEvent(req, { status: 'COMPLETED', summary: summarize(result, provenance.name) }), requestId);
      metrics.workerProcessedTotal.inc({ outcome: 'completed' });
      log.info({ ...fields, attempts: outcome.attempts, emotionStatus: result.emotionStatus }, 'analysis completed');
      return;
    }
    const error = (outcome.error?.message ?? 'analysis failed').slice(0, 500);
    const dead = failedAnalysisRecord(ctx, req, error, outcome.attempts);
    await publisher.publish({ statuses: [{ event: statusEvent(req, { status: 'FAILED', error }), requestId }], deadLetters: [dead] });
    metrics.workerProcessedTotal.inc({ outcome: 'failed' });
    metrics.workerDlqTotal.inc({ reason: 'analysis_failed' });
    log.error({ ...fields, attempts: outcome.attempts, error }, 'analysis failed after retries; dead-lettered');
  }

  return {
    async handle(ctx: HandlerContext): Promise<void> {
      const { message } = ctx;
      const requestId = message.headers?.requestId?.toString();
      const parsed = parseEvent(analysisRequestedSchema, message.value);
      if (!parsed.ok) {
        await publisher.publish({ deadLetters: [invalidMessageRecord(ctx, parsed.error)] });
        metrics.workerDlqTotal.inc({ reason: 'invalid_message' });
        log.warn({ offset: message.offset, partition: ctx.partition, error: parsed.error }, 'invalid analysis request dead-lettered');
        return;
      }
      const req = parsed.event;

      if ((await store.newestRevision(req.diaryId)) > req.revision) {
        metrics.workerProcessedTotal.inc({ outcome: 'skipped_stale' });
        log.info({ diaryId: req.diaryId, revision: req.revision, requestId }, 'stale revision skipped');
        return;
      }
      const existing = await store.find(req.diaryId, req.revision);
      if (existing) {
        // A redelivery of a request already done: say COMPLETED again (same event id), do no work.
        await publisher.status(statusEvent(req, { status: 'COMPLETED', summary: summarize(existing, existing.analyzer) }), requestId);
        metrics.workerProcessedTotal.inc({ outcome: 'duplicate' });
        return;
      }

      await publisher.status(statusEvent(req, { status: 'PROCESSING' }), requestId);
      await finish(ctx, req, requestId, await analyzeWithRetries(req, ctx));
    },

    /** The rest of `handle` for a request whose PROCESSING is out and whose first analysis failed with `error`. */
    async retryAfterFirstAttempt(ctx: HandlerContext, req: AnalysisRequested, requestId: string | undefined, error: Error): Promise<void> {
      await finish(ctx, req, requestId, await analyzeWithRetries(req, ctx, error));
    },

    analyzeOnce,
  };
}

export type AnalysisRequestHandler = ReturnType<typeof createAnalysisRequestHandler>;
