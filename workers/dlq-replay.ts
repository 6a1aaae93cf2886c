import { Partitioners, type Kafka } from 'kafkajs';
import { dlqRecordSchema, parseEvent } from '../kernel/contracts/analysis-events.js';
import type { TopicNames } from '../kernel/contracts/analysis-events.js';
import type { Logger } from '../kernel/logger.js';

export interface DlqReplayResult {
  replayed: number;
  skipped: number;
}

/**
 * `dlq:replay`: re-queues dead-lettered analysis requests onto the request topic, unchanged, and
 * commits its own progress (consumer group `<prefix>dlq-replayer`), so a record is replayed once.
 * Records of invalid messages are skipped unless `includeInvalid` is set: replaying them would
 * only dead-letter them again. Stops at `limit` records or when it has caught up.
 */
export async function replayDeadLetters(deps: { kafka: Kafka; topics: TopicNames; log: Logger; groupPrefix: string }, options: { limit: number; includeInvalid?: boolean }): Promise<DlqReplayResult> {
  const { kafka, topics, log } = deps;
  const groupId = `${deps.groupPrefix}dlq-replayer`;
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const result: DlqReplayResult = { replayed: 0, skipped: 0 };

  await admin.connect();
  let ends: Map<number, number>;
  const remaining = new Map<number, number>();
  try {
    // What is left per partition: from this group's committed offset (or the start) to the end.
    ends = new Map((await admin.fetchTopicOffsets(topics.analysisDlq)).map((p) => [p.partition, Number(p.high)]));
    const starts = new Map((await admin.fetchTopicOffsets(topics.analysisDlq)).map((p) => [p.partition, Number(p.low)]));
    const committed = (await admin.fetchOffsets({ groupId, topics: [topics.analysisDlq] }))[0]?.partitions ?? [];
    const committedBy = new Map(committed.map((p) => [p.partition, Number(p.offset)]));
    for (const [partition, high] of ends) {
      const from = (committedBy.get(partition) ?? -1) >= 0 ? committedBy.get(partition)! : (starts.get(partition) ?? 0);
      remaining.set(partition, high - from);
    }
  } finally {
    await admin.disconnect();
  }

  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topic: topics.analysisDlq, fromBeginning: true });

  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const checkDone = () => {
    if (result.replayed + result.skipped >= options.limit || [...remaining.values()].every((left) => left <= 0)) finish();
  };

  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      if (result.replayed + result.skipped >= options.limit) return;
      const parsed = parseEvent(dlqRecordSchema, message.value);
      const record = parsed.ok ? parsed.event : undefined;
      if (record && record.originalValue !== null && (record.reason === 'analysis_failed' || options.includeInvalid)) {
        await producer.send({
          topic: topics.analysisRequested,
          acks: -1,
          messages: [{ key: record.originalKey, value: record.originalValue, headers: { replayOf: record.eventId } }],
        });
        result.replayed++;
      } else {
        result.skipped++;
      }
      await consumer.commitOffsets([{ topic: topics.analysisDlq, partition, offset: String(Number(message.offset) + 1) }]);
      remaining.set(partition, (ends.get(partition) ?? 0) - (Number(message.offset) + 1));
      checkDone();
    },
  });
  // Already caught up (empty DLQ, or everything replayed before): nothing to wait for.
  checkDone();

  await finished;
  await consumer.disconnect();
  await producer.disconnect();
  log.info(result, 'dead letters replayed');
  return result;
}
