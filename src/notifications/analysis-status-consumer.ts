import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { parseEvent, statusTopicEventSchema, type AnalysisStatusEvent, type DiaryDeletedEvent } from '../../kernel/contracts/analysis-events.js';
import type { AnalysisRepository } from '../analysis/analysis-repository.js';
import type { DiaryRepository } from '../diaries/diary-repository.js';
import { superviseConsumer } from '../../kernel/consumer-health.js';
import { startConsumerLagReporter } from '../../kernel/consumer-lag.js';
import type { TopicNames } from '../../kernel/contracts/analysis-events.js';
import type { Logger } from '../../kernel/logger.js';
import type { Metrics } from '../../kernel/metrics.js';
import { noReadYourWrites, type ReadYourWrites } from '../../kernel/replica-reads.js';
import type { NotificationService } from './notification-service.js';

export const GATEWAY_GROUP = 'realtime-gateway';

/** Messages of a fetched batch handled together before their offsets are resolved and committed. */
const SLICE = 200;

type Outcome = 'applied' | 'duplicate' | 'stale' | 'orphan' | 'superseded' | 'deletion';

/** What one diary's events of a slice did to its row, and the notifications they leave. */
interface DiaryPlan {
  diaryId: string;
  events: AnalysisStatusEvent[];
  /** The entry no longer exists. */
  gone: boolean;
  toStore: Array<{ event: AnalysisStatusEvent; applied: boolean }>;
  outcomes: Outcome[];
}

