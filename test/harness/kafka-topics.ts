import type { AppConfig } from '../../config/index.js';
import { createKafka, ensureTopics, topicLayout } from '../../kernel/clients/kafka.js';
import type { TopicNames } from '../../kernel/contracts/analysis-events.js';
import type { Logger } from '../../kernel/logger.js';

/** Creates a test's own topics (ensureTopics waits until each is served). */
export async function createTestTopics(config: AppConfig, log: Logger, topics: TopicNames, partitions: number): Promise<void> {
  const admin = createKafka(config, log).admin();
  await admin.connect();
  try {
    await ensureTopics(admin, topics, { ...topicLayout(config.kafka), partitions });
  } finally {
    await admin.disconnect();
  }
}
