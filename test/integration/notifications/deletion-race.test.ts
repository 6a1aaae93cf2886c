import { expect } from 'chai';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import request from 'supertest';
import { createKafka } from '../../../kernel/clients/kafka.js';
import { newEventEnvelope, topicNames, type TopicNames } from '../../../kernel/contracts/analysis-events.js';
import { createMetrics, type Metrics } from '../../../kernel/metrics.js';
import { waitUntil } from '../../../kernel/wait.js';
import { createAnalysisRepository } from '../../../src/analysis/analysis-repository.js';
import { createDiaryRepository } from '../../../src/diaries/diary-repository.js';
import { createAnalysisStatusConsumer } from '../../../src/notifications/analysis-status-consumer.js';
import { createNotificationRepository } from '../../../src/notifications/notification-repository.js';
import { createNotificationService, noDelivery } from '../../../src/notifications/notification-service.js';
import { createAnalysisStore } from '../../../workers/analysis-store.js';
import { createTestTopics } from '../../harness/kafka-topics.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';

type Point = 'before-apply' | 'after-apply' | 'after-store' | 'after-check';

/**
 * An entry deleted while its analysis is in flight: the gateway consumer (real Kafka, real
 * stores) is paused at each point of its handling in turn while the entry is deleted over REST,
 * then let go. Whatever the interleaving, nothing about the entry may remain in any store.
 */
