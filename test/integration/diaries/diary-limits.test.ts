import { expect } from 'chai';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';

const BUDGET = 3;
const WINDOW_SEC = 3_600;
const DAILY_LIMIT = 4;

describe('diary write limits', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp('diarylimits', { diaries: { analysisRequestsPerUser: BUDGET, analysisRequestsWindowSec: WINDOW_SEC } });
    const admin = await createTestUser(app, { role: 'ADMIN' });
    const res = await request(app.server).patch('/api/v1/admin/settings-options/diary.maxPerDay').set(admin.auth).send({ defaultValue: DAILY_LIMIT });
    expect(res.status).to.equal(200);
  });

  after(async () => {
    await app.destroy();
  });

  const create = (user: TestUser, content = 'an entry') => request(app.server).post('/api/v1/diaries').set(user.auth).send({ content });
  const reanalyze = (user: TestUser, id: string) => request(app.server).post(`/api/v1/diaries/${id}/reanalyze`).set(user.auth);
  const patch = (user: TestUser, id: string, body: object) => request(app.server).patch(`/api/v1/diaries/${id}`).set(user.auth).send(body);
  const count = async (sql: string, replacements: unknown[]) => {
    const [row] = await app.clients.sequelize.query<{ n: number }>(sql, { type: QueryTypes.SELECT, replacements });
    return Number(row?.n);
  };
  const outboxRowsOf = (diaryId: string) => count('SELECT COUNT(*) AS n FROM outbox_events WHERE message_key = ?', [diaryId]);
  const diariesOf = (user: TestUser) => count('SELECT COUNT(*) AS n FROM diaries WHERE user_id = ?', [user.userId]);
  const outboxRowsOfUser = (user: TestUser) => count('SELECT COUNT(*) AS n FROM outbox_events o JOIN diaries d ON d.id = o.message_key WHERE d.user_id = ?', [user.userId]);

  const expectRateLimited = (res: request.Response, maxRetryAfterSec = WINDOW_SEC) => {
    expect(res.status).to.equal(429);
    expect(res.headers['content-type']).to.match(/application\/problem\+json/);
    expect(res.body.code).to.equal('rate_limited');
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).to.be.within(1, maxRetryAfterSec);
  };

  describe('analysis budget for edits and reanalysis', () => {
    it('when a user reanalyses beyond the budget, then it answers 429 with Retry-After and writes no revision and no outbox row', async () => {
      const alice = await createTestUser(app);
      const { body: diary } = await create(alice);
      for (let i = 0; i < BUDGET; i++) expect((await reanalyze(alice, diary.id)).status).to.equal(202);
      const rowsBefore = await outboxRowsOf(diary.id);
      expect(rowsBefore).to.equal(1 + BUDGET);

      expectRateLimited(await reanalyze(alice, diary.id));
      expectRateLimited(await patch(alice, diary.id, { content: 'edited after the budget ran out' }));

      const after = await request(app.server).get(`/api/v1/diaries/${diary.id}`).set(alice.auth);
      expect(after.body).to.include({ revision: 1 + BUDGET, content: 'an entry' });
      expect(await outboxRowsOf(diary.id)).to.equal(rowsBefore);
    });

    it('when edits and reanalyses are mixed, then they share one budget, title-only edits included (each requests an analysis)', async () => {
      const carol = await createTestUser(app);
      const { body: diary } = await create(carol);
      expect((await patch(carol, diary.id, { content: 'second' })).status).to.equal(200);
      expect((await patch(carol, diary.id, { title: 'only the title' })).status).to.equal(200);
      expect((await reanalyze(carol, diary.id)).status).to.equal(202);
      expectRateLimited(await patch(carol, diary.id, { title: 'another title' }));
      expect(await outboxRowsOf(diary.id)).to.equal(1 + BUDGET);
    });

    it("when one user's budget is spent, then another user's edits and reanalyses still go through", async () => {
      const dave = await createTestUser(app);
      const erin = await createTestUser(app);
      const { body: daves } = await create(dave);
      const { body: erins } = await create(erin);
      for (let i = 0; i < BUDGET; i++) expect((await reanalyze(dave, daves.id)).status).to.equal(202);
      expectRateLimited(await reanalyze(dave, daves.id));

      expect((await reanalyze(erin, erins.id)).status).to.equal(202);
      expect((await patch(erin, erins.id, { content: 'still mine to edit' })).status).to.equal(200);
    });

    it('when a request fails with 404, then it does not use up the budget', async () => {
      const frank = await createTestUser(app);
      const { body: diary } = await create(frank);
      for (let i = 0; i < BUDGET + 1; i++) expect((await reanalyze(frank, '999999999')).status).to.equal(404);
      for (let i = 0; i < BUDGET; i++) expect((await reanalyze(frank, diary.id)).status).to.equal(202);
    });

    it('when requests beyond the budget arrive in parallel, then exactly the budget is written', async () => {
      const gina = await createTestUser(app);
      const { body: diary } = await create(gina);
      const results = await Promise.all(Array.from({ length: 10 }, () => reanalyze(gina, diary.id)));
      expect(results.filter((r) => r.status === 202)).to.have.length(BUDGET);
      results.filter((r) => r.status !== 202).forEach((r) => expectRateLimited(r));
      expect(await outboxRowsOf(diary.id)).to.equal(1 + BUDGET);
    });
  });

  describe('daily entry limit', () => {
    it('when a user sends many creates in parallel, then exactly the daily limit is written and the rest answer 429', async () => {
      const hana = await createTestUser(app);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => create(hana, `parallel entry ${i}`)));
      expect(results.filter((r) => r.status === 201)).to.have.length(DAILY_LIMIT);
      results.filter((r) => r.status !== 201).forEach((r) => expectRateLimited(r, 86_400));
      expect(await diariesOf(hana)).to.equal(DAILY_LIMIT);
      expect(await outboxRowsOfUser(hana)).to.equal(DAILY_LIMIT);
    });

    it('when creates fail or are refused, then they do not use up the daily limit', async () => {
      const kim = await createTestUser(app);
      await app.clients.sequelize.query(
        "CREATE TRIGGER outbox_fail_limits BEFORE INSERT ON outbox_events FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'outbox unavailable'",
      );
      try {
        for (let i = 0; i < DAILY_LIMIT + 1; i++) expect((await create(kim)).status).to.equal(500);
      } finally {
        await app.clients.sequelize.query('DROP TRIGGER outbox_fail_limits');
      }
      for (let i = 0; i < DAILY_LIMIT; i++) expect((await create(kim)).status).to.equal(201);
      // Refused creates are taken back too: the count stays at what was written.
      for (let i = 0; i < 3; i++) expectRateLimited(await create(kim), 86_400);
      const [counter] = await app.clients.redis.keys(`*diary-creates:${kim.userId}:*`);
      expect(await app.clients.redis.get(counter!.slice(app.config.redis.keyPrefix.length))).to.equal(String(DAILY_LIMIT));
      expect(await diariesOf(kim)).to.equal(DAILY_LIMIT);
    });

    it("when one user reached the daily limit, then another user's creates still go through", async () => {
      const ivan = await createTestUser(app);
      const june = await createTestUser(app);
      for (let i = 0; i < DAILY_LIMIT; i++) expect((await create(ivan)).status).to.equal(201);
      expectRateLimited(await create(ivan), 86_400);
      expect((await create(june)).status).to.equal(201);
    });
  });
});
