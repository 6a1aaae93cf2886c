import { expect } from 'chai';
import { QueryTypes } from 'sequelize';
import request from 'supertest';
import { tapTopic, type KafkaTap } from '../../harness/kafka-tap.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';

describe('diaries over REST', () => {
  let app: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let requests: KafkaTap;

  before(async () => {
    app = await startTestApp('diaries', { diaries: { contentMaxChars: 2_000 } });
    alice = await createTestUser(app);
    bob = await createTestUser(app);
    requests = await tapTopic(app.config.kafka.brokers, app.topics.analysisRequested);
  });

  after(async () => {
    await requests.stop();
    await app.destroy();
  });

  const create = (user: TestUser, body: object) => request(app.server).post('/api/v1/diaries').set(user.auth).send(body);
  const countDiaries = async () => {
    const [row] = await app.clients.sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM diaries', { type: QueryTypes.SELECT });
    return Number(row?.n);
  };

  describe('create and get', () => {
    it('when an entry is written, then it answers 201 with the entry PENDING and its analysis request reaches Kafka', async () => {
      const res = await create(alice, { title: 'A day', content: 'I felt happy at the park.' }).set('X-Request-Id', 'req-create-1');
      expect(res.status).to.equal(201);
      expect(res.headers.location).to.equal(`/api/v1/diaries/${res.body.id}`);
      expect(res.body).to.include({ title: 'A day', content: 'I felt happy at the park.', revision: 1, analysisStatus: 'PENDING', analysis: null });

      const [message] = await requests.waitFor(1, 20_000, (m) => m.key === res.body.id);
      const event = message!.json<{ type: string; diaryId: string; userId: string; revision: number; content: string; eventId: string; language: string }>();
      expect(event).to.include({ type: 'analysis.requested', diaryId: res.body.id, userId: alice.userId, revision: 1, content: 'I felt happy at the park.', language: 'en' });
      expect(message!.headers.requestId).to.equal('req-create-1');
      expect(message!.headers.eventId).to.equal(event.eventId);
    });

    it('when the owner gets the entry after its analysis completed, then the analysis from MongoDB is included', async () => {
      const { body: diary } = await create(alice, { content: 'Everything went wrong today.' });
      await app.mongoModels.DiaryAnalysis.create({
        diaryId: diary.id,
        userId: alice.userId,
        revision: 1,
        analyzer: 'offline',
        analyzerVersion: 'test',
        language: 'en',
        emotions: [{ name: 'sadness', score: 0.7 }],
        emotionStatus: 'NEGATIVE',
        automaticThoughts: [{ text: 'Everything went wrong today.', distortion: 'all_or_nothing', intensity: 0.8, alternativeThought: 'Some things went wrong.' }],
        alternativeThoughts: ['Some things went wrong.'],
        promptForChange: 'What went right?',
        analyzedAt: new Date(),
      });
      const repo = (await import('../../../src/diaries/diary-repository.js')).createDiaryRepository(app.clients.sequelize, app.sql);
      expect(await repo.applyAnalysisStatus(alice.userId, diary.id, { revision: 1, status: 'COMPLETED', emotionStatus: 'NEGATIVE', alternativeThought: 'Some things went wrong.' })).to.equal(true);

      const res = await request(app.server).get(`/api/v1/diaries/${diary.id}`).set(alice.auth);
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ analysisStatus: 'COMPLETED', emotionStatus: 'NEGATIVE', isNegative: true, analyzedRevision: 1 });
      expect(res.body.analysis.automaticThoughts[0]).to.include({ distortion: 'all_or_nothing' });
    });
  });

  describe('bad input loses nothing and never answers 500', () => {
    const cases: Array<[string, (r: request.Test) => request.Test, number, string | undefined]> = [
      ['no content', (r) => r.send({ title: 'x' }), 400, 'body.content'],
      ['empty content', (r) => r.send({ content: '   ' }), 400, 'body.content'],
      ['content over the configured limit', (r) => r.send({ content: 'x'.repeat(2_001) }), 400, 'body.content'],
      ['title over 255 characters', (r) => r.send({ title: 't'.repeat(256), content: 'ok' }), 400, 'body.title'],
      ['content of the wrong type', (r) => r.send({ content: 42 }), 400, 'body.content'],
      ['an unknown field', (r) => r.send({ content: 'ok', userId: '1' }), 400, 'body'],
      ['malformed JSON', (r) => r.set('Content-Type', 'application/json').send('{"content": "unterminated'), 400, undefined],
      ['a JSON array body', (r) => r.send([{ content: 'x' }]), 400, undefined],
      ['a non-JSON content type', (r) => r.set('Content-Type', 'text/plain').send('content=hi'), 415, undefined],
      ['a huge body', (r) => r.send({ content: 'x'.repeat(400 * 1024) }), 413, undefined],
    ];
    for (const [what, send, status, path] of cases) {
      it(`when a create has ${what}, then it answers ${status} problem+json and writes nothing`, async () => {
        const before = await countDiaries();
        const res = await send(request(app.server).post('/api/v1/diaries').set(alice.auth));
        expect(res.status).to.equal(status);
        expect(res.headers['content-type']).to.match(/application\/problem\+json/);
        if (path) expect(res.body.errors.map((e: { path: string }) => e.path)).to.include(path);
        expect(await countDiaries()).to.equal(before);
      });
    }

    it('when the id is not a number or the cursor is forged, then it answers 400', async () => {
      expect((await request(app.server).get('/api/v1/diaries/abc').set(alice.auth)).status).to.equal(400);
      expect((await request(app.server).get('/api/v1/diaries?cursor=bm90LWEtY3Vyc29y').set(alice.auth)).status).to.equal(400);
      expect((await request(app.server).get('/api/v1/diaries?limit=1000').set(alice.auth)).status).to.equal(400);
      expect((await request(app.server).get('/api/v1/diaries?from=yesterday').set(alice.auth)).status).to.equal(400);
    });

    it('when no or a garbage token is sent, then it answers 401', async () => {
      expect((await request(app.server).get('/api/v1/diaries')).status).to.equal(401);
      expect((await request(app.server).get('/api/v1/diaries').set('Authorization', 'Bearer not.a.jwt')).status).to.equal(401);
      expect((await request(app.server).get('/api/v1/diaries').set('Authorization', 'Basic abc')).status).to.equal(401);
    });
  });

  describe('listing', () => {
    let carol: TestUser;
    before(async () => {
      carol = await createTestUser(app);
    });

    it('when pages are read while new entries are being written, then every entry is seen exactly once, newest first', async () => {
      const written: string[] = [];
      for (let i = 0; i < 25; i++) written.push((await create(carol, { content: `entry ${i}` })).body.id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: request.Response = await request(app.server)
          .get('/api/v1/diaries')
          .query({ limit: 10, ...(cursor ? { cursor } : {}) })
          .set(carol.auth);
        expect(res.status).to.equal(200);
        seen.push(...res.body.items.map((d: { id: string }) => d.id));
        cursor = res.body.nextCursor;
        // A concurrent writer adds entries between page reads.
        await create(carol, { content: `late entry ${pages}` });
        pages++;
      } while (cursor);
      expect(seen).to.deep.equal([...written].reverse());
      expect(pages).to.equal(3);
    });

    it('when an entry is long, then the list carries its first 200 characters as excerpt (as the full text sliced in JavaScript) and every other field of the entry', async () => {
      const erin = await createTestUser(app);
      // Astral characters (two UTF-16 units each) around the cut: SQL counts characters, JS units.
      const content = `${'a'.repeat(150)}${'😀'.repeat(60)}${'b'.repeat(1_000)}`;
      const { body: created } = await create(erin, { title: 'Long', content });
      const res = await request(app.server).get('/api/v1/diaries').set(erin.auth);
      expect(res.status).to.equal(200);
      const [item] = res.body.items;
      expect(item.excerpt).to.equal(content.slice(0, 200));
      const { content: _content, analysis: _analysis, ...rest } = created;
      expect(item).to.deep.equal({ ...rest, excerpt: content.slice(0, 200) });
    });

    it('when filtered by emotion, analysis status, date range and text (Korean too), then only matching entries come back', async () => {
      const dave = await createTestUser(app);
      const ids = {
        happy: (await create(dave, { title: '산책', content: '오늘은 공원에서 행복했다' })).body.id,
        sad: (await create(dave, { content: 'A sad and long day, 100% tired' })).body.id,
        old: (await create(dave, { content: 'An old entry from last year' })).body.id,
      };
      await app.clients.sequelize.query("UPDATE diaries SET emotion_status = 'POSITIVE', analysis_status = 'COMPLETED' WHERE id = ?", { replacements: [ids.happy] });
      await app.clients.sequelize.query("UPDATE diaries SET emotion_status = 'NEGATIVE', analysis_status = 'COMPLETED' WHERE id = ?", { replacements: [ids.sad] });
      await app.clients.sequelize.query("UPDATE diaries SET created_at = '2025-03-01 10:00:00' WHERE id = ?", { replacements: [ids.old] });

      const list = async (query: Record<string, string>) =>
        (await request(app.server).get('/api/v1/diaries').query(query).set(dave.auth)).body.items.map((d: { id: string }) => d.id);
      expect(await list({ emotion: 'POSITIVE' })).to.deep.equal([ids.happy]);
      expect(await list({ analysisStatus: 'PENDING' })).to.deep.equal([ids.old]);
      expect(await list({ from: '2025-01-01', to: '2025-12-31' })).to.deep.equal([ids.old]);
      expect(await list({ q: '행복' })).to.deep.equal([ids.happy]);
      expect(await list({ q: '100%' })).to.deep.equal([ids.sad]);
      expect(await list({ q: '%' })).to.deep.equal([ids.sad]);
      expect(await list({ q: '공원' })).to.deep.equal([ids.happy]);
    });
  });

  describe('update, reanalyze, delete', () => {
    it('when an entry is patched, then its revision goes up, it is PENDING again and a new request is published', async () => {
      const { body: diary } = await create(alice, { content: 'first version' });
      const res = await request(app.server).patch(`/api/v1/diaries/${diary.id}`).set(alice.auth).send({ content: 'second version' });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ revision: 2, content: 'second version', analysisStatus: 'PENDING' });
      const msgs = await requests.waitFor(2, 20_000, (m) => m.key === diary.id);
      expect(msgs.map((m) => m.json<{ revision: number }>().revision).sort()).to.deep.equal([1, 2]);
    });

    it('when an empty patch is sent, then it answers 400', async () => {
      const { body: diary } = await create(alice, { content: 'x' });
      const res = await request(app.server).patch(`/api/v1/diaries/${diary.id}`).set(alice.auth).send({});
      expect(res.status).to.equal(400);
    });

    it('when an entry is reanalysed, then it answers 202 with a new revision and a new request', async () => {
      const { body: diary } = await create(alice, { content: 'please look again' });
      const res = await request(app.server).post(`/api/v1/diaries/${diary.id}/reanalyze`).set(alice.auth);
      expect(res.status).to.equal(202);
      expect(res.body.revision).to.equal(2);
      await requests.waitFor(2, 20_000, (m) => m.key === diary.id);
    });

    it('when an entry is deleted, then it is gone with its analyses', async () => {
      const { body: diary } = await create(alice, { content: 'to be deleted' });
      await app.mongoModels.DiaryAnalysis.create({
        diaryId: diary.id, userId: alice.userId, revision: 1, analyzer: 'offline', analyzerVersion: 't', language: 'en', emotionStatus: 'NEUTRAL', analyzedAt: new Date(),
      });
      expect((await request(app.server).delete(`/api/v1/diaries/${diary.id}`).set(alice.auth)).status).to.equal(204);
      expect((await request(app.server).get(`/api/v1/diaries/${diary.id}`).set(alice.auth)).status).to.equal(404);
      expect(await app.mongoModels.DiaryAnalysis.countDocuments({ diaryId: diary.id })).to.equal(0);
      expect((await request(app.server).delete(`/api/v1/diaries/${diary.id}`).set(alice.auth)).status).to.equal(404);
    });
  });

  describe('isolation between users', () => {
    it("when another user's id is used on every diary route, then the answer is the same 404 as for a missing entry and nothing changes", async () => {
      const { body: diary } = await create(alice, { content: "alice's secret" });
      const missing = '999999999';
      const routes: Array<(id: string) => request.Test> = [
        (id) => request(app.server).get(`/api/v1/diaries/${id}`).set(bob.auth),
        (id) => request(app.server).patch(`/api/v1/diaries/${id}`).set(bob.auth).send({ content: 'hijacked' }),
        (id) => request(app.server).post(`/api/v1/diaries/${id}/reanalyze`).set(bob.auth),
        (id) => request(app.server).delete(`/api/v1/diaries/${id}`).set(bob.auth),
      ];
      for (const call of routes) {
        const foreign = await call(diary.id);
        const absent = await call(missing);
        expect(foreign.status).to.equal(404);
        expect(absent.status).to.equal(404);
        expect({ ...foreign.body, errorId: '', instance: '' }).to.deep.equal({ ...absent.body, errorId: '', instance: '' });
      }
      const list = await request(app.server).get('/api/v1/diaries').set(bob.auth);
      expect(list.body.items.map((d: { id: string }) => d.id)).not.to.include(diary.id);
      const still = await request(app.server).get(`/api/v1/diaries/${diary.id}`).set(alice.auth);
      expect(still.body).to.include({ content: "alice's secret", revision: 1 });
    });
  });

  describe('transactional outbox', () => {
    it('when the outbox insert fails, then the diary is rolled back and nothing is half-written', async () => {
      await app.clients.sequelize.query(
        "CREATE TRIGGER outbox_fail BEFORE INSERT ON outbox_events FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'outbox unavailable'",
      );
      try {
        const before = await countDiaries();
        const res = await create(alice, { content: 'this must not survive' });
        expect(res.status).to.equal(500);
        expect(res.body.code).to.equal('internal_error');
        expect(await countDiaries()).to.equal(before);
      } finally {
        await app.clients.sequelize.query('DROP TRIGGER outbox_fail');
      }
    });

    it('when the owner was deleted while their token is still valid, then a create answers 401 and writes nothing', async () => {
      const gone = await createTestUser(app);
      await app.clients.sequelize.query('DELETE FROM users WHERE id = ?', { replacements: [gone.userId] });
      const before = await countDiaries();
      const res = await create(gone, { content: 'written by nobody' });
      expect(res.status).to.equal(401);
      expect(res.headers['content-type']).to.match(/application\/problem\+json/);
      expect(await countDiaries()).to.equal(before);
    });

    it('when an entry is created, then its outbox row carries the analysis request with the new id, revision 1 and the request id', async () => {
      const res = await create(alice, { title: 'outbox', content: 'checked in the row' }).set('X-Request-Id', 'req-outbox-row');
      const [row] = await app.clients.sequelize.query<{ payload: string; headers: string; message_key: string; topic: string }>(
        'SELECT payload, headers, message_key, topic FROM outbox_events WHERE message_key = ?',
        { type: QueryTypes.SELECT, replacements: [res.body.id] },
      );
      expect(row).to.include({ message_key: res.body.id, topic: app.topics.analysisRequested });
      expect(JSON.parse(row!.headers)).to.deep.equal({ requestId: 'req-outbox-row' });
      expect(JSON.parse(row!.payload)).to.include({ type: 'analysis.requested', diaryId: res.body.id, userId: alice.userId, revision: 1, title: 'outbox', content: 'checked in the row' });
    });

    it('when the connection dies in the middle of a create, then it answers 503 with Retry-After, nothing is written, and the next create works', async () => {
      const sequelize = app.clients.sequelize;
      // Holds the create inside its transaction long enough to kill the connection running it.
      await sequelize.query('CREATE TRIGGER outbox_slow BEFORE INSERT ON outbox_events FOR EACH ROW SET @slept = SLEEP(3)');
      try {
        const before = await countDiaries();
        // `then` sends the request now; it is awaited after the kill.
        const pending = create(alice, { content: 'cut off mid-transaction' }).then((res) => res);
        let victim: number | undefined;
        for (let i = 0; i < 100 && victim === undefined; i++) {
          // The process list shows the statement running inside the procedure, not the CALL.
          const rows = await sequelize.query<{ id: string }>(
            "SELECT id FROM information_schema.processlist WHERE id <> CONNECTION_ID() AND (info LIKE 'CALL diary_create_with_outbox%' OR info LIKE 'INSERT INTO outbox_events%' OR info LIKE '%SLEEP(3)%')",
            { type: QueryTypes.SELECT },
          );
          victim = rows[0] ? Number(rows[0].id) : undefined;
          if (victim === undefined) await new Promise((r) => setTimeout(r, 20));
        }
        expect(victim, 'the create was not seen running').to.be.a('number');
        await sequelize.query(`KILL CONNECTION ${Number(victim)}`);
        const res = await pending;
        expect(res.status).to.equal(503);
        expect(res.body.code).to.equal('dependency_unavailable');
        expect(res.headers['retry-after']).to.equal('5');
        expect(await countDiaries()).to.equal(before);
      } finally {
        await sequelize.query('DROP TRIGGER outbox_slow');
      }
      expect((await create(alice, { content: 'after the cut' })).status).to.equal(201);
    });

    it('when entries are written, then the relay marks their outbox rows SENT and the backlog gauge drains to zero', async () => {
      for (let i = 0; i < 5; i++) await create(alice, { content: `drain ${i}` });
      const deadline = Date.now() + 15_000;
      let pending = -1;
      while (Date.now() < deadline) {
        const [row] = await app.clients.sequelize.query<{ n: number }>("SELECT COUNT(*) AS n FROM outbox_events WHERE status = 'PENDING'", { type: QueryTypes.SELECT });
        pending = Number(row?.n);
        if (pending === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(pending).to.equal(0);
      await new Promise((r) => setTimeout(r, 1_200));
      const metrics = await app.metrics.registry.getSingleMetricAsString('outbox_backlog_events');
      expect(metrics).to.match(/outbox_backlog_events\{[^}]*\} 0/);
    });
  });
});
