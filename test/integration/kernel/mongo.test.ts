import { expect } from 'chai';
import { isDuplicateKeyError } from '../../../models/mongo/index.js';
import { useMongoStore } from '../../harness/mongo-store.js';

describe('MongoDB-wire server with mongoose', () => {
  const mongo = useMongoStore('mongo');


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
    await mongo.models.DiaryAnalysis.create(analysis(1));
    await mongo.models.DiaryAnalysis.create(analysis(2));
    const docs = await mongo.models.DiaryAnalysis.find({ diaryId: 'd1' }).sort({ revision: -1 }).lean();
    expect(docs.map((d) => d.revision)).to.deep.equal([2, 1]);
    expect(docs[0]!.emotions[0]).to.deep.include({ name: 'joy', score: 0.8 });
  });

  it('when a second document repeats diaryId+revision, then the unique index refuses it with a duplicate-key error', async () => {
    let error: unknown;
    try {
      await mongo.models.DiaryAnalysis.create(analysis(1));
    } catch (err) {
      error = err;
    }
    expect(isDuplicateKeyError(error)).to.equal(true);
    expect(await mongo.models.DiaryAnalysis.countDocuments({ diaryId: 'd1', revision: 1 })).to.equal(1);
  });

  it('when an upsert by the unique key runs twice, then one document exists', async () => {
    for (let i = 0; i < 2; i++) {
      await mongo.models.DiaryAnalysis.updateOne({ diaryId: 'd2', revision: 1 }, { $setOnInsert: { ...analysis(1), diaryId: 'd2' } }, { upsert: true });
    }
    expect(await mongo.models.DiaryAnalysis.countDocuments({ diaryId: 'd2' })).to.equal(1);
  });

  it('when a notification repeats an eventId for the same user, then the second is refused', async () => {
    const n = { userId: 'u1', eventId: 'e1', type: 'analysis.status', payload: { a: 1 }, createdAt: new Date() };
    await mongo.models.Notification.create({ ...n, _id: 'u1:1', seq: 1 });
    let error: unknown;
    try {
      await mongo.models.Notification.create({ ...n, _id: 'u1:2', seq: 2 });
    } catch (err) {
      error = err;
    }
    expect(isDuplicateKeyError(error)).to.equal(true);
  });

  it('when more updates of existing documents run at once than the store has connections, and one command carries as many, then all complete', async () => {
    // FerretDB v1 held each update's query (a pooled PostgreSQL connection) open while writing
    // through a second one: this hung it until scripts/ferretdb/ patched it.
    const docs = Array.from({ length: 120 }, (_, i) => ({ _id: `pool-${i}`, userId: 'pool', revision: 1 }));
    await mongo.models.AnalysisHead.insertMany(docs);
    await Promise.all(docs.map((d) => mongo.models.AnalysisHead.updateOne({ _id: d._id }, { $set: { revision: 2 } })));
    const result = await mongo.models.AnalysisHead.bulkWrite(docs.map((d) => ({ updateOne: { filter: { _id: d._id }, update: { $set: { revision: 3 } } } })));
    expect(result.modifiedCount).to.equal(120);
    expect(await mongo.models.AnalysisHead.countDocuments({ userId: 'pool', revision: 3 })).to.equal(120);
  });
});
