import { expect } from 'chai';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import request from 'supertest';
import { createKafka } from '../../../kernel/clients/kafka.js';
import { newEventEnvelope, topicNames, type TopicNames } from '../../../kernel/contracts/analysis-events.js';
import { createMetrics } from '../../../kernel/metrics.js';
import { waitUntil } from '../../../kernel/wait.js';
import { createAnalysisRepository } from '../../../src/analysis/analysis-repository.js';
import { createDiaryRepository } from '../../../src/diaries/diary-repository.js';
import { createAnalysisStatusConsumer } from '../../../src/notifications/analysis-status-consumer.js';
import { createNotificationRepository, type NotificationRepository, type StoredNotification } from '../../../src/notifications/notification-repository.js';
import { createNotificationService } from '../../../src/notifications/notification-service.js';
import { createTestTopics } from '../../harness/kafka-topics.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';

type Status = 'PROCESSING' | 'COMPLETED';
type Ref = { userId: string; diaryId: string; revision: number };

const summary = { emotionStatus: 'POSITIVE', topEmotions: [{ name: 'joy', score: 0.9 }], alternativeThought: null, distortions: [], analyzer: 'offline' };
const statusEvent = (ref: Ref, status: Status) =>
  status === 'COMPLETED'
    ? { ...newEventEnvelope(ref), type: 'analysis.status', status, requestedAt: null, summary }
    : { ...newEventEnvelope(ref), type: 'analysis.status', status, requestedAt: null };

/**
 * The gateway's batch path against real Kafka, MariaDB and the MongoDB-wire store: events are
 * produced before the consumer starts, so its first fetch holds many users' and diaries' events,
 * handled several users at a time.
 */
