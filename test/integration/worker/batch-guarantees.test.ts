import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Kafka, logLevel, type Message, type Producer } from 'kafkajs';
import type { AppConfig } from '../../../config/index.js';
import { defineMongoModels } from '../../../models/mongo/index.js';
import { waitUntil } from '../../../kernel/wait.js';
import type { Analyzer } from '../../../workers/analyzers/analyzer.js';
import { createOfflineAnalyzer } from '../../../workers/analyzers/offline/offline-analyzer.js';
import type { PipelinePublisher } from '../../../workers/pipeline-publisher.js';
import { OFFLINE_CHUNK_SIZE } from '../../../workers/analysis-batch-handler.js';
import { WORKER_GROUP, type WorkerApp } from '../../../workers/worker-app.js';
import { aboutDiary, type KafkaTap } from '../../harness/kafka-tap.js';
import { startWorkerRig, type WorkerRig } from '../../harness/worker-rig.js';

interface Status {
  status: string;
  eventId: string;
  diaryId: string;
  revision: number;
  occurredAt: string;
}

/**
 * The guarantees of the batch path, through the real broker and store: every message of a test is
 * produced in one request to partition 0, so the worker gets them as one batch.
 */
describe('emotion worker batches: at least once, idempotent, in order', () => {
  let config: AppConfig;
  let worker: WorkerApp;
  let producer: Producer;
  let statuses: KafkaTap;
  let dlq: KafkaTap;
  /** When set, the next produce that carries COMPLETED statuses reaches the broker and then fails, as if the worker died before the commit. */
  let loseNextCompletedAck = false;
  let analyzerCalls = 0;

  const offline = createOfflineAnalyzer();
  const analyzer: Analyzer = {
    name: offline.name,
    version: offline.version,
    analyze(input, signal) {
      analyzerCalls++;
      return input.content.includes('#poison') ? Promise.reject(new Error('analyzer exploded')) : offline.analyze(input, signal);
    },
  };
  const wrapPublisher = (real: PipelinePublisher): PipelinePublisher => ({
    ...real,
    async publish(out) {
      await real.publish(out);
      if (loseNextCompletedAck && out.statuses?.some((s) => s.event.status === 'COMPLETED')) {
        loseNextCompletedAck = false;
        throw new Error('connection lost before the acks arrived');
      }
    },
  });

  let rig: WorkerRig;
  before(async function () {
    this.timeout(60_000);
    rig = await startWorkerRig('wbatch', { worker: { maxAttempts: 3, backoffBaseMs: 50, backoffMaxMs: 200 } }, { analyzer, wrapPublisher });
    ({ config, worker, producer, statuses, dlq } = rig);
  });

  after(() => rig.stop());

  let nextDiary = 7000;
  const request = (fields: { diaryId?: string; revision?: number; content?: string } = {}) => ({
    eventId: randomUUID(),
    occurredAt: new Date().toISOString(),
    diaryId: fields.diaryId ?? String(nextDiary++),
    userId: '3',
    revision: fields.revision ?? 1,
    type: 'analysis.requested',
    title: null,
    content: fields.content ?? 'A calm day; I enjoyed the long walk by the river.',
    language: 'en',
  });
  /** One produce request to partition 0: one batch for the worker. */
  const sendAsOneBatch = (values: Array<object | string>) =>
    producer.send({
      topic: worker.topics.analysisRequested,
      messages: values.map((v): Message => ({ partition: 0, key: typeof v === 'string' ? 'poison' : (v as { diaryId: string }).diaryId, value: typeof v === 'string' ? v : JSON.stringify(v) })),
    });
  const statusesOf = (diaryId: string) => statuses.messages.filter((m) => aboutDiary(m, diaryId)).map((m) => m.json<Status>());
  const models = () => defineMongoModels(worker.mongo);
  const committedEverything = async () => {
    const admin = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const [end] = (await admin.fetchTopicOffsets(worker.topics.analysisRequested)).filter((p) => p.partition === 0);
      const [committed] = await admin.fetchOffsets({ groupId: worker.groupId, topics: [worker.topics.analysisRequested] });
      return committed!.partitions.find((p) => p.partition === 0)?.offset === end!.offset;
    } finally {
      await admin.disconnect();
    }
  };

  it('when the COMPLETED of a stored chunk are produced but the worker fails before committing, then the chunk is redelivered, analysed again but stored once (the stored analyses are kept), and the repeated COMPLETED carry the same event ids', async function () {
    this.timeout(60_000);
    const requests = Array.from({ length: 12 }, () => request());
    loseNextCompletedAck = true;
    const callsBefore = analyzerCalls;
    await sendAsOneBatch(requests);
    // Each request: PROCESSING, COMPLETED, and after the redelivery COMPLETED again.
    const ids = requests.map((r) => r.diaryId);
    const firstStored = new Map<string, number>();
    await waitUntil('every request stored once', async () => {
      for (const d of await models().DiaryAnalysis.find({ diaryId: { $in: ids } }, { analyzedAt: 1, diaryId: 1 }).lean()) {
        if (!firstStored.has(d.diaryId)) firstStored.set(d.diaryId, d.analyzedAt.getTime());
      }
      return firstStored.size === requests.length;
    }, 40_000);
    await waitUntil('every request answered twice', async () => requests.every((r) => statusesOf(r.diaryId).filter((s) => s.status === 'COMPLETED').length >= 2), 40_000);
    await waitUntil('offsets committed', committedEverything, 20_000);
    expect(loseNextCompletedAck).to.equal(false);
    // Insert-first (the offline analyzer's chunks): the redelivered chunk is analysed again, and
    // storing it finds every analysis already there.
    expect(analyzerCalls - callsBefore).to.equal(2 * requests.length);
    for (const d of await models().DiaryAnalysis.find({ diaryId: { $in: ids } }, { analyzedAt: 1, diaryId: 1 }).lean()) {
      expect(d.analyzedAt.getTime(), `${d.diaryId} analysedAt`).to.equal(firstStored.get(d.diaryId));
    }
    for (const r of requests) {
      const events = statusesOf(r.diaryId);
      expect(events.map((e) => e.status)).to.deep.equal(['PROCESSING', 'COMPLETED', 'COMPLETED']);
      expect(events[2]!.eventId).to.equal(events[1]!.eventId);
    }
    expect(await models().DiaryAnalysis.countDocuments({ diaryId: { $in: ids } })).to.equal(requests.length);
    expect(await models().AnalysisHead.countDocuments({ _id: { $in: ids } })).to.equal(requests.length);
  });

  it('when a poison message sits in the middle of a batch, then it is retried and dead-lettered while the others complete without waiting for it, and the batch is committed', async function () {
    this.timeout(60_000);
    const before = Array.from({ length: 4 }, () => request());
    const poison = request({ content: 'this one makes the analyzer fail #poison' });
    const behind = Array.from({ length: 4 }, () => request());
    const callsBefore = analyzerCalls;
    await sendAsOneBatch([...before, '{"not": "a request"', poison, ...behind]);
    const [record] = await dlq.waitFor(1, 30_000, (m) => m.key === poison.diaryId);
    await waitUntil('the healthy ones completed', async () => [...before, ...behind].every((r) => statusesOf(r.diaryId).some((s) => s.status === 'COMPLETED')), 20_000);
    await waitUntil('offsets committed', committedEverything, 20_000);

    expect(statusesOf(poison.diaryId).map((s) => s.status)).to.deep.equal(['PROCESSING', 'FAILED']);
    expect(record!.json()).to.include({ reason: 'analysis_failed', attempts: 3, error: 'analyzer exploded', diaryId: poison.diaryId });
    expect((await dlq.waitFor(1, 10_000, (m) => m.key === 'poison'))[0]!.json()).to.include({ reason: 'invalid_message' });
    const failedAt = Date.parse(statusesOf(poison.diaryId)[1]!.occurredAt);
    for (const r of [...before, ...behind]) {
      const events = statusesOf(r.diaryId);
      expect(events.map((e) => e.status)).to.deep.equal(['PROCESSING', 'COMPLETED']);
      // Not held back by the poison's retries (3 attempts with backoff).
      expect(Date.parse(events[1]!.occurredAt)).to.be.below(failedAt);
    }
    expect(analyzerCalls - callsBefore).to.equal(before.length + behind.length + 3);
    expect(await models().DiaryAnalysis.countDocuments({ diaryId: poison.diaryId })).to.equal(0);
  });

  it("when one diary's revisions arrive in one batch, then they are handled one after the other in partition order, an older one behind a newer one is skipped, and other diaries still complete", async function () {
    this.timeout(60_000);
    const diaryId = String(nextDiary++);
    const others = [request(), request()];
    const revisions = [1, 2, 5, 4].map((revision) => request({ diaryId, revision }));
    await sendAsOneBatch([revisions[0]!, others[0]!, revisions[1]!, revisions[2]!, others[1]!, revisions[3]!]);
    await waitUntil('the diary completed its newest revision', async () => statusesOf(diaryId).some((s) => s.status === 'COMPLETED' && s.revision === 5), 30_000);
    await waitUntil('the others completed', async () => others.every((r) => statusesOf(r.diaryId).some((s) => s.status === 'COMPLETED')), 20_000);
    await waitUntil('offsets committed', committedEverything, 20_000);

    const events = statusesOf(diaryId).map((s) => `${s.status}:${s.revision}`);
    expect(events).to.deep.equal(['PROCESSING:1', 'COMPLETED:1', 'PROCESSING:2', 'COMPLETED:2', 'PROCESSING:5', 'COMPLETED:5']);
    const stored = (await models().DiaryAnalysis.find({ diaryId }).lean()).map((d) => d.revision).sort((a, b) => a - b);
    expect(stored).to.deep.equal([1, 2, 5]);
    expect((await models().AnalysisHead.findById(diaryId).lean())?.revision).to.equal(5);
    expect(worker.groupId).to.equal(`${config.kafka.topicPrefix}${WORKER_GROUP}`);
  });

  it('when a batch holds several chunks (the next analysed while the one before is stored), then statuses go out in chunk order, a revision older than one stored in an earlier chunk is skipped, and everything is committed', async function () {
    this.timeout(90_000);
    const diaryId = String(nextDiary++);
    const filler = (n: number) => Array.from({ length: n }, () => request());
    // Chunk 1 ends with revision 3, chunk 2 opens with revision 2 (stale by then) and holds 4, chunk 3 is the rest.
    const first = [...filler(OFFLINE_CHUNK_SIZE - 1), request({ diaryId, revision: 3 })];
    const second = [request({ diaryId, revision: 2 }), ...filler(OFFLINE_CHUNK_SIZE - 2), request({ diaryId, revision: 4 })];
    const third = filler(57);
    const all = [...first, ...second, ...third];
    await sendAsOneBatch(all);
    const plain = all.filter((r) => r.diaryId !== diaryId);
    await waitUntil('every request answered', async () => plain.every((r) => statusesOf(r.diaryId).some((st) => st.status === 'COMPLETED')) && statusesOf(diaryId).some((st) => st.revision === 4 && st.status === 'COMPLETED'), 60_000);
    await waitUntil('offsets committed', committedEverything, 20_000);

    expect(statusesOf(diaryId).map((st) => `${st.status}:${st.revision}`)).to.deep.equal(['PROCESSING:3', 'COMPLETED:3', 'PROCESSING:4', 'COMPLETED:4']);
    expect((await models().DiaryAnalysis.find({ diaryId }).lean()).map((d) => d.revision).sort((a, b) => a - b)).to.deep.equal([3, 4]);
    // Partition 0's statuses (keyed by user, one partition) follow the requests' chunks: none of a later chunk before the last of an earlier one.
    const chunkOf = new Map(all.map((r, i) => [`${r.diaryId}:${r.revision}`, Math.floor(i / OFFLINE_CHUNK_SIZE)]));
    const order = statuses.messages
      .map((m) => m.json<Status>())
      .filter((st) => st.status === 'COMPLETED' && chunkOf.has(`${st.diaryId}:${st.revision}`))
      .map((st) => chunkOf.get(`${st.diaryId}:${st.revision}`)!);
    expect(order).to.have.length(all.length - 1);
    expect(order, 'COMPLETED in chunk order').to.deep.equal([...order].sort((a, b) => a - b));
  });
});
