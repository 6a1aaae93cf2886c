import { expect } from 'chai';
import type { AnalysisResult } from '../../../workers/analyzers/analyzer.js';
import { createAnalysisStore, type AnalysisStore } from '../../../workers/analysis-store.js';
import { useMongoStore } from '../../harness/mongo-store.js';

const analyzer = { name: 'offline', version: '1' };
const result = (status: 'POSITIVE' | 'NEGATIVE'): AnalysisResult =>
  ({
    language: 'en',
    emotions: [{ name: status === 'POSITIVE' ? 'joy' : 'sadness', score: 0.7 }],
    emotionStatus: status,
    automaticThoughts: [],
    alternativeThoughts: [],
    promptForChange: '',
  }) as unknown as AnalysisResult;

describe('worker analysis store (insert first, update on redelivery)', () => {
  const mongo = useMongoStore('astore');
  let store: AnalysisStore;

  before(() => {
    store = createAnalysisStore(mongo.models);
  });

  it('when a revision is saved twice, then one document holds the second result', async () => {
    const ref = { diaryId: 'd-redeliver', userId: 'u1', revision: 1 };
    await store.save(ref, analyzer, result('POSITIVE'), null);
    await store.save(ref, analyzer, result('NEGATIVE'), null);
    const docs = await mongo.models.DiaryAnalysis.find({ diaryId: 'd-redeliver' }).lean();
    expect(docs).to.have.length(1);
    expect(docs[0]!.emotionStatus).to.equal('NEGATIVE');
    expect(await store.newestRevision('d-redeliver')).to.equal(1);
  });

  it('when revisions arrive out of order, then the head keeps the highest one', async () => {
    await store.save({ diaryId: 'd-order', userId: 'u1', revision: 1 }, analyzer, result('POSITIVE'), null);
    await store.save({ diaryId: 'd-order', userId: 'u1', revision: 3 }, analyzer, result('POSITIVE'), null);
    expect(await store.newestRevision('d-order')).to.equal(3);
    await store.save({ diaryId: 'd-order', userId: 'u1', revision: 2 }, analyzer, result('NEGATIVE'), null);
    expect(await store.newestRevision('d-order')).to.equal(3);
    expect((await store.find('d-order', 2))?.emotionStatus).to.equal('NEGATIVE');
  });

  it('when many revisions of one diary are saved at once, then every analysis is stored and nothing fails', async () => {
    // One diary's requests share a Kafka partition, so one worker handles them in order; this is
    // the rebalance case. The head is advisory: FerretDB applies $max as read-then-write, so under
    // concurrent writers it may end below the highest revision (MongoDB's $max is atomic). A low
    // head only means an old redelivered request is analysed again instead of skipped, and the
    // gateway's stale check against the diary row still discards its status event.
    const revisions = [5, 2, 8, 1, 7, 3, 6, 4];
    await Promise.all(revisions.map((revision) => store.save({ diaryId: 'd-race', userId: 'u1', revision }, analyzer, result('POSITIVE'), null)));
    expect(revisions).to.include(await store.newestRevision('d-race'));
    expect(await mongo.models.DiaryAnalysis.countDocuments({ diaryId: 'd-race' })).to.equal(revisions.length);
    expect(await mongo.models.AnalysisHead.countDocuments({ _id: 'd-race' })).to.equal(1);
    // Saved one after another, in any order, the head is the highest.
    for (const revision of [9, 11, 10]) await store.save({ diaryId: 'd-race', userId: 'u1', revision }, analyzer, result('POSITIVE'), null);
    expect(await store.newestRevision('d-race')).to.equal(11);
  });

  it('when a chunk is saved in bulk with a redelivered analysis and a newer revision among new ones, then each is stored once and the heads are the highest', async () => {
    await store.save({ diaryId: 'b-old', userId: 'u1', revision: 1 }, analyzer, result('POSITIVE'), null);
    await store.save({ diaryId: 'b-again', userId: 'u1', revision: 1 }, analyzer, result('POSITIVE'), null);
    const entry = (diaryId: string, revision: number, status: 'POSITIVE' | 'NEGATIVE') => ({ ref: { diaryId, userId: 'u1', revision }, analyzer, result: result(status), requestedAt: null });
    await store.saveMany([entry('b-new1', 1, 'POSITIVE'), entry('b-again', 1, 'NEGATIVE'), entry('b-old', 3, 'NEGATIVE'), entry('b-new2', 2, 'POSITIVE'), entry('b-new2', 1, 'POSITIVE')]);
    expect(await mongo.models.DiaryAnalysis.countDocuments({ diaryId: 'b-again' })).to.equal(1);
    expect((await store.find('b-again', 1))?.emotionStatus).to.equal('NEGATIVE');
    const heads = await store.newestRevisions(['b-new1', 'b-again', 'b-old', 'b-new2', 'b-none']);
    expect(Object.fromEntries(heads)).to.deep.equal({ 'b-new1': 1, 'b-again': 1, 'b-old': 3, 'b-new2': 2 });
    const found = await store.findMany([{ diaryId: 'b-old', revision: 1 }, { diaryId: 'b-old', revision: 3 }, { diaryId: 'b-old', revision: 2 }]);
    expect([...found.keys()].sort()).to.deep.equal(['b-old:1', 'b-old:3']);
  });

  it('when fresh analyses are stored insert-first, then each is stored, found already there (kept as stored) or stale (nothing kept), and the heads are the highest', async () => {
    await store.save({ diaryId: 'i-done', userId: 'u1', revision: 2 }, analyzer, result('POSITIVE'), null);
    await store.save({ diaryId: 'i-stale', userId: 'u1', revision: 5 }, analyzer, result('POSITIVE'), null);
    await store.save({ diaryId: 'i-up', userId: 'u1', revision: 1 }, analyzer, result('POSITIVE'), null);
    const entry = (diaryId: string, revision: number) => ({ ref: { diaryId, userId: 'u1', revision }, analyzer, result: result('NEGATIVE'), requestedAt: null });
    // Two callers at once: their entries go out as one insert per collection.
    const [first, second] = await Promise.all([
      store.insertNew([entry('i-new', 1), entry('i-done', 2)]),
      store.insertNew([entry('i-stale', 4), entry('i-up', 3)]),
    ]);
    expect(first!.map((o) => o.kind)).to.deep.equal(['stored', 'done']);
    expect(second!.map((o) => o.kind)).to.deep.equal(['stale', 'stored']);
    const done = first![1]!;
    expect(done.kind === 'done' && done.stored.emotionStatus).to.equal('POSITIVE');
    expect((await store.find('i-done', 2))?.emotionStatus).to.equal('POSITIVE');
    expect((await store.find('i-new', 1))?.emotionStatus).to.equal('NEGATIVE');
    expect(await store.find('i-stale', 4)).to.equal(null);
    expect(Object.fromEntries(await store.newestRevisions(['i-new', 'i-done', 'i-stale', 'i-up']))).to.deep.equal({ 'i-new': 1, 'i-done': 2, 'i-stale': 5, 'i-up': 3 });
  });

  it('when a diary was never analysed, then its newest revision is 0', async () => {
    expect(await store.newestRevision('d-none')).to.equal(0);
  });
});
