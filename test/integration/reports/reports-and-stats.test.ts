import { expect } from 'chai';
import request from 'supertest';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';

type Status = 'POSITIVE' | 'NEGATIVE' | 'NEUTRAL' | null;

describe('reports and emotion statistics over REST', () => {
  let app: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    app = await startTestApp('reports');
    alice = await createTestUser(app);
    bob = await createTestUser(app);
  });

  after(() => app.destroy());

  /** An entry written at `at` whose analysis completed with `status` (or not analysed when null). */
  async function entry(user: TestUser, at: string, status: Status, analysis?: { emotions: Array<[string, number]>; distortions: string[]; alternative: string }) {
    const res = await request(app.server).post('/api/v1/diaries').set(user.auth).send({ content: `entry at ${at}` });
    expect(res.status).to.equal(201);
    const id = res.body.id as string;
    await app.clients.sequelize.query('UPDATE diaries SET created_at = ?, emotion_status = ?, analyzed_revision = IF(? IS NULL, NULL, 1) WHERE id = ?', {
      replacements: [new Date(at), status, status, id],
    });
    if (status && analysis) {
      await app.mongoModels.DiaryAnalysis.create({
        diaryId: id,
        userId: user.userId,
        revision: 1,
        analyzer: 'offline',
        analyzerVersion: 'test',
        language: 'en',
        emotions: analysis.emotions.map(([name, score]) => ({ name, score })),
        emotionStatus: status,
        automaticThoughts: analysis.distortions.map((d) => ({ text: 't', distortion: d, intensity: 0.5, alternativeThought: analysis.alternative })),
        alternativeThoughts: [analysis.alternative],
        promptForChange: 'p',
        analyzedAt: new Date(at),
      });
    }
    return id;
  }

  describe('emotion trend', () => {
    before(async () => {
      await entry(alice, '2026-03-02T01:00:00Z', 'POSITIVE');
      await entry(alice, '2026-03-02T10:00:00Z', 'NEGATIVE');
      await entry(alice, '2026-03-03T23:30:00Z', 'NEUTRAL');
      await entry(alice, '2026-03-09T12:00:00Z', null);
      await entry(bob, '2026-03-02T12:00:00Z', 'NEGATIVE');
    });

    it('when asked per day in UTC, then each day of the range has its counts, empty days included', async () => {
      const res = await request(app.server).get('/api/v1/stats/emotions').query({ from: '2026-03-02', to: '2026-03-05', timezone: 'UTC' }).set(alice.auth);
      expect(res.status).to.equal(200);
      expect(res.body.buckets).to.deep.equal([
        { start: '2026-03-02', positive: 1, negative: 1, neutral: 0, unanalyzed: 0, total: 2 },
        { start: '2026-03-03', positive: 0, negative: 0, neutral: 1, unanalyzed: 0, total: 1 },
        { start: '2026-03-04', positive: 0, negative: 0, neutral: 0, unanalyzed: 0, total: 0 },
      ]);
    });

    it("when asked in the user's time zone, then entries fall on their local day", async () => {
      const res = await request(app.server)
        .get('/api/v1/stats/emotions')
        .query({ from: '2026-03-01T15:00:00Z', to: '2026-03-04T15:00:00Z', timezone: 'Asia/Seoul' })
        .set(alice.auth);
      expect(res.body.utcOffset).to.equal('+09:00');
      // 23:30 UTC on the 3rd is the 4th in Seoul; 10:00 UTC on the 2nd is still the 2nd.
      expect(res.body.buckets.map((b: { start: string; total: number }) => [b.start, b.total])).to.deep.equal([
        ['2026-03-02', 2],
        ['2026-03-03', 0],
        ['2026-03-04', 1],
      ]);
    });

    it('when asked per week, then ISO weeks starting on Monday are counted', async () => {
      const res = await request(app.server).get('/api/v1/stats/emotions').query({ from: '2026-03-02', to: '2026-03-16', granularity: 'week', timezone: 'UTC' }).set(alice.auth);
      expect(res.body.buckets.map((b: { start: string; total: number; unanalyzed: number }) => [b.start, b.total, b.unanalyzed])).to.deep.equal([
        ['2026-03-02', 3, 0],
        ['2026-03-09', 1, 1],
      ]);
    });

    it('when the range is reversed, too long or the zone unknown, then it answers 400', async () => {
      const q = (query: Record<string, string>) => request(app.server).get('/api/v1/stats/emotions').query(query).set(alice.auth);
      expect((await q({ from: '2026-03-05', to: '2026-03-01' })).status).to.equal(400);
      expect((await q({ from: '2024-01-01', to: '2026-01-01' })).status).to.equal(400);
      expect((await q({ from: '2026-03-01', to: '2026-03-05', timezone: 'Nowhere/City' })).status).to.equal(400);
      expect((await q({ to: '2026-03-05' })).status).to.equal(400);
    });

    it("when another user asks for the same range, then they see only their own entries", async () => {
      const res = await request(app.server).get('/api/v1/stats/emotions').query({ from: '2026-03-02', to: '2026-03-03', timezone: 'UTC' }).set(bob.auth);
      expect(res.body.buckets).to.deep.equal([{ start: '2026-03-02', positive: 0, negative: 1, neutral: 0, unanalyzed: 0, total: 1 }]);
    });
  });

  describe('reports', () => {
    let carol: TestUser;
    let ids: string[];

    before(async () => {
      carol = await createTestUser(app);
      ids = [
        await entry(carol, '2026-05-01T09:00:00Z', 'NEGATIVE', { emotions: [['sadness', 0.8], ['fear', 0.4]], distortions: ['catastrophizing', 'labeling'], alternative: 'One bad day is not a ruined life.' }),
        await entry(carol, '2026-05-02T09:00:00Z', 'NEGATIVE', { emotions: [['sadness', 0.6], ['anger', 0.5]], distortions: ['catastrophizing'], alternative: 'I can ask for help.' }),
        await entry(carol, '2026-05-03T09:00:00Z', 'NEGATIVE', { emotions: [['fear', 0.9]], distortions: ['fortune_telling'], alternative: 'I cannot know the future.' }),
        await entry(carol, '2026-05-04T09:00:00Z', 'POSITIVE', { emotions: [['joy', 0.9]], distortions: [], alternative: 'Good moments happen.' }),
        await entry(carol, '2026-05-05T09:00:00Z', 'NEGATIVE', { emotions: [['sadness', 0.5]], distortions: ['catastrophizing'], alternative: 'I can ask for help.' }),
        await entry(carol, '2026-05-06T09:00:00Z', null),
      ];
      await entry(carol, '2026-06-10T09:00:00Z', 'POSITIVE');
    });

    it('when a report is generated for a period, then it summarises exactly the entries of that period and links them', async () => {
      const res = await request(app.server).post('/api/v1/reports').set(carol.auth).send({ from: '2026-05-01', to: '2026-06-01', timezone: 'UTC' });
      expect(res.status).to.equal(201);
      const { summary, diaryIds } = res.body;
      expect(diaryIds).to.deep.equal(ids);
      expect(summary.totals).to.deep.equal({ entries: 6, analyzed: 5, positive: 1, negative: 4, neutral: 0, unanalyzed: 1 });
      expect(summary.negativeStreak).to.deep.equal({ longestDays: 3, from: '2026-05-01', to: '2026-05-03' });
      expect(summary.distortions[0]).to.deep.equal({ category: 'catastrophizing', count: 3 });
      expect(summary.dominantEmotions[0].name).to.equal('sadness');
      expect(summary.alternativeThoughts).to.include('I can ask for help.');
      expect(new Set(summary.alternativeThoughts).size).to.equal(summary.alternativeThoughts.length);

      const links = await app.sql.DiaryReportLink.count({ where: { reportId: res.body.id } });
      expect(links).to.equal(6);
    });

    it('when reports are listed, read and deleted, then only the owner can, and another user gets 404 like a missing one', async () => {
      const created = await request(app.server).post('/api/v1/reports').set(carol.auth).send({ from: '2026-06-01', to: '2026-07-01' });
      const id = created.body.id as string;
      const list = await request(app.server).get('/api/v1/reports').query({ limit: 1 }).set(carol.auth);
      expect(list.body.items[0].id).to.equal(id);
      expect(list.body.nextCursor).to.be.a('string');
      const next = await request(app.server).get('/api/v1/reports').query({ limit: 1, cursor: list.body.nextCursor }).set(carol.auth);
      expect(next.body.items[0].id).not.to.equal(id);

      for (const call of [
        (rid: string) => request(app.server).get(`/api/v1/reports/${rid}`).set(bob.auth),
        (rid: string) => request(app.server).delete(`/api/v1/reports/${rid}`).set(bob.auth),
      ]) {
        const foreign = await call(id);
        const missing = await call('987654321');
        expect(foreign.status).to.equal(404);
        expect(foreign.body.code).to.equal(missing.body.code);
        expect(foreign.body.detail).to.equal(missing.body.detail);
      }
      expect((await request(app.server).get('/api/v1/reports').set(bob.auth)).body.items).to.deep.equal([]);

      expect((await request(app.server).delete(`/api/v1/reports/${id}`).set(carol.auth)).status).to.equal(204);
      expect((await request(app.server).get(`/api/v1/reports/${id}`).set(carol.auth)).status).to.equal(404);
    });

    it('when a diary of a report is deleted, then its link goes, the report stays', async () => {
      const created = await request(app.server).post('/api/v1/reports').set(carol.auth).send({ from: '2026-05-01', to: '2026-05-02' });
      await request(app.server).delete(`/api/v1/diaries/${ids[0]}`).set(carol.auth).expect(204);
      const res = await request(app.server).get(`/api/v1/reports/${created.body.id}`).set(carol.auth);
      expect(res.status).to.equal(200);
      expect(res.body.diaryIds).to.deep.equal([]);
      expect(res.body.summary.totals.entries).to.equal(1);
    });

    it('when the period is invalid, then it answers 400 and stores nothing', async () => {
      const before = await app.sql.Report.count();
      expect((await request(app.server).post('/api/v1/reports').set(carol.auth).send({ from: '2026-05-02', to: '2026-05-01' })).status).to.equal(400);
      expect((await request(app.server).post('/api/v1/reports').set(carol.auth).send({ from: 'May', to: '2026-05-01' })).status).to.equal(400);
      expect((await request(app.server).post('/api/v1/reports').set(carol.auth).send({ from: '2026-05-01', to: '2026-05-02', extra: 1 })).status).to.equal(400);
      expect(await app.sql.Report.count()).to.equal(before);
    });
  });
});
