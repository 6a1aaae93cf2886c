import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import request from 'supertest';
import { exportTrainingCorrections, TRAINING_EXPORT_SCHEMA, type TrainingExample } from '../../../src/thought-records/training-export.js';
import { redisEnv, runCli } from '../../harness/processes.js';
import { startTestApp, type TestApp } from '../../harness/test-app.js';
import { createTestUser, type TestUser } from '../../harness/users.js';
import { analysedEntry, fullRecord } from './fixtures.js';

describe('thought-record stats and the training export', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp('thoughtstats');
  });

  after(() => app.destroy());

  const put = (user: TestUser, diaryId: string, body: object) => request(app.server).put(`/api/v1/diaries/${diaryId}/thought-record`).set(user.auth).send(body).expect(201);
  const writtenAt = (diaryId: string, at: string) => app.clients.sequelize.query('UPDATE diaries SET created_at = :at WHERE id = :diaryId', { replacements: { at: new Date(at), diaryId } });

  describe('stats', () => {
    let sam: TestUser;

    before(async () => {
      sam = await createTestUser(app);
      // Monday of ISO week 2026-03-02: the record of fixtures.fullRecord (before anxious 80, sad 60; after 40, 50).
      const e1 = await analysedEntry(app, sam);
      await writtenAt(e1, '2026-03-02T10:00:00Z');
      await put(sam, e1, fullRecord());
      const e2 = await analysedEntry(app, sam, [
        { text: 'Nothing ever goes right.', distortion: 'overgeneralization' },
        { text: 'I am a loser.', distortion: 'labeling' },
      ]);
      await writtenAt(e2, '2026-03-03T10:00:00Z');
      await put(sam, e2, {
        analysisRevision: 1,
        thoughts: [
          { index: 0, decision: 'accepted' },
          { index: 1, decision: 'accepted' },
        ],
        emotionsBefore: [{ name: 'anxious', rating: 50 }],
        emotionsAfter: [
          { name: 'anxious', rating: 30 },
          { name: 'calm', rating: 70 },
        ],
      });
      // Sunday evening in UTC, already Monday 2026-03-09 in Seoul. Only rated before: nothing to compare.
      const e3 = await analysedEntry(app, sam, [{ text: 'This will be a disaster.', distortion: 'catastrophizing' }]);
      await writtenAt(e3, '2026-03-08T20:00:00Z');
      await put(sam, e3, { analysisRevision: 1, thoughts: [{ index: 0, decision: 'rejected' }], ownThoughts: [{ text: 'I am tired.' }], emotionsBefore: [{ name: 'sad', rating: 90 }] });
      // Outside the range.
      const e4 = await analysedEntry(app, sam);
      await writtenAt(e4, '2026-02-20T10:00:00Z');
      await put(sam, e4, fullRecord());
    });

    const stats = (query: object) => request(app.server).get('/api/v1/thought-records/stats').query(query).set(sam.auth).expect(200);

    it('when weekly stats are asked for a range, then ratings before and after, recurring distortions and acceptance rates are those of the records in it', async () => {
      const { body } = await stats({ from: '2026-03-01', to: '2026-03-15', granularity: 'week', timezone: 'UTC' });
      expect(body).to.deep.equal({
        granularity: 'week',
        timezone: 'UTC',
        utcOffset: '+00:00',
        totals: { records: 3, decided: 6, accepted: 3, edited: 1, rejected: 2, acceptanceRate: 0.5, keptRate: 0.667, rejectionRate: 0.333, ownThoughts: 2 },
        // Record means of the emotions rated both times: (80+60)/2 → (40+50)/2 and 50 → 30.
        ratings: { rated: 2, averageBefore: 60, averageAfter: 37.5, averageChange: -22.5 },
        buckets: [
          { start: '2026-02-23', records: 0, rated: 0, averageBefore: null, averageAfter: null, averageChange: null },
          { start: '2026-03-02', records: 3, rated: 2, averageBefore: 60, averageAfter: 37.5, averageChange: -22.5 },
          { start: '2026-03-09', records: 0, rated: 0, averageBefore: null, averageAfter: null, averageChange: null },
        ],
        emotions: [
          { name: 'anxious', rated: 2, averageBefore: 65, averageAfter: 35, averageChange: -30 },
          { name: 'sad', rated: 1, averageBefore: 60, averageAfter: 50, averageChange: -10 },
        ],
        // Accepted and edited-to categories and the person's own; the rejected ones are not counted.
        distortions: [
          { category: 'fortune_telling', count: 2, fromAnalyzer: 1, ownThoughts: 1 },
          { category: 'overgeneralization', count: 2, fromAnalyzer: 2, ownThoughts: 0 },
          { category: 'labeling', count: 1, fromAnalyzer: 1, ownThoughts: 0 },
        ],
        analyzerGuesses: [
          { category: 'overgeneralization', proposed: 2, accepted: 2, edited: 0, rejected: 0, recategorized: 0 },
          { category: 'catastrophizing', proposed: 1, accepted: 0, edited: 0, rejected: 1, recategorized: 0 },
          { category: 'labeling', proposed: 1, accepted: 1, edited: 0, rejected: 0, recategorized: 0 },
          { category: 'mind_reading', proposed: 1, accepted: 0, edited: 1, rejected: 0, recategorized: 1 },
          { category: 'should_statements', proposed: 1, accepted: 0, edited: 0, rejected: 1, recategorized: 0 },
        ],
      });
    });

    it("when the same range is asked in Seoul's time zone or by day, then each entry counts in its own local day and week", async () => {
      const seoul = (await stats({ from: '2026-03-01', to: '2026-03-15', granularity: 'week', timezone: 'Asia/Seoul' })).body;
      expect(seoul.utcOffset).to.equal('+09:00');
      expect(seoul.buckets.map((b: { start: string; records: number }) => [b.start, b.records])).to.deep.equal([
        ['2026-02-23', 0],
        ['2026-03-02', 2],
        ['2026-03-09', 1],
      ]);
      const daily = (await stats({ from: '2026-03-02', to: '2026-03-04', granularity: 'day', timezone: 'UTC' })).body;
      expect(daily.buckets).to.deep.equal([
        { start: '2026-03-02', records: 1, rated: 1, averageBefore: 70, averageAfter: 45, averageChange: -25 },
        { start: '2026-03-03', records: 1, rated: 1, averageBefore: 50, averageAfter: 30, averageChange: -20 },
      ]);
      expect(daily.totals).to.include({ records: 2, decided: 5, accepted: 3, edited: 1, rejected: 1 });
    });
  });

  describe('training export', () => {
    let ana: TestUser;
    let ben: TestUser;
    let cleo: TestUser;
    let anaEntry: string;
    let benEntry: string;
    let cleoEntry: string;
    const consent = (user: TestUser, value: boolean) =>
      request(app.server).put('/api/v1/settings/training.shareCorrections').set(user.auth).send({ value }).expect(200);

    async function exportLines(): Promise<{ lines: TrainingExample[]; raw: string; result: Awaited<ReturnType<typeof exportTrainingCorrections>> }> {
      const out = new PassThrough();
      let raw = '';
      out.on('data', (c: Buffer) => (raw += c.toString()));
      const result = await exportTrainingCorrections(app.clients.sequelize, out);
      out.end();
      return { lines: raw.split('\n').filter(Boolean).map((l) => JSON.parse(l) as TrainingExample), raw, result };
    }

    before(async () => {
      ana = await createTestUser(app);
      ben = await createTestUser(app);
      cleo = await createTestUser(app);
      anaEntry = await analysedEntry(app, ana, undefined, 'Ana failed the exam. I always mess everything up.');
      await put(ana, anaEntry, fullRecord());
      // Edited after the record: its text is not the one corrected.
      const anaEdited = await analysedEntry(app, ana);
      await put(ana, anaEdited, fullRecord());
      await request(app.server).patch(`/api/v1/diaries/${anaEdited}`).set(ana.auth).send({ content: 'Rewritten later.' }).expect(200);
      // Saved with nothing decided.
      const anaUndecided = await analysedEntry(app, ana);
      await put(ana, anaUndecided, { analysisRevision: 1, emotionsBefore: [{ name: 'sad', rating: 10 }] });
      benEntry = await analysedEntry(app, ben, undefined, 'Ben never agreed to share this.');
      await put(ben, benEntry, fullRecord());
      cleoEntry = await analysedEntry(app, cleo, undefined, 'Cleo shared this for a while.');
      await put(cleo, cleoEntry, fullRecord());
      await consent(ana, true);
      await consent(cleo, true);
    });

    it('when the settings are read, then sharing corrections is an option that is off by default', async () => {
      const res = await request(app.server).get('/api/v1/settings').set(ben.auth).expect(200);
      expect(res.body.items.find((s: { key: string }) => s.key === 'training.shareCorrections')).to.include({ value: false, dataType: 'BOOLEAN', userEditable: true, isDefault: true });
    });

    it("when exported, then each consenting user's corrections are one JSON line paired with the entry text and the analyzer's guess, and nobody else's appear", async () => {
      const { lines, raw, result } = await exportLines();
      expect(result).to.deep.equal({ exported: 2, subjects: 2, skipped: { entryChanged: 1, nothingDecided: 1 } });
      expect(lines.map((l) => l.text).sort()).to.deep.equal(['Ana failed the exam. I always mess everything up.', 'Cleo shared this for a while.']);
      expect(raw).not.to.include('Ben never agreed');
      // No account or entry id leaves the database.
      for (const id of [ana.userId, ben.userId, cleo.userId, anaEntry, benEntry, cleoEntry]) expect(raw).not.to.match(new RegExp(`"${id}"`));

      const anaLine = lines.find((l) => l.text.startsWith('Ana'))!;
      expect(anaLine).to.deep.include({
        schema: TRAINING_EXPORT_SCHEMA,
        language: 'en',
        title: null,
        analyzer: { name: 'offline', version: 'test-1', model: null, analysisRevision: 1 },
        missed: [{ text: 'I will never pass.', distortion: 'fortune_telling' }],
        // In the diary corpus's shape; the own thought does not quote the entry, the rejected guess is absent.
        distortions: [
          { category: 'overgeneralization', sentence: 'I always mess everything up.' },
          { category: 'fortune_telling', sentence: 'Everyone will think I am stupid.' },
        ],
        balancedThought: 'I failed one exam; I can prepare differently for the next.',
      });
      expect(anaLine.thoughts).to.deep.equal([
        {
          sentence: 'I always mess everything up.',
          predicted: { distortion: 'overgeneralization', intensity: 0.8, alternativeThought: 'Another view of: I always mess everything up.' },
          decision: 'accepted',
          gold: { text: 'I always mess everything up.', distortion: 'overgeneralization' },
        },
        {
          sentence: 'Everyone will think I am stupid.',
          predicted: { distortion: 'mind_reading', intensity: 0.8, alternativeThought: 'Another view of: Everyone will think I am stupid.' },
          decision: 'edited',
          gold: { text: 'Some people might think I did badly.', distortion: 'fortune_telling' },
        },
        {
          sentence: 'I should have studied more.',
          predicted: { distortion: 'should_statements', intensity: 0.8, alternativeThought: 'Another view of: I should have studied more.' },
          decision: 'rejected',
          gold: null,
        },
      ]);
      expect(anaLine.subject).to.match(/^[0-9a-f]{32}$/);
      expect(anaLine.subject).not.to.equal(lines.find((l) => l.text.startsWith('Cleo'))!.subject);
    });

    it('when a user withdraws consent (set to false, or reset to the default), then later exports leave them out', async () => {
      await consent(cleo, false);
      const withdrawn = await exportLines();
      expect(withdrawn.lines.map((l) => l.text)).to.deep.equal(['Ana failed the exam. I always mess everything up.']);
      expect(withdrawn.raw).not.to.include('Cleo');

      await request(app.server).delete('/api/v1/settings/training.shareCorrections').set(ana.auth).expect(200);
      expect((await exportLines()).lines).to.deep.equal([]);
      await consent(ana, true);
    });

    it('when the CLI exports to a file, then the file is owner-only JSON Lines of the same records and the summary goes to stderr', async function () {
      this.timeout(60_000);
      const dir = await mkdtemp(path.join(tmpdir(), 'training-export-'));
      try {
        const file = path.join(dir, 'corrections.jsonl');
        const res = await runCli(['training:export', '--out', file], {
          APP_PROFILE: 'test',
          LOG_LEVEL: 'fatal',
          MARIADB_URL: app.config.mariadb.url,
          MONGO_URL: app.config.mongo.url,
          ...redisEnv(app.config),
          KAFKA_BROKERS: app.config.kafka.brokers.join(','),
        });
        expect(res.code, res.stderr).to.equal(0);
        expect(JSON.parse(res.stderr.trim())).to.deep.include({ exported: 1, subjects: 1, out: file });
        const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as TrainingExample);
        expect(lines.map((l) => l.text)).to.deep.equal(['Ana failed the exam. I always mess everything up.']);
        expect((await stat(file)).mode & 0o777).to.equal(0o600);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});
