import { expect } from 'chai';
import type { Connection } from 'mongoose';
import type { AppConfig } from '../../../config/index.js';
import { defineMongoModels, isDuplicateKeyError, syncMongoIndexes, type MongoModels } from '../../../models/mongo/index.js';
import { connectMongo } from '../../../kernel/clients/mongo.js';
import { dropNamespace, testConfig, uniqueNamespace } from '../../harness/test-app.js';

describe('MongoDB-wire server with mongoose', () => {
  let config: AppConfig;
  let conn: Connection;
  let models: MongoModels;

  before(async () => {
    config = testConfig(uniqueNamespace('mongo'));
    conn = await connectMongo(config);
    models = defineMongoModels(conn);
    await syncMongoIndexes(models);
  });

  after(async () => {
    await conn.close();
    await dropNamespace(config);
  });

  const analysis = (revision: number) => ({
    diaryId: 'd1',
    userId: 'u1',
    revision,
    analyzer: 'offline',
    analyzerVersion: '1',
    language: 'en',
    emotions: [{ name: 'joy', score: 0.8 }],
    emotionStatus: 'POSITIVE' as const,
    analyzedAt: new Date(),
  });

  it('when documents are inserted, then they can be queried back by index fields, sorted', async () => {
    await models.DiaryAnalysis.create(analysis(1));
    await models.DiaryAnalysis.create(analysis(2));
    const docs = await models.DiaryAnalysis.find({ diaryId: 'd1' }).sort({ revision: -1 }).lean();
    expect(docs.map((d) => d.revision)).to.deep.equal([2, 1]);
    expect(docs[0]!.emotions[0]).to.deep.include({ name: 'joy', score: 0.8 });
  });

  it('when a second document repeats diaryId+revision, then the unique index refuses it with a duplicate-key error', async () => {
    let error: unknown;
    try {
      await models.DiaryAnalysis.create(analysis(1));
    } catch (err) {
      error = err;
    }
    expect(isDuplicateKeyError(error)).to.equal(true);
    expect(await models.DiaryAnalysis.countDocuments({ diaryId: 'd1', revision: 1 })).to.equal(1);
  });

  it('when an upsert by the unique key runs twice, then one document exists', async () => {
    for (let i = 0; i < 2; i++) {
      await models.DiaryAnalysis.updateOne({ diaryId: 'd2', revision: 1 }, { $setOnInsert: { ...analysis(1), diaryId: 'd2' } }, { upsert: true });
    }
    expect(await models.DiaryAnalysis.countDocuments({ diaryId: 'd2' })).to.equal(1);
  });

  it('when a notification repeats an eventId for the same user, then the second is refused', async () => {
    const n = { userId: 'u1', eventId: 'e1', type: 'analysis.status', payload: { a: 1 }, createdAt: new Date() };
    await models.Notification.create({ ...n, _id: 'u1:1', seq: 1 });
    let error: unknown;
    try {
      await models.Notification.create({ ...n, _id: 'u1:2', seq: 2 });
    } catch (err) {
      error = err;
    }
    expect(isDuplicateKeyError(error)).to.equal(true);
  });

  it('when more updates of existing documents run at once than the store has connections, and one command carries as many, then all complete', async () => {
    // FerretDB v1 held each update's query (a pooled PostgreSQL connection) open while writing
    // through a second one: this hung it until scripts/ferretdb/ patched it.
    const docs = Array.from({ length: 120 }, (_, i) => ({ _id: `pool-${i}`, userId: 'pool', revision: 1 }));
    await models.AnalysisHead.insertMany(docs);
    await Promise.all(docs.map((d) => models.AnalysisHead.updateOne({ _id: d._id }, { $set: { revision: 2 } })));
    const result = await models.AnalysisHead.bulkWrite(docs.map((d) => ({ updateOne: { filter: { _id: d._id }, update: { $set: { revision: 3 } } } })));
    expect(result.modifiedCount).to.equal(120);
    expect(await models.AnalysisHead.countDocuments({ userId: 'pool', revision: 3 })).to.equal(120);
  });
});
