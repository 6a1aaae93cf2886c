import { expect } from 'chai';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';
import { analysedEntry, completeAnalysis, fullRecord } from './fixtures.js';

describe('thought records over REST', () => {
  let app: TestApp;
  let alice: TestUser;
  let bob: TestUser;

  before(async () => {
    app = await startTestApp('thoughtrecords');
    alice = await createTestUser(app);
    bob = await createTestUser(app);
  });

  after(() => app.destroy());

  const path = (diaryId: string) => `/api/v1/diaries/${diaryId}/thought-record`;
  const get = (user: TestUser, diaryId: string) => request(app.server).get(path(diaryId)).set(user.auth);
  const put = (user: TestUser, diaryId: string, body: unknown) => request(app.server).put(path(diaryId)).set(user.auth).send(body as object);
  const countRecords = async (diaryId?: string) => {
    const [row] = await app.clients.sequelize.query<{ n: number }>(`SELECT COUNT(*) AS n FROM thought_records${diaryId ? ' WHERE diary_id = :diaryId' : ''}`, {
      replacements: { diaryId },
      type: QueryTypes.SELECT,
    });
    return Number(row?.n);
  };
  const analysisDoc = (diaryId: string) => app.mongoModels.DiaryAnalysis.find({ diaryId }).sort({ revision: 1 }).lean();

  describe('the whole flow', () => {
    it('when nothing is saved yet, then GET answers version 0 with every automatic thought of the analysis undecided', async () => {
      const diaryId = await analysedEntry(app, alice);
      const res = await get(alice, diaryId);
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ diaryId, version: 0, analysisRevision: 1, currentAnalysisRevision: 1, stale: false, createdAt: null, balancedThought: '' });
      expect(res.body.thoughts).to.have.length(3);
      expect(res.body.thoughts[1]).to.deep.equal({
        index: 1,
        original: { text: 'Everyone will think I am stupid.', distortion: 'mind_reading', intensity: 0.8, alternativeThought: 'Another view of: Everyone will think I am stupid.' },
        decision: null,
        text: null,
        distortion: null,
      });
    });

    it('when the record is saved, then it answers 201 with the decisions, the same on GET, and the analysis document is left exactly as the analyzer wrote it', async () => {
      const diaryId = await analysedEntry(app, alice);
      const before = await analysisDoc(diaryId);
      const res = await put(alice, diaryId, fullRecord());
      expect(res.status).to.equal(201);
      expect(res.headers.location).to.equal(path(diaryId));
      expect(res.body).to.include({ diaryId, version: 1, analysisRevision: 1, stale: false, balancedThought: 'I failed one exam; I can prepare differently for the next.' });
      expect(res.body.thoughts.map((t: { decision: string }) => t.decision)).to.deep.equal(['accepted', 'edited', 'rejected']);
      expect(res.body.thoughts[1]).to.include({ text: 'Some people might think I did badly.', distortion: 'fortune_telling' });
      expect(res.body.thoughts[1].original).to.include({ text: 'Everyone will think I am stupid.', distortion: 'mind_reading' });
      expect(res.body.thoughts[0]).to.include({ text: null, distortion: null });
      expect(res.body.ownThoughts).to.deep.equal([{ text: 'I will never pass.', distortion: 'fortune_telling' }]);
      expect(res.body.emotionsBefore).to.deep.equal([{ name: 'Anxious', rating: 80 }, { name: 'sad', rating: 60 }]);

      const read = await get(alice, diaryId);
      expect(read.status).to.equal(200);
      expect(read.body).to.deep.equal(res.body);
      expect(await analysisDoc(diaryId)).to.deep.equal(before);
    });

    it('when a save names the version it read, then it is taken and the version goes up; a save with a version read before that is refused 409 and changes nothing', async () => {
      const diaryId = await analysedEntry(app, alice);
      expect((await put(alice, diaryId, fullRecord({ expectedVersion: 0 }))).status).to.equal(201);
      const second = await put(alice, diaryId, fullRecord({ expectedVersion: 1, balancedThought: 'second' }));
      expect(second.status).to.equal(200);
      expect(second.body).to.include({ version: 2, balancedThought: 'second' });

      const stale = await put(alice, diaryId, fullRecord({ expectedVersion: 1, balancedThought: 'from an old tab' }));
      expect(stale.status).to.equal(409);
      expect(stale.headers['content-type']).to.match(/application\/problem\+json/);
      expect(stale.body.code).to.equal('version_conflict');
      expect((await put(alice, diaryId, fullRecord({ expectedVersion: 0 }))).body.code).to.equal('version_conflict');
      expect((await get(alice, diaryId)).body).to.include({ version: 2, balancedThought: 'second' });

      // Without expectedVersion the save replaces what is stored.
      expect((await put(alice, diaryId, fullRecord({ balancedThought: 'third' }))).body).to.include({ version: 3, balancedThought: 'third' });
    });

    it('when two devices save version 1 at the same moment, then exactly one wins and the other gets 409', async () => {
      const diaryId = await analysedEntry(app, alice);
      await put(alice, diaryId, fullRecord()).expect(201);
      const results = await Promise.all([1, 2, 3, 4].map((n) => put(alice, diaryId, fullRecord({ expectedVersion: 1, balancedThought: `device ${n}` }))));
      expect(results.map((r) => r.status).sort()).to.deep.equal([200, 409, 409, 409]);
      expect((await get(alice, diaryId)).body.version).to.equal(2);
    });

    it('when the record is deleted, then GET is back to the undecided analysis and a second delete changes nothing (204); the entry and its analysis stay', async () => {
      const diaryId = await analysedEntry(app, alice);
      await put(alice, diaryId, fullRecord()).expect(201);
      expect((await request(app.server).delete(path(diaryId)).set(alice.auth)).status).to.equal(204);
      expect((await get(alice, diaryId)).body).to.include({ version: 0, createdAt: null });
      expect((await request(app.server).delete(path(diaryId)).set(alice.auth)).status).to.equal(204);
      expect((await request(app.server).delete(path('999999999')).set(alice.auth)).status).to.equal(404);
      expect((await request(app.server).get(`/api/v1/diaries/${diaryId}`).set(alice.auth)).body.analysis).to.not.equal(null);
    });
  });

  describe('an entry analysed again', () => {
    it('when the entry is re-analysed, then the record is kept about the older analysis (stale), saving waits for the new analysis, and a save against it renews the record', async () => {
      const diaryId = await analysedEntry(app, alice);
      await put(alice, diaryId, fullRecord()).expect(201);

      await request(app.server).post(`/api/v1/diaries/${diaryId}/reanalyze`).set(alice.auth).expect(202);
      const pending = await get(alice, diaryId);
      expect(pending.body).to.include({ version: 1, analysisRevision: 1, currentAnalysisRevision: 1, stale: true });
      const whilePending = await put(alice, diaryId, fullRecord());
      expect(whilePending.status).to.equal(409);
      expect(whilePending.body.code).to.equal('analysis_pending');

      await completeAnalysis(app, alice, diaryId, 2, [{ text: 'Nothing ever works out.', distortion: 'all_or_nothing' }]);
      const after = await get(alice, diaryId);
      expect(after.body).to.include({ version: 1, analysisRevision: 1, currentAnalysisRevision: 2, stale: true });
      expect(after.body.thoughts).to.have.length(3);

      const oldDecisions = await put(alice, diaryId, fullRecord());
      expect(oldDecisions.status).to.equal(409);
      expect(oldDecisions.body.code).to.equal('analysis_changed');

      const renewed = await put(alice, diaryId, fullRecord({ analysisRevision: 2, thoughts: [{ index: 0, decision: 'accepted' }] }));
      expect(renewed.status).to.equal(200);
      expect(renewed.body).to.include({ version: 2, analysisRevision: 2, stale: false });
      expect(renewed.body.thoughts).to.deep.equal([
        { index: 0, original: { text: 'Nothing ever works out.', distortion: 'all_or_nothing', intensity: 0.8, alternativeThought: 'Another view of: Nothing ever works out.' }, decision: 'accepted', text: null, distortion: null },
      ]);
      // Both analyses are still stored as the analyzer wrote them.
      expect((await analysisDoc(diaryId)).map((a) => a.automaticThoughts.length)).to.deep.equal([3, 1]);
    });

    it('when the entry has no analysis yet, then GET and PUT answer 409 not_analyzed', async () => {
      const { body: diary } = await request(app.server).post('/api/v1/diaries').set(alice.auth).send({ content: 'Just written.' }).expect(201);
      const read = await get(alice, diary.id);
      expect(read.status).to.equal(409);
      expect(read.body.code).to.equal('not_analyzed');
      const save = await put(alice, diary.id, fullRecord());
      expect(save.status).to.equal(409);
      expect(save.body.code).to.equal('not_analyzed');
      expect(await countRecords(diary.id)).to.equal(0);
    });
  });

  describe('owner only', () => {
    it("when another user reads, saves or deletes a record of someone's entry, then each answers the same 404 as an entry that does not exist, and nothing changes", async () => {
      const diaryId = await analysedEntry(app, alice);
      await put(alice, diaryId, fullRecord()).expect(201);
      const missing = await get(bob, '999999999');
      expect(missing.status).to.equal(404);
      for (const res of [await get(bob, diaryId), await put(bob, diaryId, fullRecord()), await request(app.server).delete(path(diaryId)).set(bob.auth)]) {
        expect(res.status).to.equal(404);
        expect(res.body.code).to.equal(missing.body.code);
        expect(res.body.detail).to.equal(missing.body.detail);
      }
      expect((await get(alice, diaryId)).body.version).to.equal(1);
      expect((await request(app.server).get(path(diaryId))).status).to.equal(401);
    });

    it("when another user asks for stats, then someone else's records are not counted", async () => {
      const carol = await createTestUser(app);
      const res = await request(app.server).get('/api/v1/thought-records/stats').query({ from: '2000-01-01', to: '2000-12-31' }).set(carol.auth);
      expect(res.status).to.equal(200);
      expect(res.body.totals.records).to.equal(0);
    });
  });

  describe('bad input is refused with 4xx and writes nothing', () => {
    let diaryId: string;
    before(async () => {
      diaryId = await analysedEntry(app, alice);
    });

    const withThought = (t: object) => fullRecord({ thoughts: [t] });
    const cases: Array<[string, () => request.Test, number, string | undefined]> = [
      ['a rating over 100', () => put(alice, diaryId, fullRecord({ emotionsBefore: [{ name: 'sad', rating: 101 }] })), 400, 'body.emotionsBefore.0.rating'],
      ['a negative rating', () => put(alice, diaryId, fullRecord({ emotionsAfter: [{ name: 'sad', rating: -1 }] })), 400, 'body.emotionsAfter.0.rating'],
      ['a fractional rating', () => put(alice, diaryId, fullRecord({ emotionsAfter: [{ name: 'sad', rating: 50.5 }] })), 400, 'body.emotionsAfter.0.rating'],
      ['an emotion rated twice', () => put(alice, diaryId, fullRecord({ emotionsBefore: [{ name: 'Sad', rating: 1 }, { name: 'sad', rating: 2 }] })), 400, 'body.emotionsBefore'],
      ['an unknown distortion', () => put(alice, diaryId, withThought({ index: 0, decision: 'edited', distortion: 'gloom' })), 400, 'body.thoughts.0.distortion'],
      ['an unknown decision', () => put(alice, diaryId, withThought({ index: 0, decision: 'maybe' })), 400, 'body.thoughts.0.decision'],
      ['an edit with neither text nor distortion', () => put(alice, diaryId, withThought({ index: 0, decision: 'edited' })), 400, 'body.thoughts.0.decision'],
      ['an accepted thought with text', () => put(alice, diaryId, withThought({ index: 0, decision: 'accepted', text: 'x' })), 400, 'body.thoughts.0.decision'],
      ['an edit to blank text', () => put(alice, diaryId, withThought({ index: 0, decision: 'edited', text: '   ' })), 400, 'body.thoughts.0.text'],
      ['the same thought decided twice', () => put(alice, diaryId, fullRecord({ thoughts: [{ index: 0, decision: 'accepted' }, { index: 0, decision: 'rejected' }] })), 400, 'body.thoughts'],
      ['a thought the analysis does not have', () => put(alice, diaryId, withThought({ index: 7, decision: 'accepted' })), 400, 'body.thoughts.0.index'],
      ['no analysisRevision', () => put(alice, diaryId, { thoughts: [] }), 400, 'body.analysisRevision'],
      ['an unknown field', () => put(alice, diaryId, fullRecord({ userId: alice.userId })), 400, 'body'],
      ['too many own thoughts', () => put(alice, diaryId, fullRecord({ ownThoughts: Array.from({ length: 21 }, (_, i) => ({ text: `t${i}` })) })), 400, 'body.ownThoughts'],
      ['a balanced thought over 4,000 characters', () => put(alice, diaryId, fullRecord({ balancedThought: 'x'.repeat(4_001) })), 400, 'body.balancedThought'],
      ['U+0000 in a text', () => put(alice, diaryId, fullRecord({ evidenceFor: 'a\u0000b' })), 400, 'body.evidenceFor'],
      ['a JSON array body', () => put(alice, diaryId, [fullRecord()]), 400, undefined],
      ['malformed JSON', () => request(app.server).put(path(diaryId)).set(alice.auth).set('Content-Type', 'application/json').send('{"analysisRevision": 1,'), 400, undefined],
      ['a huge body', () => put(alice, diaryId, fullRecord({ evidenceFor: 'x'.repeat(400 * 1024) })), 413, undefined],
      ['a non-numeric entry id', () => put(alice, 'abc', fullRecord()), 400, 'params.id'],
    ];
    for (const [what, send, status, at] of cases) {
      it(`when a save has ${what}, then it answers ${status} problem+json`, async () => {
        const res = await send();
        expect(res.status).to.equal(status);
        expect(res.headers['content-type']).to.match(/application\/problem\+json/);
        if (at) expect(res.body.errors.map((e: { path: string }) => e.path)).to.include(at);
        expect(await countRecords(diaryId)).to.equal(0);
      });
    }

    it('when stats are asked with a bad range, then it answers 400 naming the field', async () => {
      const stats = (query: object) => request(app.server).get('/api/v1/thought-records/stats').query(query).set(alice.auth);
      expect((await stats({ from: '2026-02-01', to: '2026-01-01' })).body.errors[0].path).to.equal('query.from');
      expect((await stats({ from: '2024-01-01', to: '2026-01-01' })).body.errors[0].path).to.equal('query.to');
      expect((await stats({ from: 'yesterday', to: '2026-01-01' })).status).to.equal(400);
      expect((await stats({ from: '2026-01-01', to: '2026-02-01', granularity: 'month' })).status).to.equal(400);
    });
  });

  describe('deletion', () => {
    it('when the entry is deleted, then its thought record goes with it', async () => {
      const diaryId = await analysedEntry(app, alice);
      await put(alice, diaryId, fullRecord()).expect(201);
      expect(await countRecords(diaryId)).to.equal(1);
      await request(app.server).delete(`/api/v1/diaries/${diaryId}`).set(alice.auth).expect(204);
      expect(await countRecords(diaryId)).to.equal(0);
      expect((await get(alice, diaryId)).status).to.equal(404);
    });

    it('when the account is deleted, then its thought records go with it', async () => {
      const dave = await createTestUser(app);
      const diaryId = await analysedEntry(app, dave);
      await put(dave, diaryId, fullRecord()).expect(201);
      await app.sql.User.destroy({ where: { id: dave.userId } });
      expect(await countRecords(diaryId)).to.equal(0);
    });
  });
});
