import { expect } from 'chai';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { createKafka, ensureTopics } from '../../../kernel/clients/kafka.js';
import { newEventEnvelope, topicNames } from '../../../kernel/contracts/analysis-events.js';
import { createMetrics } from '../../../kernel/metrics.js';
import { waitUntil } from '../../../kernel/wait.js';
import { createAnalysisRepository } from '../../../src/analysis/analysis-repository.js';
import { createDiaryRepository } from '../../../src/diaries/diary-repository.js';
import { createAnalysisStatusConsumer } from '../../../src/notifications/analysis-status-consumer.js';
import { createNotificationRepository } from '../../../src/notifications/notification-repository.js';
import { createNotificationService, noDelivery } from '../../../src/notifications/notification-service.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';

/**
 * A consumer that kafkajs will not restart (a non-retriable error, here a TypeError out of the
 * handler, as a bug of ours would throw) must not leave a process that looks healthy and
 * consumes nothing: readiness fails and the process is told to stop.
 */
describe('status consumer crash (real Kafka)', function () {
  this.timeout(60_000);
  let app: TestApp;

  before(async () => {
    app = await startTestApp('consumercrash');
  });

  after(async () => {
    await app.destroy();
  });

  it('when the handler throws an error kafkajs does not retry, then readiness names the consumer and the process is asked to stop', async () => {
    const { config } = app;
    const topics = topicNames(`${config.kafka.topicPrefix}crash.`);
    const kafka = createKafka(config, app.log);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topics, { partitions: 1 });
    await admin.disconnect();
    const real = createDiaryRepository(app.clients.sequelize, app.sql);
    const fatal: Error[] = [];
    const consumer = createAnalysisStatusConsumer({
      kafka,
      topics,
      groupPrefix: `${config.kafka.topicPrefix}crash.`,
      diaries: {
        ...real,
        applyAnalysisStatus: () => {
          throw new TypeError('a bug in the handler');
        },
      },
      analyses: createAnalysisRepository(app.mongoModels),
      notifications: createNotificationService({ repo: createNotificationRepository(app.mongoModels), metrics: createMetrics(), delivery: noDelivery }),
      events: { analysisFinished: () => undefined },
      onFatal: (err) => fatal.push(err),
      metrics: createMetrics(),
      log: app.log,
      partitionsConcurrently: 1,
      sessionTimeoutMs: 10_000,
    });
    await consumer.start();
    try {
      await consumer.health.check();
      const producer = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
      const event = { ...newEventEnvelope({ diaryId: '1', userId: '1', revision: 1 }), type: 'analysis.status', status: 'PROCESSING', requestedAt: null };
      await producer.send({ topic: topics.analysisStatus, messages: [{ key: '1', value: JSON.stringify(event) }] });
      await producer.disconnect();
      await waitUntil('the consumer reported fatal', () => fatal.length > 0, 30_000);
      expect(fatal[0]!.message).to.include('a bug in the handler');
      let failed: unknown;
      await consumer.health.check().catch((err: unknown) => (failed = err));
      expect(String(failed)).to.include('status-consumer');
    } finally {
      await consumer.stop();
    }
  });
});