/** Like Promise.all, but rejects only once every promise has settled (nothing left writing). */
async function settleAll<T>(promises: Array<Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Told about final analysis outcomes (the admin activity feed). */
export interface AnalysisOutcomeEvents {
  analysisFinished(e: { userId: string; diaryId: string; revision: number; status: 'COMPLETED' | 'FAILED'; emotionStatus?: string }): void;
}

function notificationPayload(event: AnalysisStatusEvent): Record<string, unknown> {
  const base = { diaryId: event.diaryId, revision: event.revision, status: event.status };
  if (event.status === 'COMPLETED') {
    const { analyzer: _analyzer, ...summary } = event.summary;
    return { ...base, summary };
  }
  if (event.status === 'FAILED') return { ...base, error: event.error };
  return base;
}

/**
 * The API side of the pipeline (consumer group `realtime-gateway` on the status topic): applies
 * each status event to its diary row unless it is stale, stores an inbox notification
 * (deduplicated by eventId) and hands it to delivery. Order is kept per user (the partition key,
 * so one consumer stores a user's notifications and their numbers follow the order they are
 * stored in; one diary's events of a batch are handled one after the other). A `diary.deleted`
 * event (from the delete's outbox) removes what the entry left in the store. Batches are handled in
 * slices; a slice's offsets are resolved and committed only once all of it is done. Database
 * errors are thrown, so the slice is not committed and its events are retried.
 */
export function createAnalysisStatusConsumer(deps: {
  kafka: Kafka;
  topics: TopicNames;
  groupPrefix: string;
  diaries: DiaryRepository;
  analyses: AnalysisRepository;
  notifications: NotificationService;
  events: AnalysisOutcomeEvents;
  /** The consumer crashed beyond kafkajs's own restarts: the process must stop. */
  onFatal: (err: Error) => void;
  metrics: Metrics;
  log: Logger;
  partitionsConcurrently: number;
  /** Users of one batch handled at the same time (default 1: one after the other). */
  usersConcurrently?: number;
  /** Told when a user's rows changed, before their notifications go out: a device that refetches its list on one sees the change. */
  readYourWrites?: ReadYourWrites;
  sessionTimeoutMs: number;
  /** How soon partitions added to the status topic are noticed (a rebalance then takes them on). */
  metadataMaxAgeMs?: number;
}) {
  const { diaries, metrics } = deps;
  const readYourWrites = deps.readYourWrites ?? noReadYourWrites;
  const usersConcurrently = deps.usersConcurrently ?? 1;
  const log = deps.log.child({ component: 'status-consumer' });
  const groupId = `${deps.groupPrefix}${GATEWAY_GROUP}`;
  const consumer: Consumer = deps.kafka.consumer({
    groupId,
    sessionTimeout: deps.sessionTimeoutMs,
    ...(deps.metadataMaxAgeMs ? { metadataMaxAge: deps.metadataMaxAgeMs } : {}),
    // Bounds how long a stop waits for an idle long-poll fetch; data still arrives immediately.
    maxWaitTimeInMs: 1_000,
    heartbeatInterval: Math.min(3_000, Math.floor(deps.sessionTimeoutMs / 3)),
  });
  const runConsumer = async () => {
    await consumer.connect();
    await consumer.run({ partitionsConsumedConcurrently: deps.partitionsConcurrently, eachBatchAutoResolve: false, eachBatch });
  };
  const health = superviseConsumer(consumer, { name: 'status-consumer', log, onFatal: deps.onFatal, start: runConsumer });
  const admin = deps.kafka.admin();
  let lag: { stop(): Promise<void> } | undefined;

  /** What an event did to its diary row: changed it, found it already there, too old, or the entry is gone. */
  async function applyToRow(event: AnalysisStatusEvent): Promise<'applied' | 'current' | 'stale' | 'gone'> {
    const summary = event.status === 'COMPLETED' ? event.summary : undefined;
    const applied = await diaries.applyAnalysisStatus(event.userId, event.diaryId, {
      revision: event.revision,
      status: event.status,
      emotionStatus: summary?.emotionStatus,
      alternativeThought: summary?.alternativeThought ?? null,
    });
    if (applied) return 'applied';
    const diary = await diaries.findOwned(event.userId, event.diaryId);
    if (!diary) return 'gone';
    return diary.statusRevision === event.revision ? 'current' : 'stale';
  }

  /** The entry was deleted while its events were on their way: remove what they left behind. */
  async function removeOrphaned(userId: string, diaryId: string): Promise<void> {
    await deps.analyses.deleteForDiary(userId, diaryId);
    await deps.notifications.removeForDiary(userId, diaryId);
  }

  /**
   * The row half of one diary's events from one slice, in order. Each event reaches the row
   * unless stale, except a PROCESSING that a later terminal status of the same revision
   * supersedes: the row goes straight to that status (the SQL staleness rules allow PENDING ->
   * COMPLETED), one UPDATE fewer. Its notification is still stored, before the terminal one, since
   * a device is promised PROCESSING and then the outcome; its fate (stale, entry gone) is that of
   * the event superseding it.
   */
  async function applyDiary(events: AnalysisStatusEvent[]): Promise<DiaryPlan> {
    const plan: DiaryPlan = { diaryId: events[0]!.diaryId, events, gone: false, toStore: [], outcomes: [] };
    let held: AnalysisStatusEvent[] = [];
    for (const [i, event] of events.entries()) {
      if (event.status === 'PROCESSING' && events.slice(i + 1).some((e) => e.revision === event.revision && e.status !== 'PROCESSING')) {
        held.push(event);
        continue;
      }
      const verdict = await applyToRow(event);
      if (verdict === 'gone') return { ...plan, gone: true, toStore: [], outcomes: events.map(() => 'orphan') };
      for (const e of [...held, event]) {
        if (verdict === 'stale') {
          plan.outcomes.push('stale');
          continue;
        }
        plan.toStore.push({ event: e, applied: e === event && verdict === 'applied' });
        plan.outcomes.push(e !== event ? 'superseded' : verdict === 'applied' ? 'applied' : 'duplicate');
      }
      held = [];
    }
    return plan;
  }

  /**
   * One user's events of a slice: the rows first (the user's diaries side by side, each in
   * order), then every notification they leave in one ordered store (one number reservation),
   * then one look per diary whether the entry still exists, then delivery.
   */
  async function handleUser(userId: string, byDiary: AnalysisStatusEvent[][]): Promise<Outcome[]> {
    const plans = await settleAll(byDiary.map(applyDiary));
    if (plans.some((p) => p.toStore.some((s) => s.applied))) await readYourWrites.wrote(userId);
    const inputs = plans.flatMap((p) => p.toStore.map(({ event }) => ({ eventId: event.eventId, type: 'analysis.status', payload: notificationPayload(event), diaryId: p.diaryId })));
    // Idempotent: a redelivered event finds its notification already stored.
    const stored = await deps.notifications.storeMany(userId, inputs);
    // A deletion between the status update and the store has run its cleanup before these
    // notifications existed: look again now that they do. A deletion after this look finds them.
    const alive = await settleAll(plans.map((p) => (p.gone ? Promise.resolve(false) : p.toStore.length === 0 ? Promise.resolve(true) : diaries.exists(userId, p.diaryId))));
    const outcomes: Outcome[] = [];
    let next = 0;
    for (const [i, plan] of plans.entries()) {
      const results = stored.slice(next, next + plan.toStore.length);
      next += plan.toStore.length;
      if (!alive[i]) {
        await removeOrphaned(userId, plan.diaryId);
        outcomes.push(...plan.events.map(() => 'orphan' as const));
        continue;
      }
      outcomes.push(...plan.outcomes);
      for (const [j, { event, applied }] of plan.toStore.entries()) {
        deps.notifications.deliver(userId, results[j]!);
        if (applied && event.status !== 'PROCESSING') {
          if (event.requestedAt) {
            metrics.analysisEndToEndLatency.observe({ status: event.status }, Math.max(0, Date.now() - Date.parse(event.requestedAt)) / 1000);
          }
          const emotionStatus = event.status === 'COMPLETED' ? event.summary.emotionStatus : undefined;
          deps.events.analysisFinished({ userId, diaryId: plan.diaryId, revision: event.revision, status: event.status, emotionStatus });
        }
      }
    }
    return outcomes;
  }

  /**
   * Valid events of a slice of a batch, grouped by user, users `usersConcurrently` at a time (a
   * user's notification numbers come from one head: its stores must not race each other). Every
   * user in flight is waited for before the first error is thrown, so nothing is still writing
   * when the slice is retried.
   */
  async function handleEvents(events: AnalysisStatusEvent[], deletions: DiaryDeletedEvent[]): Promise<void> {
    const byUser = new Map<string, Map<string, AnalysisStatusEvent[]>>();
    for (const event of events) {
      const diariesOfUser = byUser.get(event.userId) ?? new Map<string, AnalysisStatusEvent[]>();
      byUser.set(event.userId, diariesOfUser);
      diariesOfUser.set(event.diaryId, [...(diariesOfUser.get(event.diaryId) ?? []), event]);
    }
    const users = [...byUser];
    let next = 0;
    let failure: { err: unknown } | undefined;
    const lane = async () => {
      while (next < users.length && !failure) {
        const [userId, byDiary] = users[next++]!;
        try {
          for (const outcome of await handleUser(userId, [...byDiary.values()])) metrics.kafkaMessagesConsumedTotal.inc({ group: GATEWAY_GROUP, outcome });
        } catch (err) {
          metrics.kafkaMessagesConsumedTotal.inc({ group: GATEWAY_GROUP, outcome: 'error' }, [...byDiary.values()].reduce((n, e) => n + e.length, 0));
          failure ??= { err };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(usersConcurrently, users.length) }, lane));
    if (failure) throw failure.err;
    // After the statuses of the slice: whatever they stored for a deleted entry goes too.
    await settleAll(deletions.map((d) => removeOrphaned(d.userId, d.diaryId)));
    if (deletions.length > 0) metrics.kafkaMessagesConsumedTotal.inc({ group: GATEWAY_GROUP, outcome: 'deletion' }, deletions.length);
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    for (let from = 0; from < batch.messages.length; from += SLICE) {
      if (!isRunning() || isStale()) return;
      const slice = batch.messages.slice(from, from + SLICE);
      const events: AnalysisStatusEvent[] = [];
      const deletions: DiaryDeletedEvent[] = [];
      for (const message of slice) {
        const parsed = parseEvent(statusTopicEventSchema, message.value);
        if (parsed.ok) {
          if (parsed.event.type === 'diary.deleted') deletions.push(parsed.event);
          else events.push(parsed.event);
        } else {
          metrics.kafkaMessagesConsumedTotal.inc({ group: GATEWAY_GROUP, outcome: 'invalid' });
          log.warn({ partition: batch.partition, offset: message.offset, error: parsed.error }, 'invalid status event skipped');
        }
      }
      try {
        await handleEvents(events, deletions);
      } catch (err) {
        log.error({ err, partition: batch.partition, offset: slice[0]!.offset, events: slice.length }, 'status events not applied; they will be retried');
        throw err;
      }
      // Only now is the slice done: its offsets may be committed.
      resolveOffset(slice[slice.length - 1]!.offset);
      await commitOffsetsIfNecessary();
      await heartbeat();
    }
  }

  return {
    groupId,
    /** Readiness: fails while the consumer reconnects to Kafka and once it has crashed for good. */
    health,
    async start(): Promise<void> {
      await admin.connect();
      await consumer.subscribe({ topic: deps.topics.analysisStatus, fromBeginning: true });
      await runConsumer();
      lag = startConsumerLagReporter({ admin, groupId, topic: deps.topics.analysisStatus, metrics, log });
    },
    async stop(): Promise<void> {
      health.stop();
      await consumer.disconnect().catch(() => undefined);
      await lag?.stop();
      await admin.disconnect().catch(() => undefined);
    },
  };
}
