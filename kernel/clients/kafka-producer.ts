import { Partitioners, type Kafka, type Producer, type ProducerBatch, type ProducerRecord, type RecordMetadata, type RetryOptions } from 'kafkajs';
import type { AppConfig } from '../../config/index.js';

/** A producer of the pipeline's events: every send waits for all in-sync replicas (acks -1). */
export interface PipelineProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: Omit<ProducerRecord, 'acks'>): Promise<RecordMetadata[]>;
  sendBatch(batch: Omit<ProducerBatch, 'acks'>): Promise<RecordMetadata[]>;
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

/**
 * A producer that always asks for acks from every in-sync replica and, when idempotent, gets a
 * producer id and numbers each partition's batches, so the broker writes a batch once however
 * often kafkajs retries it within a send (a broker killed after writing but before answering,
 * a leader moved to another replica).
 *
 * The trap: when a send fails for good, kafkajs takes its sequence numbers back. If a broker had
 * written that batch after all, the next, different batch with the same numbers is either refused
 * for ever (out of order) or acknowledged as the duplicate it is not: lost. So after a failed send
 * the next one starts a new producer (a new id, numbers from 0); the failed batch, when the
 * caller sends it again, may then be written twice, which consumers deduplicate (at least once).
 * Sends go one at a time for the same reason: a renewal must not happen under a send in flight
 * (kafkajs already serialises an idempotent producer's requests per broker).
 */
export function createPipelineProducer(kafka: Kafka, options: PipelineProducerOptions): PipelineProducer {
  const make = (): Producer =>
    kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      metadataMaxAge: options.metadataMaxAgeMs,
      ...(options.retry ? { retry: options.retry } : {}),
      ...(options.idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {}),
    });
  let producer = make();
  if (!options.idempotent) {
    return {
      connect: () => producer.connect(),
      disconnect: () => producer.disconnect(),
      send: (record) => producer.send({ ...record, acks: -1 }),
      sendBatch: (batch) => producer.sendBatch({ ...batch, acks: -1 }),
    };
  }

  let renew = false;
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
  const guarded = <T>(send: (p: Producer) => Promise<T>) =>
    exclusive(async () => {
      if (renew) {
        await producer.disconnect().catch(() => undefined);
        producer = make();
        await producer.connect();
        renew = false;
      }
      try {
        return await send(producer);
      } catch (err) {
        renew = true;
        throw err;
      }
    });
  return {
    connect: () => exclusive(() => producer.connect()),
    disconnect: () => exclusive(() => producer.disconnect()),
    send: (record) => guarded((p) => p.send({ ...record, acks: -1 })),
    sendBatch: (batch) => guarded((p) => p.sendBatch({ ...batch, acks: -1 })),
  };
}
