import type { Kafka } from 'kafkajs';
import { Transaction, type Sequelize } from 'sequelize';
import type { Logger } from '../../kernel/logger.js';
import type { Metrics } from '../../kernel/metrics.js';
import { backoffDelay, sleep } from '../../kernel/backoff.js';
import { ensureTopics, type TopicLayout } from '../../kernel/clients/kafka.js';
import { createPipelineProducer, type PipelineProducerOptions } from '../../kernel/clients/kafka-producer.js';
import { type TopicNames } from '../../kernel/contracts/analysis-events.js';
import type { ClaimedOutboxRow, OutboxRepository } from './outbox-repository.js';

export interface OutboxRelayOptions {
  batchSize: number;
  pollIntervalMs: number;
  maxBackoffMs: number;
  /** How the topics are created when missing. */
  topicLayout: TopicLayout;
  /** Idempotence and metadata age of its producer (default: idempotent, kafkajs's metadata age). */
  producer?: Omit<PipelineProducerOptions, 'retry'>;
  /** How long published rows are kept before they are purged. */
  retentionSec?: number;
}

export interface OutboxRelay {
  start(): void;
  /** Asks the relay to look for work now (called after a write commits), instead of at the next poll. */
  wake(): void;
  stop(): Promise<void>;
}

/**
 * Publishes pending outbox rows to Kafka. Rows are claimed with FOR UPDATE SKIP LOCKED inside a
 * transaction that stays open while the batch is sent, then marked SENT in the same transaction:
 * a crash before commit leaves them PENDING (published at least once, never lost). When Kafka
 * is down the relay backs off exponentially with jitter and the backlog gauge grows.
 */
export function createOutboxRelay(deps: {
  sequelize: Sequelize;
  outbox: OutboxRepository;
  kafka: Kafka;
  topics: TopicNames;
  metrics: Metrics;
  log: Logger;
  options: OutboxRelayOptions;
}): OutboxRelay {
  const { sequelize, outbox, metrics, options } = deps;
  const log = deps.log.child({ component: 'outbox-relay' });
  const producer = createPipelineProducer(deps.kafka, {
    idempotent: options.producer?.idempotent ?? true,
    metadataMaxAgeMs: options.producer?.metadataMaxAgeMs ?? 300_000,
    // The relay has its own backoff; fail a send fast rather than hold row locks for long. A
    // failed batch stays PENDING and is sent again (by a new producer: see createPipelineProducer).
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  let producerReady = false;
  let controller = new AbortController();
  let wakeUp: (() => void) | undefined;
  /** A wake that arrived while a batch ran: that batch may have looked before the write committed. */
  let wokenDuringBatch = false;
  let loop: Promise<void> | undefined;
  let housekeepingTimer: NodeJS.Timeout | undefined;
  let lastPurgeAt = 0;

  async function ensureProducer(): Promise<void> {
    if (producerReady) return;
    await producer.connect();
    const admin = deps.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, deps.topics, options.topicLayout);
    } finally {
      await admin.disconnect();
    }
    producerReady = true;
  }

  async function publish(rows: ClaimedOutboxRow[]): Promise<void> {
    const byTopic = new Map<string, ClaimedOutboxRow[]>();
    for (const row of rows) byTopic.set(row.topic, [...(byTopic.get(row.topic) ?? []), row]);
    await producer.sendBatch({
      topicMessages: [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((r) => ({ key: r.key, value: r.value, headers: { ...r.headers, eventId: r.eventId } })),
      })),
    });
  }

  /** One claim-publish-mark round. Returns how many rows were published, or an error. */
  async function relayBatch(): Promise<{ published: number; error?: Error }> {
    // READ COMMITTED: the locking read takes row locks only. Under REPEATABLE READ it would also
    // take gap locks, and every diary write (an outbox insert) would wait for this transaction,
    // i.e. for Kafka, which is exactly what the outbox exists to avoid.
    // Connecting (and creating topics) happens before any row is locked: it may take a while.
    await ensureProducer();
    return sequelize.transaction({ isolationLevel: Transaction.ISOLATION_LEVELS.READ_COMMITTED }, async (transaction) => {
      const rows = await outbox.claimDue(options.batchSize, transaction);
      if (rows.length === 0) return { published: 0 };
      const ids = rows.map((r) => r.id);
      try {
        await publish(rows);
      } catch (err) {
        producerReady = false;
        const error = err instanceof Error ? err : new Error(String(err));
        await outbox.markFailed(ids, error.message, options.pollIntervalMs, options.maxBackoffMs, transaction);
        metrics.outboxPublishFailuresTotal.inc();
        return { published: 0, error };
      }
      await outbox.markSent(ids, transaction);
      metrics.outboxPublishedTotal.inc(rows.length);
      return { published: rows.length };
    });
  }

  /** Backlog gauge and purge run on their own timer: they must keep going while a publish hangs. */
  async function housekeeping(): Promise<void> {
    const { pending, oldestAgeSec } = await outbox.backlog();
    metrics.outboxBacklog.set(pending);
    metrics.outboxOldestPendingAge.set(oldestAgeSec);
    if (Date.now() - lastPurgeAt >= 60_000) {
      lastPurgeAt = Date.now();
      await outbox.purgeSent(options.retentionSec ?? 3_600);
    }
  }

  async function run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      let wait = options.pollIntervalMs;
      // Cleared before the claim: a wake from here on may be for a row the claim does not see.
      wokenDuringBatch = false;
      try {
        const { published, error } = await relayBatch();
        if (error) throw error;
        if (failures > 0) log.info({ afterFailures: failures }, 'outbox publishing recovered');
        failures = 0;
        if (published === options.batchSize) continue;
        if (published > 0) wait = 0;
      } catch (err) {
        failures++;
        wait = backoffDelay(failures + 1, { baseMs: options.pollIntervalMs, maxMs: options.maxBackoffMs });
        if (failures === 1 || failures % 10 === 0) log.warn({ err, failures, retryInMs: wait }, 'outbox publish failed');
      }
      if (wait > 0 && failures > 0) {
        // While Kafka is failing, a new write must not cut the backoff short.
        await sleep(wait, signal);
      } else if (wait > 0 && !wokenDuringBatch) {
        await Promise.race([sleep(wait, signal), new Promise<void>((resolve) => (wakeUp = resolve))]);
        wakeUp = undefined;
      }
    }
  }

  return {
    start() {
      if (loop) return;
      controller = new AbortController();
      loop = run(controller.signal);
      housekeepingTimer = setInterval(() => {
        housekeeping().catch((err: unknown) => log.warn({ err }, 'outbox housekeeping failed'));
      }, 1_000);
      housekeepingTimer.unref();
    },
    wake() {
      wokenDuringBatch = true;
      wakeUp?.();
    },
    async stop() {
      clearInterval(housekeepingTimer);
      controller.abort();
      wakeUp?.();
      await loop;
      loop = undefined;
      await producer.disconnect().catch(() => undefined);
    },
  };
}
