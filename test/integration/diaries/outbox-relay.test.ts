import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { freePort } from '../../../scripts/services/index.js';
import { startKafka } from '../../../scripts/services/kafka.js';
import { createApiApp, type ApiApp } from '../../../src/app.js';
import { recordViolation } from '../../harness/contract-audit.js';
import { tapTopic } from '../../harness/kafka-tap.js';
import { waitUntil } from '../../../kernel/wait.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser } from '../../harness/users.js';

describe('outbox relay', () => {
  describe('when Kafka is down while entries are written', () => {
    let kafka: Awaited<ReturnType<typeof startKafka>>;
    let app: TestApp;

    before(async function () {
      this.timeout(90_000);
      // A private broker, so stopping it cannot disturb other tests.
      const dir = mkdtempSync(path.join(tmpdir(), 'outbox-kafka-'));
      kafka = await startKafka(dir, await freePort(), dir);
      app = await startTestApp('outboxdown', { kafka: { brokers: kafka.brokers }, outbox: { pollIntervalMs: 50, maxBackoffMs: 1_000 } });
    });

    after(async () => {
      await app.destroy();
      await kafka.stop();
    });

    it('then all 50 creates answer 201, and after Kafka starts all 50 requests arrive, each eventId once', async function () {
      this.timeout(120_000);
      const user = await createTestUser(app);
      await kafka.stop();

      const ids: string[] = [];
      for (let i = 0; i < 50; i++) {
        const res = await request(app.server).post('/api/v1/diaries').set(user.auth).send({ content: `written while kafka is down ${i}` });
        expect(res.status).to.equal(201);
        ids.push(res.body.id);
      }
      const pending = async () =>
        Number((await app.clients.sequelize.query<{ n: number }>("SELECT COUNT(*) AS n FROM outbox_events WHERE status = 'PENDING'", { type: QueryTypes.SELECT }))[0]?.n);
      expect(await pending()).to.equal(50);
      // The backlog is visible to operators while Kafka is away.
      await waitUntil('backlog gauge', async () => /outbox_backlog_events\{[^}]*\} 50/.test(await app.metrics.registry.getSingleMetricAsString('outbox_backlog_events')));

      await kafka.start();
      const tap = await tapTopic(kafka.brokers, app.topics.analysisRequested);
      try {
        await waitUntil('outbox drained', async () => (await pending()) === 0, 60_000);
        const messages = await tap.waitFor(50, 30_000);
        // At-least-once: a consumer deduplicates by eventId. After that, exactly one request per entry.
        const byEvent = new Map(messages.map((m) => [m.json<{ eventId: string }>().eventId, m.json<{ diaryId: string }>()]));
        expect(byEvent.size).to.equal(50);
        expect([...byEvent.values()].map((e) => e.diaryId).sort()).to.deep.equal([...ids].sort());
      } finally {
        await tap.stop();
      }
    });
  });

  describe('when several API instances relay from the same database', () => {
    let first: TestApp;
    let second: ApiApp;

    before(async () => {
      first = await startTestApp('outboxpair', { outbox: { pollIntervalMs: 20, batchSize: 7 } });
      second = await createApiApp(first.config, { log: first.log, responseAudit: recordViolation });
      await second.start();
    });

    after(async () => {
      await second.stop();
      await first.destroy();
    });

    it('then SKIP LOCKED lets both publish and no event is published twice', async function () {
      this.timeout(60_000);
      // Two writers: 60 entries are more than one user may write a day (diary.maxPerDay).
      const users = [await createTestUser(first), await createTestUser(first)];
      const tap = await tapTopic(first.config.kafka.brokers, first.topics.analysisRequested);
      try {
        await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            request(i % 2 ? first.server : second.server).post('/api/v1/diaries').set(users[Math.floor(i / 30)]!.auth).send({ content: `pair ${i}` }).expect(201),
          ),
        );
        const messages = await tap.waitFor(60, 30_000);
        await new Promise((r) => setTimeout(r, 500));
        const eventIds = tap.messages.map((m) => m.json<{ eventId: string }>().eventId);
        expect(new Set(eventIds).size).to.equal(60);
        expect(eventIds.length, 'duplicates published').to.equal(60);
        expect(messages).to.have.length(60);
        const published = async (app: ApiApp) => Number((await app.metrics.registry.getSingleMetric('outbox_published_total')?.get())?.values[0]?.value ?? 0);
        expect((await published(first)) + (await published(second))).to.equal(60);
      } finally {
        await tap.stop();
      }
    });
  });
});
