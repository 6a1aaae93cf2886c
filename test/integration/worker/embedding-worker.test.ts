import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { defineMongoModels } from '../../../models/mongo/index.js';
import { aboutDiary } from '../../harness/kafka-tap.js';
import { startWorkerRig, type WorkerRig } from '../../harness/worker-rig.js';
import { embeddingSidecarInstalled, startCountingProxy, startSuiteSidecar, type CountingProxy, type SuiteSidecar } from '../analyzers/embedding-sidecar.js';

/**
 * The worker with `worker.analyzer: ensemble` built from its config, against the real embedding
 * sidecar behind a counting proxy: a chunk's requests are analysed at once, so their texts reach
 * the sidecar in far fewer requests than there are entries, and the analyses say who made them.
 */
describe('emotion worker with the ensemble analyzer', function () {
  this.timeout(90_000);
  let sidecar: SuiteSidecar;
  let proxy: CountingProxy;
  let rig: WorkerRig;

  before(async function () {
    if (!embeddingSidecarInstalled()) this.skip();
    sidecar = await startSuiteSidecar();
    proxy = await startCountingProxy(sidecar.url);
    rig = await startWorkerRig('wembed', {
      worker: { analyzer: 'ensemble', partitionsConcurrently: 1, embedding: { url: proxy.url, batchDelayMs: 20, batchMaxTexts: 256, timeoutMs: 30_000 } },
    });
  });
  after(async () => {
    await rig?.stop();
    await proxy?.close();
    await sidecar?.close();
  });

  it('when sixteen requests of one partition arrive together, then they are analysed in a few sidecar requests and stored as the ensemble', async () => {
    const contents = Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? `Lovely walk in the park number ${i}, I feel so grateful.` : `I failed test ${i}. I always mess everything up.`));
    const requests = contents.map((content, i) => ({
      eventId: randomUUID(),
      occurredAt: new Date().toISOString(),
      diaryId: String(5000 + i),
      userId: '9',
      revision: 1,
      type: 'analysis.requested',
      title: null,
      content,
      language: 'en',
    }));
    // One key: one partition, one fetch, one chunk.
    await rig.producer.send({ topic: rig.worker.topics.analysisRequested, messages: requests.map((r) => ({ key: 'same-partition', value: JSON.stringify(r) })) });
    for (const r of requests) await rig.statuses.waitFor(2, 60_000, (m) => aboutDiary(m, r.diaryId));

    const docs = await defineMongoModels(rig.worker.mongo).DiaryAnalysis.find({ diaryId: { $in: requests.map((r) => r.diaryId) } }).lean();
    expect(docs).to.have.length(16);
    expect(new Set(docs.map((d) => d.analyzer))).to.deep.equal(new Set(['ensemble']));
    const byId = new Map(docs.map((d) => [d.diaryId, d]));
    expect(requests.map((r, i) => [byId.get(r.diaryId)!.emotionStatus, i % 2 === 0])).to.deep.equal(requests.map((_, i) => [i % 2 === 0 ? 'POSITIVE' : 'NEGATIVE', i % 2 === 0]));
    expect(proxy.embeddings.reduce((n, b) => n + b.input.length, 0)).to.be.greaterThan(16 * 2);
    expect(proxy.embeddings.length).to.be.lessThan(5);
  });
});
