import { Kafka, logLevel, type Admin, type LogEntry } from 'kafkajs';
import type { AppConfig } from '../../config/index.js';
import type { TopicNames } from '../contracts/analysis-events.js';
import type { Logger } from '../logger.js';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * A kafkajs client. `retries` bounds how long connects and requests retry before failing: callers
 * with their own backoff (the outbox relay) use few, so a dead broker is noticed quickly.
 */
export function createKafka(config: Pick<AppConfig, 'kafka' | 'app'>, log: Logger, options: { retries?: number } = {}): Kafka {
  const kafkaLog = log.child({ component: 'kafkajs' });
  const { sasl } = config.kafka;
  return new Kafka({
    clientId: `${config.kafka.clientId}-${config.app.instanceId}`,
    brokers: config.kafka.brokers,
    ssl: config.kafka.ssl,
    ...(sasl ? { sasl: { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as never } : {}),
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 200, maxRetryTime: 5_000, retries: options.retries ?? 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...extra } = entry;
        kafkaLog[LEVELS[level] ?? 'info']({ kafka: extra }, message);
      },
  });
}

/** Creates the pipeline topics if missing. Idempotent; safe to call from every process at start. */
export async function ensureTopics(admin: Admin, topics: TopicNames, partitions: number): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = Object.values(topics).filter((t) => !existing.has(t));
  if (missing.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: -1 })),
  });
}
