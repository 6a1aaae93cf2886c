import type { KafkaMessage } from 'kafkajs';
import { analysisRequestedSchema, parseEvent, type AnalysisRequested } from '../kernel/contracts/analysis-events.js';
import { analysisId } from '../models/mongo/index.js';
import type { AnalysisResult } from './analyzers/analyzer.js';
import { invalidMessageRecord, statusEvent, summarize } from './analysis-outputs.js';
import { createAnalysisRequestHandler, heartbeatWhile, provenanceOf, type AnalysisHandlerDeps, type HandlerContext } from './analysis-request-handler.js';
import type { AnalysisToSave } from './analysis-store.js';
import type { DeadLetterToPublish, StatusToPublish } from './pipeline-publisher.js';

/**
 * Requests handled together with the offline analyzer: one read per collection, one produce for
 * their PROCESSING, one bulk write, one produce for their outcomes. Large enough to amortise the
 * round trips, small enough that a chunk's COMPLETED statuses are not held back long behind the
 * rest of a big fetch (kafkajs hands over up to 1 MiB per partition). An analyzer that takes
 * seconds per request (LLM) gets chunks of one: its requests are analysed one at a time per
 * partition, so a chunk of 200 would hold the first one's COMPLETED back for minutes.
 */
export const OFFLINE_CHUNK_SIZE = 200;
/**
 * Requests analysed at once with an embedding analyzer: their texts go to the sidecar in one
 * request (about 4 texts an entry, ~30 ms a text on one core), so a chunk's COMPLETED statuses
 * wait about two seconds for the slowest.
 */
export const EMBEDDING_CHUNK_SIZE = 16;

export interface BatchContext {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
  heartbeat(): Promise<void>;
  /**
   * Marks every message up to `offset` done. kafkajs commits the resolved offsets after each batch,
   * and also when the batch handler throws, so finished chunks are not redone.
   */
  resolveOffset(offset: string): void;
  /** False once the consumer stops or the partition was revoked or sought: start no more work. */
  mayContinue(): boolean;
  signal: AbortSignal;
}

interface Request {
  message: KafkaMessage;
  req: AnalysisRequested;
  requestId: string | undefined;
}

/** The careful path's work in one chunk, per diary in offset order. */
type Deferred = { kind: 'handle'; message: KafkaMessage } | { kind: 'retry'; request: Request; error: Error };

/**
 * Handles a partition's batch chunk by chunk, at least once and idempotently, with the outcomes of
 * the one-message handler (`analysis-request-handler.ts`) for every request:
 *
 * 1. invalid messages → DLQ; each diary's first request in the chunk is checked against the store
 *    in bulk: older than the stored head → skipped, already analysed → COMPLETED again (same event
 *    id), otherwise PROCESSING (one produce for the chunk) and one analysis attempt;
 * 2. the successes are stored (unordered bulk inserts, idempotent by `_id`), then their COMPLETED
 *    statuses, the repeats' COMPLETED and the DLQ records go out in one produce;
 *    (with `insertFirst`, 1 and 2 are: analyse, store, which is the check, then one produce of
 *    PROCESSING + COMPLETED per fresh request, the repeats' COMPLETED and the DLQ records;)
 * 3. then, per diary in offset order and diaries in parallel, the careful path: a diary's later
 *    requests in the chunk (so its revisions are handled one after the other, as before) and the
 *    requests whose first attempt failed (retries with backoff, then COMPLETED or FAILED + DLQ).
 *    A failing request holds back neither the chunk's other COMPLETED statuses nor other diaries;
 * 4. only then is the chunk's last offset resolved (kafkajs commits it after the batch).
 *
 * An infrastructure error (MongoDB, Kafka) is thrown: the chunk and the rest of the batch stay
 * uncommitted and kafkajs delivers them again; what was stored is found on redelivery and
 * answered COMPLETED with the same event ids. A shutdown (signal) abandons the chunk uncommitted.
 */
