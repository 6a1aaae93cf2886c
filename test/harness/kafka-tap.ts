import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { waitUntil } from '../../kernel/wait.js';

export interface TappedMessage {
  key: string | null;
  value: string;
  headers: Record<string, string>;
  partition: number;
  offset: string;
  json<T = Record<string, unknown>>(): T;
}

/** Whether a message of the status topic (keyed by user) is about `diaryId`. */
export const aboutDiary = (m: TappedMessage, diaryId: string): boolean => m.json<{ diaryId?: string }>().diaryId === diaryId;

export interface KafkaTap {
  messages: TappedMessage[];
  /** Resolves once `count` messages (matching `filter`) arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number, filter?: (m: TappedMessage) => boolean): Promise<TappedMessage[]>;
  stop(): Promise<void>;
}

/** A real consumer (own group, from the beginning) that records every message of a topic. */
export async function tapTopic(brokers: string[], topic: string): Promise<KafkaTap> {
  const kafka = new Kafka({ clientId: 'test-tap', brokers, logLevel: logLevel.NOTHING, retry: { retries: 20, maxRetryTime: 1_000 } });
  const consumer: Consumer = kafka.consumer({ groupId: `tap-${randomUUID()}`, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
  const messages: TappedMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      const value = message.value?.toString('utf8') ?? '';
      messages.push({
        key: message.key?.toString('utf8') ?? null,
        value,
        headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        partition,
        offset: message.offset,
        json: <T>() => JSON.parse(value) as T,
      });
    },
  });
  return {
    messages,
    waitFor: (count, timeoutMs = 20_000, filter = () => true) =>
      waitUntil(
        `${count} messages on ${topic}`,
        () => {
          const matching = messages.filter(filter);
          return matching.length >= count ? matching : undefined;
        },
        timeoutMs,
      ),
    stop: () => consumer.disconnect(),
  };
}
