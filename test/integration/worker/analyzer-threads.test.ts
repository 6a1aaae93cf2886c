import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { defineMongoModels } from '../../../models/mongo/index.js';
import { analyzeOffline } from '../../../workers/analyzers/offline/offline-analyzer.js';
import { aboutDiary } from '../../harness/kafka-tap.js';
import { startWorkerRig, type WorkerRig } from '../../harness/worker-rig.js';

const TEXTS = [
  'I went for a long walk by the river and the air felt fresh. I am grateful.',
  'Everyone at work probably thinks I am lazy and useless. I always mess everything up.',
  '팀장님이 모두 앞에서 내 보고서를 지적해서 창피했다. 나는 항상 실패한다.',
  'Did the laundry. 점심은 늘 가던 곳에서 먹었다.',
];

describe('emotion worker with the offline analyzer on threads', () => {
  let rig: WorkerRig;
  before(async function () {
    this.timeout(60_000);
    rig = await startWorkerRig('worker-threads', { worker: { analyzer: 'offline', analyzerThreads: 2 } });
  });
  after(() => rig.stop());

  it('when requests arrive, then the pool analyses them: each COMPLETED and stored analysis is what the in-process analyzer says', async function () {
    this.timeout(60_000);
    expect(rig.worker.analyzer.parallel, 'the worker analyses on its threads').to.equal(true);
    expect((rig.worker.analyzer as { threads?: number }).threads).to.equal(2);
    const requests = Array.from({ length: 40 }, (_, i) => ({
      eventId: randomUUID(),
      occurredAt: new Date().toISOString(),
      diaryId: String(900_000 + i),
      userId: String(100 + (i % 5)),
      revision: 1,
      type: 'analysis.requested',
      title: null,
      content: TEXTS[i % TEXTS.length]!,
      language: i % 2 ? 'ko' : 'en',
    }));
    await rig.producer.send({
      topic: rig.worker.topics.analysisRequested,
      messages: requests.map((r) => ({ key: r.diaryId, value: JSON.stringify(r) })),
    });
    await rig.statuses.waitFor(requests.length * 2, 30_000, (m) => requests.some((r) => aboutDiary(m, r.diaryId)));
    const models = defineMongoModels(rig.worker.mongo);
    for (const r of requests) {
      const expected = analyzeOffline({ title: r.title, content: r.content, language: r.language as 'en' | 'ko' });
      const events = rig.statuses.messages.filter((m) => aboutDiary(m, r.diaryId)).map((m) => m.json<{ status: string; summary?: { emotionStatus: string } }>());
      expect(events.map((e) => e.status), r.diaryId).to.deep.equal(['PROCESSING', 'COMPLETED']);
      expect(events[1]!.summary!.emotionStatus).to.equal(expected.emotionStatus);
      const doc = await models.DiaryAnalysis.findOne({ diaryId: r.diaryId }).lean();
      expect(doc, r.diaryId).to.include({ emotionStatus: expected.emotionStatus, analyzer: 'offline', language: expected.language });
      expect(doc!.alternativeThoughts).to.deep.equal(expected.alternativeThoughts);
      expect(doc!.automaticThoughts).to.have.length(expected.automaticThoughts.length);
    }
  });
});