describe('deleting an entry while its analysis status is being handled (every interleaving)', function () {
  this.timeout(120_000);
  let app: TestApp;
  let user: TestUser;
  let topics: TopicNames;
  let producer: Producer;
  let metrics: Metrics;
  let consumer: ReturnType<typeof createAnalysisStatusConsumer>;
  /** The point the consumer must stop at next, and how it is told to go on. */
  let pause: { at: Point; reached: () => void; go: Promise<void> } | undefined;

  const checkpoint = async (at: Point) => {
    if (pause?.at !== at) return;
    const { reached, go } = pause;
    reached();
    await go;
  };

  before(async () => {
    app = await startTestApp('delrace');
    user = await createTestUser(app);
    const prefix = `${app.config.kafka.topicPrefix}race.`;
    topics = topicNames(prefix);
    const kafka = createKafka(app.config, app.log);
    await createTestTopics(app.config, app.log, topics, 1);
    const diaries = createDiaryRepository(app.clients.sequelize, app.sql);
    const inbox = createNotificationRepository(app.mongoModels);
    metrics = createMetrics();
    consumer = createAnalysisStatusConsumer({
      kafka,
      topics,
      groupPrefix: prefix,
      diaries: {
        ...diaries,
        async applyAnalysisStatus(...args) {
          await checkpoint('before-apply');
          const applied = await diaries.applyAnalysisStatus(...args);
          await checkpoint('after-apply');
          return applied;
        },
        async exists(...args) {
          const exists = await diaries.exists(...args);
          await checkpoint('after-check');
          return exists;
        },
      },
      analyses: createAnalysisRepository(app.mongoModels),
      notifications: createNotificationService({
        repo: {
          ...inbox,
          async add(...args) {
            const stored = await inbox.add(...args);
            await checkpoint('after-store');
            return stored;
          },
        },
        metrics,
        delivery: noDelivery,
      }),
      events: { analysisFinished: () => undefined },
      onFatal: () => undefined,
      metrics,
      log: app.log,
      partitionsConcurrently: 1,
      sessionTimeoutMs: 10_000,
    });
    await consumer.start();
    producer = new Kafka({ brokers: app.config.kafka.brokers, logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  });

  after(async () => {
    await producer?.disconnect();
    await consumer?.stop();
    await app.destroy();
  });

  const handled = async () => (await metrics.kafkaMessagesConsumedTotal.get()).values.reduce((n, v) => n + v.value, 0);

  it('when an entry is deleted, then a diary.deleted event is in the outbox of the same transaction, keyed by its user, on the status topic', async () => {
    const created = await request(app.server).post('/api/v1/diaries').set(user.auth).send({ content: 'An entry about to be deleted.' });
    expect((await request(app.server).delete(`/api/v1/diaries/${created.body.id as string}`).set(user.auth)).status).to.equal(204);
    const rows = await app.sql.OutboxEvent.findAll({ where: { topic: topicNames(app.config.kafka.topicPrefix).analysisStatus, messageKey: user.userId } });
    const deletions = rows.map((r) => JSON.parse(r.payload) as { type: string; diaryId: string; userId: string }).filter((p) => p.diaryId === created.body.id);
    expect(deletions).to.have.length(1);
    expect(deletions[0]).to.include({ type: 'diary.deleted', userId: user.userId });
  });

  it('when a diary.deleted event arrives for an entry whose analyses and notifications are still stored (the delete could not clear them), then the gateway removes them', async () => {
    const diaryId = '987654321';
    const ref = { diaryId, userId: user.userId, revision: 1 };
    await createAnalysisStore(app.mongoModels).save(ref, { name: 'offline', version: '1' }, {
      language: 'en',
      valence: 0.5,
      emotions: [{ name: 'joy', score: 0.7 }],
      emotionStatus: 'POSITIVE',
      automaticThoughts: [],
      alternativeThoughts: [],
      promptForChange: '',
    }, null);
    await createNotificationRepository(app.mongoModels).add(user.userId, { eventId: newEventEnvelope(ref).eventId, type: 'analysis.status', payload: { diaryId, revision: 1, status: 'COMPLETED' }, diaryId });
    const deletion = { eventId: newEventEnvelope(ref).eventId, occurredAt: new Date().toISOString(), diaryId, userId: user.userId, type: 'diary.deleted' };
    await producer.send({ topic: topics.analysisStatus, messages: [{ key: user.userId, value: JSON.stringify(deletion) }] });
    await waitUntil(
      'the analyses and notifications of the deleted entry removed',
      async () => (await app.mongoModels.DiaryAnalysis.countDocuments({ diaryId })) === 0 && (await app.mongoModels.Notification.countDocuments({ diaryId })) === 0,
      20_000,
    );
    expect(await app.mongoModels.AnalysisHead.countDocuments({ _id: diaryId })).to.equal(0);
  });

  for (const at of ['before-apply', 'after-apply', 'after-store', 'after-check'] as const) {
    it(`when the entry is deleted while the COMPLETED status waits ${at.replace('-', ' ')}, then no notification, analysis or request of it remains`, async () => {
      const created = await request(app.server).post('/api/v1/diaries').set(user.auth).send({ title: 'Secret', content: 'The words of an entry that is about to be deleted.' });
      expect(created.status).to.equal(201);
      const diaryId = created.body.id as string;
      // What the worker would have written before it announced COMPLETED.
      const ref = { diaryId, userId: user.userId, revision: 1 };
      await createAnalysisStore(app.mongoModels).save(ref, { name: 'offline', version: '1' }, {
        language: 'en',
        valence: -0.5,
        emotions: [{ name: 'sadness', score: 0.7 }],
        emotionStatus: 'NEGATIVE',
        automaticThoughts: [],
        alternativeThoughts: ['words of the entry'],
        promptForChange: '',
      }, null);
      let reached!: () => void;
      const atPoint = new Promise<void>((resolve) => (reached = resolve));
      let go!: () => void;
      pause = { at, reached, go: new Promise<void>((resolve) => (go = resolve)) };
      const before = await handled();
      const summary = { emotionStatus: 'NEGATIVE', topEmotions: [{ name: 'sadness', score: 0.7 }], alternativeThought: 'words of the entry', distortions: [], analyzer: 'offline' };
      const event = { ...newEventEnvelope(ref), type: 'analysis.status', status: 'COMPLETED', requestedAt: null, summary };
      await producer.send({ topic: topics.analysisStatus, messages: [{ key: diaryId, value: JSON.stringify(event) }] });

      await atPoint;
      expect((await request(app.server).delete(`/api/v1/diaries/${diaryId}`).set(user.auth)).status).to.equal(204);
      go();
      pause = undefined;
      await waitUntil('the event handled', async () => (await handled()) > before, 20_000);

      const notifications = await app.mongoModels.Notification.find({ userId: user.userId }).lean();
      const mentions = notifications.filter((n) => n.diaryId === diaryId || (n.payload as { diaryId?: string }).diaryId === diaryId || JSON.stringify(n.payload).includes('words of the entry'));
      expect(mentions, 'notifications that mention the entry').to.deep.equal([]);
      const listed = (await request(app.server).get('/api/v1/notifications').set(user.auth)).body.items as Array<{ payload: { diaryId?: string } }>;
      expect(listed.filter((n) => n.payload.diaryId === diaryId)).to.deep.equal([]);
      expect(await app.mongoModels.DiaryAnalysis.countDocuments({ diaryId })).to.equal(0);
      expect(await app.mongoModels.AnalysisHead.countDocuments({ _id: diaryId })).to.equal(0);
      expect(await app.sql.OutboxEvent.count({ where: { messageKey: diaryId, topic: topics.analysisRequested } })).to.equal(0);
    });
  }
});
