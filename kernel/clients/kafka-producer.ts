import { AsyncLocalStorage } from 'node:async_hooks';
import { Partitioners, type Kafka, type Producer, type ProducerBatch, type ProducerRecord, type RecordMetadata, type RetryOptions } from 'kafkajs';
import type { AppConfig } from '../../config/index.js';
import { createGroupCommit } from '../group-commit.js';

/** A producer of the pipeline's events: every send waits for all in-sync replicas (acks -1). */
export interface PipelineProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: Pick<ProducerRecord, 'topic' | 'messages'>): Promise<RecordMetadata[]>;
  sendBatch(batch: Pick<ProducerBatch, 'topicMessages'>): Promise<RecordMetadata[]>;
}

export interface PipelineProducerOptions {
  /** Kafka's idempotent producer (config `kafka.idempotentProducers`). */
  idempotent: boolean;
  /** How old its view of the topics may get: a partition added to a live topic is used after at most this. */
  metadataMaxAgeMs: number;
  retry?: RetryOptions;
}

/** The options of `config.kafka` a pipeline producer follows. */
export function pipelineProducerOptions(kafka: Pick<AppConfig['kafka'], 'idempotentProducers' | 'metadataMaxAgeMs'>, retry?: RetryOptions): PipelineProducerOptions {
  return { idempotent: kafka.idempotentProducers, metadataMaxAgeMs: kafka.metadataMaxAgeMs, ...(retry ? { retry } : {}) };
}

/** A send kafkajs acknowledged although some partitions it was meant for never answered. */
export class IncompleteSendError extends Error {
  override name = 'IncompleteSendError';
  constructor(readonly missing: string[]) {
    super(`kafkajs acknowledged a send without an answer for ${missing.join(', ')}; the whole send failed`);
  }
}

/**
 * A producer that always asks for acks from every in-sync replica and never reports a send done
 * that was not written. Two traps of kafkajs 2.2 are closed here:
 *
 * 1. A send that failed at one broker is retried only to the brokers that have not answered yet.
 *    When the failed broker's partitions moved meanwhile (it died; the cluster elected new
 *    leaders) to a broker that had answered, their messages are never sent and the send resolves
 *    as if they were (kafkajs issue 1303; the replication test lost 2 of 140 entries so). The
 *    partitions a send's messages were assigned to in its last attempt are recorded (through the
 *    partitioner, per send), and a send whose answers lack any of them fails as a whole: its
 *    caller sends it again (duplicates for the partitions that did answer, which consumers
 *    deduplicate).
 * 2. Idempotent: the producer numbers each partition's batches so a broker writes a batch once
 *    however often it is retried within a send. When a send fails for good kafkajs takes its
 *    numbers back; if a broker had written that batch after all, the next, different batch with
 *    those numbers is refused for ever (out of order) or acknowledged as the duplicate it is not.
 *    So after a failed send the next one starts a new producer (new id, numbers from 0), and
 *    sends go one at a time so that a renewal never happens under a send in flight (kafkajs
 *    already serialises an idempotent producer's requests per broker).
 *
 * Sends that queue up behind the one in flight go out together as the next produce request
 * (group commit, `kernel/group-commit.ts`): a worker handling twelve partitions at once then pays
 * about two produce round trips per wave instead of twelve one after the other. Each caller's
 * messages keep their order per partition (they are concatenated in the order the sends were
 * made), and a failed group fails every send in it, which each caller sends again.
 */
/** The most messages one grouped produce request carries (a single larger send still goes alone). */
const MAX_GROUPED_MESSAGES = 2_000;

export function createPipelineProducer(kafka: Kafka, options: PipelineProducerOptions): PipelineProducer {
  /** Per send: each message's partition in the latest attempt (kafkajs partitions them all again on each). */
  const assignments = new AsyncLocalStorage<Map<object, string>>();
  const recordingPartitioner = () => {
    const pick = Partitioners.DefaultPartitioner();
    return (args: Parameters<typeof pick>[0]) => {
      const partition = pick(args);
      assignments.getStore()?.set(args.message, `${args.topic}/${partition}`);
      return partition;
    };
  };
  const make = (): Producer =>
    kafka.producer({
      createPartitioner: recordingPartitioner,
      allowAutoTopicCreation: false,
      metadataMaxAge: options.metadataMaxAgeMs,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {}),
    });

  /** Runs one send, failing it when a partition its messages went to has no answer among its results. */
  const checked = async (send: () => Promise<RecordMetadata[]>, assigned = new Map<object, string>()): Promise<RecordMetadata[]> => {
    const results = await assignments.run(assigned, send);
    const answered = new Set(results.map((r) => `${r.topicName}/${r.partition}`));
    const missing = [...new Set(assigned.values())].filter((tp) => !answered.has(tp));
    if (missing.length > 0) throw new IncompleteSendError(missing);
    return results;
  };

  let producer = make();
  if (!options.idempotent) {
    return {
      connect: () => producer.connect(),
      disconnect: () => producer.disconnect(),
      send: (record) => checked(() => producer.send({ ...record, acks: -1 })),
      sendBatch: (batch) => checked(() => producer.sendBatch({ ...batch, acks: -1 })),
    };
  }

  let renew = false;
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
  type Send = Pick<ProducerBatch, 'topicMessages'>;
  const messagesOf = (batch: Send) => (batch.topicMessages ?? []).flatMap((t) => t.messages);
  /** One produce request for the sends of a group; each send is answered with the partitions its own messages went to. */
  const sendGroup = (group: Send[]) =>
    exclusive(async () => {
      if (renew) {
        await producer.disconnect().catch(() => undefined);
        producer = make();
        await producer.connect();
        renew = false;
      }
      const assigned = new Map<object, string>();
      try {
        const topicMessages = group.flatMap((batch) => batch.topicMessages ?? []);
        const results = await checked(() => producer.sendBatch({ topicMessages, acks: -1 }), assigned);
        if (group.length === 1) return [results];
        return group.map((batch) => {
          const mine = new Set(messagesOf(batch).map((m) => assigned.get(m)));
          return results.filter((r) => mine.has(`${r.topicName}/${r.partition}`));
        });
      } catch (err) {
        renew = true;
        throw err;
      }
    });
  const sends = createGroupCommit(sendGroup, { maxWeight: MAX_GROUPED_MESSAGES, weight: (batch) => messagesOf(batch).length });
  return {
    connect: () => exclusive(() => producer.connect()),
    disconnect: () => exclusive(() => producer.disconnect()),
    send: ({ topic, messages }) => sends.submit({ topicMessages: [{ topic, messages }] }),
    sendBatch: (batch) => sends.submit(batch),
  };
}