export function createAnalysisBatchHandler(
  deps: AnalysisHandlerDeps,
  options: {
    chunkSize: number;
    /** Analyse a chunk's requests at the same time (an analyzer that batches them). */
    analyzeConcurrently?: boolean;
    /**
     * For an analyzer that costs only CPU (the offline one): analyse a chunk's first requests
     * straight away and let storing them be the check (`store.insertNew`), instead of asking the
     * store first. A chunk then costs one store round trip and one produce instead of a read, a
     * store and two produces. Each fresh request's PROCESSING goes out with its COMPLETED, in that
     * order, in the chunk's one produce (the analysis took a millisecond: there was no progress to
     * show in between). A redelivered request gets its stored outcome again and no PROCESSING; a
     * stale one gets nothing; the analysis of those two (rare) was wasted CPU. An analyzer that
     * costs money or seconds keeps checking first.
     */
    insertFirst?: boolean;
  },
) {
  const { analyzer, store, publisher, metrics } = deps;
  const log = deps.log.child({ component: 'analysis-batch' });
  const one = createAnalysisRequestHandler(deps);

  type Attempt = { ok: true; result: AnalysisResult } | { ok: false; error: Error };
  const attempt = (r: Request, signal: AbortSignal): Promise<Attempt> =>
    signal.aborted
      ? Promise.resolve({ ok: false, error: signal.reason instanceof Error ? signal.reason : new Error('aborted') })
      : one.analyzeOnce(r.req, signal).then(
      (result): Attempt => ({ ok: true, result }),
      (err: unknown): Attempt => ({ ok: false, error: err instanceof Error ? err : new Error(String(err)) }),
    );

  /**
   * One attempt at each request: all at once for an analyzer that batches or runs on threads
   * (`analyzeConcurrently`), else one after another (the offline analyzer on the event loop is
   * synchronous inside, so that is as fast; an LLM analyzer is called one request at a time).
   */
  const attemptAll = (requests: Request[], signal: AbortSignal): Promise<Attempt[]> =>
    options.analyzeConcurrently ? Promise.all(requests.map((r) => attempt(r, signal))) : sequentially(requests, (r) => attempt(r, signal));

  type Counts = { completed: number; duplicates: number; stale: number };

  /**
   * Asks the store about requests (one per diary): older than the stored head → skipped, already
   * analysed → their COMPLETED again (same event id) into `statuses`; the rest are `fresh`.
   */
  async function classify(requests: Request[], statuses: StatusToPublish[]): Promise<{ fresh: Request[]; stale: number }> {
    const [heads, existing] = await Promise.all([
      store.newestRevisions(requests.map((r) => r.req.diaryId)),
      store.findMany(requests.map((r) => r.req)),
    ]);
    const fresh: Request[] = [];
    let stale = 0;
    for (const r of requests) {
      const { req, requestId } = r;
      if ((heads.get(req.diaryId) ?? 0) > req.revision) {
        stale++;
        log.info({ diaryId: req.diaryId, revision: req.revision, requestId }, 'stale revision skipped');
        continue;
      }
      const done = existing.get(analysisId(req.diaryId, req.revision));
      if (done) statuses.push({ event: statusEvent(req, { status: 'COMPLETED', summary: summarize(done, done.analyzer) }), requestId });
      else fresh.push(r);
    }
    return { fresh, stale };
  }

  /** Asks the store which of the chunk's first requests are stale or done, then analyses the rest; fills `statuses` with what must go out. */
  async function checkFirst(ctx: BatchContext, firsts: Request[], deferred: Map<string, Deferred[]>, statuses: StatusToPublish[]): Promise<Counts> {
    const repeated = statuses.length;
    const { fresh, stale } = await classify(firsts, statuses);
    const duplicates = statuses.length - repeated;

    const saves: AnalysisToSave[] = [];
    if (fresh.length > 0) {
      // Produced while the analyses run; awaited before anything that must come after it (the
      // COMPLETED statuses, the careful path). Its error is kept, not left unhandled meanwhile.
      const processingSent = publisher
        .publish({ statuses: fresh.map(({ req, requestId }) => ({ event: statusEvent(req, { status: 'PROCESSING' }), requestId })) })
        .then(() => undefined, (err: unknown) => err ?? new Error('producing PROCESSING failed'));
      metrics.workerInFlight.inc(fresh.length);
      try {
        // An embedding analyzer gets the chunk's requests at once: its client sends them to the sidecar as one batch.
        const attempts = await attemptAll(fresh, ctx.signal);
        for (const [i, r] of fresh.entries()) {
          const outcome = attempts[i]!;
          if (!outcome.ok) {
            if (ctx.signal.aborted) throw outcome.error;
            // Retried on the careful path, before the diary's later requests in this chunk.
            deferred.get(r.req.diaryId)!.unshift({ kind: 'retry', request: r, error: outcome.error });
            continue;
          }
          const result = outcome.result;
          const provenance = provenanceOf(result, analyzer);
          const { req, requestId } = r;
          saves.push({ ref: { diaryId: req.diaryId, userId: req.userId, revision: req.revision }, analyzer: provenance, result, requestedAt: new Date(req.occurredAt) });
          statuses.push({ event: statusEvent(req, { status: 'COMPLETED', summary: summarize(result, provenance.name) }), requestId });
        }
      } finally {
        metrics.workerInFlight.dec(fresh.length);
      }
      // The analyses are stored while their PROCESSING is still being produced: both must be done
      // before their COMPLETED goes out, neither needs the other.
      const [failed] = await Promise.all([processingSent, store.saveMany(saves)]);
      if (failed) throw failed;
    }
    return { completed: saves.length, duplicates, stale };
  }

  /** Analyses the chunk's first requests, then stores them, which tells which were stale or done (see `insertFirst`). */
  async function insertFirst(ctx: BatchContext, firsts: Request[], deferred: Map<string, Deferred[]>, statuses: StatusToPublish[]): Promise<Counts> {
    metrics.workerInFlight.inc(firsts.length);
    let attempts: Attempt[];
    try {
      attempts = await attemptAll(firsts, ctx.signal);
    } finally {
      metrics.workerInFlight.dec(firsts.length);
    }
    const analysed: Array<{ request: Request; result: AnalysisResult; analyzerName: string }> = [];
    const saves: AnalysisToSave[] = [];
    const failed = new Map<Request, Error>();
    for (const [i, r] of firsts.entries()) {
      const outcome = attempts[i]!;
      if (!outcome.ok) {
        if (ctx.signal.aborted) throw outcome.error;
        failed.set(r, outcome.error);
        continue;
      }
      const provenance = provenanceOf(outcome.result, analyzer);
      analysed.push({ request: r, result: outcome.result, analyzerName: provenance.name });
      saves.push({ ref: { diaryId: r.req.diaryId, userId: r.req.userId, revision: r.req.revision }, analyzer: provenance, result: outcome.result, requestedAt: new Date(r.req.occurredAt) });
    }
    const counts: Counts = { completed: 0, duplicates: 0, stale: 0 };
    if (failed.size > 0) {
      // Rare (a poison message, an analyzer bug): checked the careful way, their PROCESSING sent,
      // then retried on the careful path before the diary's later requests in this chunk.
      const repeated = statuses.length;
      const { fresh, stale } = await classify([...failed.keys()], statuses);
      counts.duplicates += statuses.length - repeated;
      counts.stale += stale;
      if (fresh.length > 0) await publisher.publish({ statuses: fresh.map(({ req, requestId }) => ({ event: statusEvent(req, { status: 'PROCESSING' }), requestId })) });
      for (const r of fresh) deferred.get(r.req.diaryId)!.unshift({ kind: 'retry', request: r, error: failed.get(r)! });
    }
    const stored = await store.insertNew(saves);
    for (const [i, { request, result, analyzerName }] of analysed.entries()) {
      const { req, requestId } = request;
      const outcome = stored[i]!;
      if (outcome.kind === 'stale') {
        counts.stale++;
        log.info({ diaryId: req.diaryId, revision: req.revision, newest: outcome.newest, requestId }, 'stale revision skipped');
      } else if (outcome.kind === 'done') {
        counts.duplicates++;
        statuses.push({ event: statusEvent(req, { status: 'COMPLETED', summary: summarize(outcome.stored, outcome.stored.analyzer) }), requestId });
      } else {
        counts.completed++;
        statuses.push({ event: statusEvent(req, { status: 'PROCESSING' }), requestId });
        statuses.push({ event: statusEvent(req, { status: 'COMPLETED', summary: summarize(result, analyzerName) }), requestId });
      }
    }
    return counts;
  }

  async function handleChunk(ctx: BatchContext, messages: KafkaMessage[]): Promise<void> {
    const deadLetters: DeadLetterToPublish[] = [];
    const firsts: Request[] = [];
    const deferred = new Map<string, Deferred[]>();
    for (const message of messages) {
      const parsed = parseEvent(analysisRequestedSchema, message.value);
      if (!parsed.ok) {
        deadLetters.push(invalidMessageRecord({ topic: ctx.topic, partition: ctx.partition, message }, parsed.error));
        log.warn({ offset: message.offset, partition: ctx.partition, error: parsed.error }, 'invalid analysis request dead-lettered');
        continue;
      }
      const later = deferred.get(parsed.event.diaryId);
      if (later) later.push({ kind: 'handle', message });
      else {
        deferred.set(parsed.event.diaryId, []);
        firsts.push({ message, req: parsed.event, requestId: message.headers?.requestId?.toString() });
      }
    }

    const statuses: StatusToPublish[] = [];
    const counts = options.insertFirst ? await insertFirst(ctx, firsts, deferred, statuses) : await checkFirst(ctx, firsts, deferred, statuses);
    await publisher.publish({ statuses, deadLetters });
    if (counts.completed > 0) metrics.workerProcessedTotal.inc({ outcome: 'completed' }, counts.completed);
    if (counts.duplicates > 0) metrics.workerProcessedTotal.inc({ outcome: 'duplicate' }, counts.duplicates);
    if (counts.stale > 0) metrics.workerProcessedTotal.inc({ outcome: 'skipped_stale' }, counts.stale);
    if (deadLetters.length > 0) metrics.workerDlqTotal.inc({ reason: 'invalid_message' }, deadLetters.length);

    const careful = [...deferred.values()].filter((work) => work.length > 0);
    await Promise.all(
      careful.map(async (work) => {
        for (const step of work) {
          const at = step.kind === 'handle' ? step.message : step.request.message;
          const msgCtx: HandlerContext = { topic: ctx.topic, partition: ctx.partition, message: at, heartbeat: ctx.heartbeat, signal: ctx.signal };
          if (step.kind === 'handle') await one.handle(msgCtx);
          else await one.retryAfterFirstAttempt(msgCtx, step.request.req, step.request.requestId, step.error);
        }
      }),
    );
  }

  return async function handleBatch(ctx: BatchContext): Promise<void> {
    const size = Math.max(1, options.chunkSize);
    for (let start = 0; start < ctx.messages.length; start += size) {
      if (!ctx.mayContinue()) return;
      const chunk = ctx.messages.slice(start, start + size);
      const stopBeats = heartbeatWhile(ctx);
      try {
        await handleChunk(ctx, chunk);
      } finally {
        stopBeats();
      }
      ctx.resolveOffset(chunk.at(-1)!.offset);
      await ctx.heartbeat();
    }
  };
}

export type AnalysisBatchHandler = ReturnType<typeof createAnalysisBatchHandler>;

async function sequentially<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (const item of items) out.push(await fn(item));
  return out;
}
