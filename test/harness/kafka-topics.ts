import type { AppConfig } from '../../config/index.js';
import { createKafka, ensureTopics } from '../../kernel/clients/kafka.js';
import type { TopicNames } from '../../kernel/contracts/analysis-events.js';
import type { Logger } from '../../kernel/logger.js';

/**
 * Creates a test's own topics. On a busy KRaft broker the metadata read that `waitForLeaders`
 * makes right after the create can answer UNKNOWN_TOPIC_OR_PARTITION, which kafkajs does not
 * retry: look again until every topic has a leader.
 */
export async function createTestTopics(config: AppConfig, log: Logger, topics: TopicNames, partitions: number): Promise<void> {
  const admin = createKafka(config, log).admin();
  await admin.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureTopics(admin, topics, partitions);
        const metadata = await admin.fetchTopicMetadata({ topics: Object.values(topics) });
        if (metadata.topics.every((t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0))) return;
      } catch (err) {
        if (attempt >= 20 || (err as { type?: string }).type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await admin.disconnect();
  }
}
