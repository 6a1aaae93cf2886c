import type { Kafka, Message } from 'kafkajs';
import { createPipelineProducer, type PipelineProducerOptions } from '../kernel/clients/kafka-producer.js';
import type { AnalysisStatusEvent, DlqRecord, TopicNames } from '../kernel/contracts/analysis-events.js';

export interface StatusToPublish {
  event: AnalysisStatusEvent;
  requestId: string | undefined;
}

export interface DeadLetterToPublish {
  record: DlqRecord;
  key: string | null;
}

/**
 * Keyed by user: one user's statuses share a partition, so one gateway consumer stores that user's
 * notifications, one after the other, and their sequence numbers follow the order they are stored
 * in (a diary's statuses stay in order, being one user's).
 */
const statusMessage = ({ event, requestId }: StatusToPublish): Message => ({
  key: event.userId,
  value: JSON.stringify(event),
  headers: { eventId: event.eventId, ...(requestId ? { requestId } : {}) },
});

const deadLetterMessage = ({ record, key }: DeadLetterToPublish): Message => ({
  key,
  value: JSON.stringify(record),
  headers: { eventId: record.eventId, reason: record.reason },
});

/**
 * Produces the worker's outputs: status events (key userId) and dead-letter records, always with
 * acks from every in-sync replica. `publish` sends many of both in one produce request: they are
 * on the broker, in the order given per partition, when it resolves.
 */
export function createPipelinePublisher(kafka: Kafka, topics: TopicNames, producerOptions: PipelineProducerOptions) {
  const producer = createPipelineProducer(kafka, producerOptions);
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),

    async status(event: AnalysisStatusEvent, requestId: string | undefined): Promise<void> {
      await producer.send({ topic: topics.analysisStatus, messages: [statusMessage({ event, requestId })] });
    },

    async deadLetter(record: DlqRecord, key: string | null): Promise<void> {
      await producer.send({ topic: topics.analysisDlq, messages: [deadLetterMessage({ record, key })] });
    },

    async publish(out: { statuses?: StatusToPublish[]; deadLetters?: DeadLetterToPublish[] }): Promise<void> {
      const topicMessages = [
        { topic: topics.analysisStatus, messages: (out.statuses ?? []).map(statusMessage) },
        { topic: topics.analysisDlq, messages: (out.deadLetters ?? []).map(deadLetterMessage) },
      ].filter((t) => t.messages.length > 0);
      if (topicMessages.length > 0) await producer.sendBatch({ topicMessages });
    },
  };
}

export type PipelinePublisher = ReturnType<typeof createPipelinePublisher>;
