import type { Consumer, Kafka } from 'kafkajs';
import { analysisStatusSchema, parseEvent, type AnalysisStatusEvent } from '../../kernel/contracts/analysis-events.js';
import type { AnalysisRepository } from '../analysis/analysis-repository.js';
import type { DiaryRepository } from '../diaries/diary-repository.js';
import { watchConsumerCrashes } from '../../kernel/consumer-health.js';
import { startConsumerLagReporter } from '../../kernel/consumer-lag.js';
import type { TopicNames } from '../../kernel/contracts/analysis-events.js';
import type { Logger } from '../../kernel/logger.js';
import type { Metrics } from '../../kernel/metrics.js';
import type { NotificationService } from './notification-service.js';

export const GATEWAY_GROUP = 'realtime-gateway';

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
 * (deduplicated by eventId) and hands it to delivery. Order is kept per diary (the partition key).
 * Database errors are thrown, so the offset is not committed and the event is retried.
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
  sessionTimeoutMs: number;
}) {
  const { diaries, metrics } = deps;
  const log = deps.log.child({ component: 'status-consumer' });
  const groupId = `${deps.groupPrefix}${GATEWAY_GROUP}`;
  const consumer: Consumer = deps.kafka.consumer({
    groupId,
    sessionTimeout: deps.sessionTimeoutMs,
    // Bounds how long a stop waits for an idle long-poll fetch; data still arrives immediately.
    maxWaitTimeInMs: 1_000,
    heartbeatInterval: Math.min(3_000, Math.floor(deps.sessionTimeoutMs / 3)),
  });
  const health = watchConsumerCrashes(consumer, { name: 'status-consumer', log, onFatal: deps.onFatal });
  const admin = deps.kafka.admin();
  let lag: { stop(): Promise<void> } | undefined;

  async function handle(event: AnalysisStatusEvent): Promise<'applied' | 'duplicate' | 'stale' | 'orphan'> {
    const summary = event.status === 'COMPLETED' ? event.summary : undefined;
    const applied = await diaries.applyAnalysisStatus(event.userId, event.diaryId, {
      revision: event.revision,
      status: event.status,
      emotionStatus: summary?.emotionStatus,
      alternativeThought: summary?.alternativeThought ?? null,
    });
    /** The entry was deleted while this event was on its way: remove what it left behind. */
    const orphan = async () => {
      await deps.analyses.deleteForDiary(event.userId, event.diaryId);
      await deps.notifications.removeForDiary(event.userId, event.diaryId);
      return 'orphan' as const;
    };
    if (!applied) {
      const diary = await diaries.findOwned(event.userId, event.diaryId);
      if (!diary) return orphan();
      if (diary.statusRevision !== event.revision) return 'stale';
    }
    // Idempotent: a redelivered event finds its notification already stored.
    const stored = await deps.notifications.store(event.userId, { eventId: event.eventId, type: 'analysis.status', payload: notificationPayload(event), diaryId: event.diaryId });
    // A deletion between the status update and the store has run its cleanup before this
    // notification existed: look again now that it does. A deletion after this look finds it.
    if (!(await diaries.exists(event.userId, event.diaryId))) return orphan();
    deps.notifications.deliver(event.userId, stored);
    if (applied && event.status !== 'PROCESSING') {
      if (event.requestedAt) {
        metrics.analysisEndToEndLatency.observe({ status: event.status }, Math.max(0, Date.now() - Date.parse(event.requestedAt)) / 1000);
      }
      deps.events.analysisFinished({ userId: event.userId, diaryId: event.diaryId, revision: event.revision, status: event.status, emotionStatus: summary?.emotionStatus });
    }
    return applied ? 'applied' : 'duplicate';
  }

  return {
    groupId,
    /** Readiness: fails once the consumer has crashed for good. */
    health,
    async start(): Promise<void> {
      await admin.connect();
      await consumer.connect();
      await consumer.subscribe({ topic: deps.topics.analysisStatus, fromBeginning: true });
      await consumer.run({
        partitionsConsumedConcurrently: deps.partitionsConcurrently,
        eachMessage: async ({ message, partition }) => {
          const parsed = parseEvent(analysisStatusSchema, message.value);
          if (!parsed.ok) {
            metrics.kafkaMessagesConsumedTotal.inc({ group: GATEWAY_GROUP, outcome: 'invalid' });
            log.warn({ partition, offset: message.offset, error: parsed.error }, 'invalid status event skipped');
            return;
          }
          try {
            const outcome = await handle(parsed.event);
            metrics.kafkaMessagesConsumedTotal.inc({ group: GATEWAY_GROUP, outcome });
          } catch (err) {
            metrics.kafkaMessagesConsumedTotal.inc({ group: GATEWAY_GROUP, outcome: 'error' });
            log.error({ err, partition, offset: message.offset }, 'status event not applied; it will be retried');
            throw err;
          }
        },
      });
      lag = startConsumerLagReporter({ admin, groupId, topic: deps.topics.analysisStatus, metrics, log });
    },
    async stop(): Promise<void> {
      await consumer.disconnect().catch(() => undefined);
      await lag?.stop();
      await admin.disconnect().catch(() => undefined);
    },
  };
}