describe('status consumer batches (real Kafka and stores)', function () {
  this.timeout(120_000);
  let app: TestApp;
  let producer: Producer;
  let users: TestUser[];
  const consumers: Array<ReturnType<typeof createAnalysisStatusConsumer>> = [];

  before(async () => {
    app = await startTestApp('statusbatch');
    users = [await createTestUser(app), await createTestUser(app), await createTestUser(app)];
    producer = new Kafka({ brokers: app.config.kafka.brokers, logLevel: logLevel.NOTHING }).producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
  });

  after(async () => {
    for (const c of consumers) await c.stop();
    await producer?.disconnect();
    await app.destroy();
  });

  let namespace = 0;
  async function freshTopics(): Promise<{ prefix: string; topics: TopicNames }> {
    const prefix = `${app.config.kafka.topicPrefix}batch${++namespace}.`;
    const topics = topicNames(prefix);
    await createTestTopics(app.config, app.log, topics, 2);
    return { prefix, topics };
  }

  /** A gateway consumer on `topics` in its own group; `repo` can wrap the real inbox. */
  async function startConsumer(topics: TopicNames, groupPrefix: string, wrap: (repo: NotificationRepository) => NotificationRepository = (r) => r) {
    const metrics = createMetrics();
    const delivered: StoredNotification[] = [];
    const consumer = createAnalysisStatusConsumer({
      kafka: createKafka(app.config, app.log),
      topics,
      groupPrefix,
      diaries: createDiaryRepository(app.clients.sequelize, app.sql),
      analyses: createAnalysisRepository(app.mongoModels),
      notifications: createNotificationService({ repo: wrap(createNotificationRepository(app.mongoModels)), metrics, delivery: { deliver: (_userId, n) => delivered.push(n) } }),
      events: { analysisFinished: () => undefined },
      onFatal: () => undefined,
      metrics,
      log: app.log,
      partitionsConcurrently: 2,
      usersConcurrently: 4,
      sessionTimeoutMs: 10_000,
    });
    consumers.push(consumer);
    await consumer.start();
    const outcomes = async () => {
      const out: Record<string, number> = {};
      for (const v of (await metrics.kafkaMessagesConsumedTotal.get()).values) out[String(v.labels.outcome)] = v.value;
      return out;
    };
    const handled = async () => Object.entries(await outcomes()).reduce((n, [k, v]) => (k === 'error' ? n : n + v), 0);
    return { consumer, delivered, outcomes, handled };
  }

  async function writeEntry(user: TestUser): Promise<string> {
    const res = await request(app.server).post('/api/v1/diaries').set(user.auth).send({ content: 'A plain day, nothing special happened.' });
    expect(res.status).to.equal(201);
    return res.body.id as string;
  }

  const send = (topic: string, events: Array<ReturnType<typeof statusEvent> | string>) =>
    producer.send({ topic, messages: events.map((e) => (typeof e === 'string' ? { key: 'x', value: e } : { key: e.diaryId, value: JSON.stringify(e) })) });

  const row = async (user: TestUser, diaryId: string) => (await createDiaryRepository(app.clients.sequelize, app.sql).findOwned(user.userId, diaryId))!;

  /** `diaryId`'s notifications in the user's inbox, by sequence: `<revision>:<status>`. */
  async function inbox(user: TestUser, diaryId: string): Promise<string[]> {
    const docs = await app.mongoModels.Notification.find({ userId: user.userId, diaryId }).sort({ seq: 1 }).lean();
    return docs.map((d) => `${(d.payload as { revision: number }).revision}:${(d.payload as { status: string }).status}`);
  }

  describe('when one batch holds several users and diaries, a newer revision after stale ones, a duplicate and a poison message', () => {
    let topics: TopicNames;
    let prefix: string;
    let diaries: { a: string; b: string; c: string; d: string };
    let sent: number;

    before(async () => {
      ({ topics, prefix } = await freshTopics());
      const [u1, u2, u3] = users as [TestUser, TestUser, TestUser];
      diaries = { a: await writeEntry(u1), b: await writeEntry(u1), c: await writeEntry(u2), d: await writeEntry(u3) };
      // b is edited: its revision 2 is the one waiting for an analysis, revision 1's events are stale.
      expect((await request(app.server).patch(`/api/v1/diaries/${diaries.b}`).set(u1.auth).send({ content: 'Edited: a better day after all.' })).status).to.equal(200);
      const ref = (user: TestUser, diaryId: string, revision = 1) => ({ userId: user.userId, diaryId, revision });
      const duplicate = statusEvent(ref(u1, diaries.a), 'COMPLETED');
      const events = [
        statusEvent(ref(u1, diaries.a), 'PROCESSING'),
        statusEvent(ref(u1, diaries.b), 'PROCESSING'),
        statusEvent(ref(u2, diaries.c), 'PROCESSING'),
        'not json',
        duplicate,
        statusEvent(ref(u1, diaries.b), 'COMPLETED'),
        statusEvent(ref(u1, diaries.b, 2), 'PROCESSING'),
        statusEvent(ref(u3, diaries.d), 'PROCESSING'),
        statusEvent(ref(u2, diaries.c), 'COMPLETED'),
        duplicate,
        statusEvent(ref(u1, diaries.b, 2), 'COMPLETED'),
        // A PROCESSING that arrives after its COMPLETED (a late redelivery) must not undo it.
        statusEvent(ref(u3, diaries.d), 'COMPLETED'),
        statusEvent(ref(u3, diaries.d), 'PROCESSING'),
      ];
      sent = events.length;
      await send(topics.analysisStatus, events);
    });

    it('then each row ends at the newest status of its current revision, each inbox holds PROCESSING then COMPLETED of it, once, in order, and the poison message is counted', async () => {
      const [u1, u2, u3] = users as [TestUser, TestUser, TestUser];
      const run = await startConsumer(topics, prefix);
      await waitUntil('every event handled', async () => (await run.handled()) >= sent, 60_000).catch(async (err: Error) => {
        throw new Error(`${err.message}: outcomes ${JSON.stringify(await run.outcomes())} of ${sent}`);
      });

      for (const [user, diaryId, revision] of [[u1, diaries.a, 1], [u1, diaries.b, 2], [u2, diaries.c, 1], [u3, diaries.d, 1]] as const) {
        const r = await row(user, diaryId);
        expect({ status: r.analysisStatus, analyzedRevision: r.analyzedRevision }, `row of ${diaryId}`).to.deep.equal({ status: 'COMPLETED', analyzedRevision: revision });
      }
      expect(await inbox(u1, diaries.a)).to.deep.equal(['1:PROCESSING', '1:COMPLETED']);
      expect(await inbox(u1, diaries.b), 'revision 1 is stale').to.deep.equal(['2:PROCESSING', '2:COMPLETED']);
      expect(await inbox(u2, diaries.c)).to.deep.equal(['1:PROCESSING', '1:COMPLETED']);
      // The late PROCESSING is a new event of the current revision: stored, but the row stays COMPLETED.
      expect(await inbox(u3, diaries.d)).to.deep.equal(['1:PROCESSING', '1:COMPLETED', '1:PROCESSING']);
      // Devices got each diary's notifications in the inbox's order (a retried slice hands the
      // unacknowledged ones over again; devices deduplicate by id, so the first deliveries count).
      for (const diaryId of Object.values(diaries)) {
        const seqs = [...new Set(run.delivered.filter((n) => n.diaryId === diaryId).map((n) => n.seq))];
        expect(seqs, `deliveries of ${diaryId}`).to.deep.equal([...seqs].sort((x, y) => x - y));
      }
      const outcomes = await run.outcomes();
      expect(outcomes.invalid).to.equal(1);
      expect(outcomes.stale).to.equal(2);
      expect(outcomes.error ?? 0).to.equal(0);
    });

    it('then, when all of it is delivered again (another group from the start), nothing new is stored and no row changes', async () => {
      const before = await app.mongoModels.Notification.countDocuments({ userId: { $in: users.map((u) => u.userId) } });
      const rows = await Promise.all(Object.values(diaries).map((id) => row(users[0]!, id).catch(() => null)));
      const again = await startConsumer(topics, `${prefix}again.`);
      await waitUntil('every event handled again', async () => (await again.handled()) >= sent, 60_000);
      expect(await app.mongoModels.Notification.countDocuments({ userId: { $in: users.map((u) => u.userId) } })).to.equal(before);
      expect(await Promise.all(Object.values(diaries).map((id) => row(users[0]!, id).catch(() => null)))).to.deep.equal(rows);
      expect((await again.outcomes()).applied ?? 0, 'rows changed by the redelivery').to.equal(0);
    });
  });

  describe('when the inbox store fails in the middle of a batch', () => {
    it('then the events are retried and every notification is stored exactly once, in order', async () => {
      const { topics, prefix } = await freshTopics();
      const entries = await Promise.all(users.map(async (user) => ({ user, diaryIds: [await writeEntry(user), await writeEntry(user)] })));
      const events = entries.flatMap(({ user, diaryIds }) =>
        diaryIds.flatMap((diaryId) => (['PROCESSING', 'COMPLETED'] as const).map((s) => statusEvent({ userId: user.userId, diaryId, revision: 1 }, s))),
      );
      await send(topics.analysisStatus, events);
      let stores = 0;
      // The second store of the first attempt fails, as a FerretDB or network blip would.
      const blip = () => {
        if (++stores === 2) throw Object.assign(new Error('store unavailable'), { name: 'MongoNetworkError' });
      };
      const run = await startConsumer(topics, prefix, (repo) => ({
        ...repo,
        async add(...args) {
          blip();
          return repo.add(...args);
        },
        async addMany(...args) {
          blip();
          return repo.addMany(...args);
        },
      }));
      const stored = async () => app.mongoModels.Notification.countDocuments({ eventId: { $in: events.map((e) => e.eventId) } });
      await waitUntil('every notification stored', async () => (await stored()) === events.length, 60_000);
      await waitUntil('every event handled', async () => (await run.handled()) >= events.length, 30_000);

      expect((await run.outcomes()).error, 'failed attempts counted').to.be.at.least(1);
      for (const { user, diaryIds } of entries) {
        for (const diaryId of diaryIds) {
          expect(await inbox(user, diaryId), `inbox of ${diaryId}`).to.deep.equal(['1:PROCESSING', '1:COMPLETED']);
          expect((await row(user, diaryId)).analysisStatus).to.equal('COMPLETED');
        }
      }
      expect(await stored(), 'no event stored twice').to.equal(events.length);
    });
  });
});
