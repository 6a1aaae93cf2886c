import { Partitioners, type Kafka, type Producer } from 'kafkajs';
import type { AnalysisStatusEvent, DlqRecord, TopicNames } from '../kernel/contracts/analysis-events.js';

/** Produces the worker's outputs: status events (key diaryId) and dead-letter records. */
export function createPipelinePublisher(kafka: Kafka, topics: TopicNames) {
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),

    async status(event: AnalysisStatusEvent, requestId: string | undefined): Promise<void> {
      await producer.send({
        topic: topics.analysisStatus,
        acks: -1,
        messages: [{ key: event.diaryId, value: JSON.stringify(event), headers: { eventId: event.eventId, ...(requestId ? { requestId } : {}) } }],
      });
    },

    async deadLetter(record: DlqRecord, key: string | null): Promise<void> {
      await producer.send({
        topic: topics.analysisDlq,
        acks: -1,
        messages: [{ key, value: JSON.stringify(record), headers: { eventId: record.eventId, reason: record.reason } }],
      });
    },
  };
}

export type PipelinePublisher = ReturnType<typeof createPipelinePublisher>;
