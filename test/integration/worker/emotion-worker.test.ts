import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import type { AppConfig } from '../../../config/index.js';
import { defineMongoModels } from '../../../models/mongo/index.js';
import { createLogger } from '../../../kernel/logger.js';
import type { Analyzer } from '../../../workers/analyzers/analyzer.js';
import { createOfflineAnalyzer } from '../../../workers/analyzers/offline/offline-analyzer.js';
import { replayDeadLetters } from '../../../workers/dlq-replay.js';
import { createWorkerApp, type WorkerApp } from '../../../workers/worker-app.js';
import { aboutDiary, tapTopic, type KafkaTap } from '../../harness/kafka-tap.js';
import { waitUntil } from '../../../kernel/wait.js';
import { dropNamespace, testConfig, uniqueNamespace } from '../../harness/test-app.js';
import { startWorkerRig, type WorkerRig } from '../../harness/worker-rig.js';

/**
 * The real offline analyzer behind a switch the test controls: entries containing "#fail" throw
 * while `failing` is on, so retries, FAILED and the DLQ can be observed.
 */
function switchableAnalyzer() {
  const offline = createOfflineAnalyzer();
  const state = { failing: true, calls: 0 };
  const analyzer: Analyzer = {
    name: offline.name,
    version: offline.version,
    async analyze(input, signal) {
      state.calls++;
      if (state.failing && input.content.includes('#fail')) throw new Error('analyzer exploded');
      return offline.analyze(input, signal);
    },
  };
  return { analyzer, state };
}

describe('emotion worker', () => {
  let config: AppConfig;
  let worker: WorkerApp;
  let producer: Producer;
  let statuses: KafkaTap;
  let dlq: KafkaTap;
  const switchable = switchableAnalyzer();

  let rig: WorkerRig;
  before(async function () {
    this.timeout(60_000);
    rig = await startWorkerRig('worker', { worker: { maxAttempts: 3, backoffBaseMs: 20, backoffMaxMs: 100 } }, { analyzer: switchable.analyzer });
    ({ config, worker, producer, statuses, dlq } = rig);
  });

  after(() => rig.stop());

  let nextDiary = 1000;
  function request(overrides: Partial<{ diaryId: string; revision: number; content: string; language: 'en' | 'ko' }> = {}) {
    const diaryId = overrides.diaryId ?? String(nextDiary++);
    return {
      eventId: randomUUID(),
      occurredAt: new Date().toISOString(),
      diaryId,
      userId: '7',
      revision: overrides.revision ?? 1,
      type: 'analysis.requested',
      title: null,
      content: overrides.content ?? 'I am so happy today, the walk was wonderful.',
      language: overrides.language ?? 'en',
    };
  }
  const send = (...values: Array<object | string>) =>
    producer.send({
      topic: worker.topics.analysisRequested,
      messages: values.map((v) => ({
        key: typeof v === 'string' ? 'poison' : (v as { diaryId: string }).diaryId,
        value: typeof v === 'string' ? v : JSON.stringify(v),
        headers: { requestId: 'req-1' },
      })),
    });
  const statusesOf = (diaryId: string) => statuses.messages.filter((m) => aboutDiary(m, diaryId)).map((m) => m.json<{ status: string; eventId: string; summary?: { emotionStatus: string } }>());
  const models = () => defineMongoModels(worker.mongo);

  it('when a request arrives, then PROCESSING and COMPLETED (with a summary) are published and the analysis is stored', async () => {
    const req = request();
    await send(req);
    await statuses.waitFor(2, 20_000, (m) => aboutDiary(m, req.diaryId));
    const events = statusesOf(req.diaryId);
    expect(events.map((e) => e.status)).to.deep.equal(['PROCESSING', 'COMPLETED']);
    expect(events[1]!.summary!.emotionStatus).to.equal('POSITIVE');
    // Keyed by user, so one gateway consumer stores all of a user's notifications, in order.
    expect(statuses.messages.filter((m) => aboutDiary(m, req.diaryId)).map((m) => m.key)).to.deep.equal([req.userId, req.userId]);
    const doc = await models().DiaryAnalysis.findOne({ diaryId: req.diaryId }).lean();
    expect(doc).to.include({ revision: 1, userId: '7', analyzer: 'offline', emotionStatus: 'POSITIVE' });
    expect(doc!.emotions).to.have.length(8);
  });

  it('when the same request is delivered twice, then one analysis exists and the repeated COMPLETED carries the same event id', async () => {
    const req = request({ content: '오늘은 정말 슬펐다. 나는 항상 실패한다.', language: 'ko' });
    await send(req);
    await statuses.waitFor(2, 20_000, (m) => aboutDiary(m, req.diaryId));
    await send(req);
    await statuses.waitFor(3, 20_000, (m) => aboutDiary(m, req.diaryId));
    const events = statusesOf(req.diaryId);
    expect(events.map((e) => e.status)).to.deep.equal(['PROCESSING', 'COMPLETED', 'COMPLETED']);
    expect(events[2]!.eventId).to.equal(events[1]!.eventId);
    expect(await models().DiaryAnalysis.countDocuments({ diaryId: req.diaryId })).to.equal(1);
  });

  it('when a request for an older revision arrives after a newer one was analysed, then it is skipped', async () => {
    const diaryId = String(nextDiary++);
    await send(request({ diaryId, revision: 2 }));
    await statuses.waitFor(2, 20_000, (m) => aboutDiary(m, diaryId));
    await send(request({ diaryId, revision: 1 }), request({ diaryId, revision: 3 }));
    await statuses.waitFor(4, 20_000, (m) => aboutDiary(m, diaryId));
    const revisions = (await models().DiaryAnalysis.find({ diaryId }).sort({ revision: 1 }).lean()).map((d) => d.revision);
    expect(revisions).to.deep.equal([2, 3]);
    expect(statusesOf(diaryId)).to.have.length(4);
  });

  it('when a poison message sits in a partition, then it reaches the DLQ and the messages behind it are still processed', async () => {
    const after = request();
    await producer.send({
      topic: worker.topics.analysisRequested,
      messages: [
        // Same key, so same partition, in this order.
        { key: after.diaryId, value: '{not json' },
        { key: after.diaryId, value: JSON.stringify({ ...after, revision: 'one' }) },
        { key: after.diaryId, value: JSON.stringify(after) },
      ],
    });
    await statuses.waitFor(2, 20_000, (m) => aboutDiary(m, after.diaryId));
    const records = await dlq.waitFor(2, 20_000, (m) => m.key === after.diaryId);
    const reasons = records.map((m) => m.json<{ reason: string; originalValue: string; error: string }>());
    expect(reasons.map((r) => r.reason)).to.deep.equal(['invalid_message', 'invalid_message']);
    expect(reasons[0]!.originalValue).to.equal('{not json');
    expect(reasons[1]!.error).to.match(/revision/);
  });

  let failedDiary = '';

  it('when analysis keeps failing, then it is retried a bounded number of times, FAILED is published with a DLQ record, and the partition moves on', async () => {
    const failing = request({ content: 'this entry makes the analyzer fail #fail' });
    const behind = request();
    failedDiary = failing.diaryId;
    const callsBefore = switchable.state.calls;
    // Both on partition 0, the healthy one behind the failing one.
    await producer.send({
      topic: worker.topics.analysisRequested,
      messages: [failing, behind].map((r) => ({ key: r.diaryId, value: JSON.stringify(r), partition: 0 })),
    });
    await statuses.waitFor(2, 20_000, (m) => aboutDiary(m, behind.diaryId));
    // The healthy one does not wait for the failing one's retries.
    await statuses.waitFor(2, 20_000, (m) => aboutDiary(m, failing.diaryId));
    expect(statusesOf(failing.diaryId).map((e) => e.status)).to.deep.equal(['PROCESSING', 'FAILED']);
    expect(statusesOf(behind.diaryId).map((e) => e.status)).to.deep.equal(['PROCESSING', 'COMPLETED']);
    const [record] = await dlq.waitFor(1, 20_000, (m) => m.key === failing.diaryId);
    expect(record!.json()).to.include({ reason: 'analysis_failed', attempts: 3, error: 'analyzer exploded', diaryId: failing.diaryId, userId: failing.userId, revision: failing.revision });
    expect(switchable.state.calls - callsBefore).to.equal(4);
    const metrics = await (await fetch(`${worker.metricsUrl()}/metrics`)).text();
    expect(metrics).to.match(/worker_analysis_retries_total\{[^}]*\} [1-9]/);
    expect(metrics).to.match(/worker_dlq_messages_total\{[^}]*reason="analysis_failed"[^}]*\} 1/);
  });

  it('when dead letters are replayed after the cause is fixed, then the failed request completes and a second replay finds nothing', async () => {
    switchable.state.failing = false;
    const replayKafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
    const deps = { kafka: replayKafka, topics: worker.topics, log: worker.log, groupPrefix: config.kafka.topicPrefix };
    const first = await replayDeadLetters(deps, { limit: 100 });
    // One failed analysis is re-queued; the two invalid messages cannot be fixed by a replay.
    expect(first).to.deep.equal({ replayed: 1, skipped: 2 });
    await waitUntil('replayed request completed', async () => statusesOf(failedDiary).at(-1)?.status === 'COMPLETED');
    expect(statusesOf(failedDiary).map((e) => e.status)).to.deep.equal(['PROCESSING', 'FAILED', 'PROCESSING', 'COMPLETED']);
    expect(await models().DiaryAnalysis.countDocuments({ diaryId: failedDiary })).to.equal(1);
    expect(await replayDeadLetters(deps, { limit: 100 })).to.deep.equal({ replayed: 0, skipped: 0 });
  });

  it('when /readyz and /healthz are asked, then the worker reports its dependencies', async () => {
    expect((await fetch(`${worker.metricsUrl()}/healthz`)).status).to.equal(200);
    const ready = await fetch(`${worker.metricsUrl()}/readyz`);
    expect(ready.status).to.equal(200);
    expect(Object.keys(((await ready.json()) as { checks: object }).checks).sort()).to.deep.equal(['analysis-consumer', 'kafka', 'mongo']);
  });
});

describe('emotion worker shutdown and logs', () => {
  let config: AppConfig;
  const records: object[] = [];

  /** Analyses containing "#slow" wait until aborted (shutdown), the rest run the offline analyzer. */
  /** The offline analyzer, except that an entry with `#slow` never finishes: it calls `onSlow` and waits for its abort. */
  function slowAnalyzer(onSlow: () => void): Analyzer {
    const offline = createOfflineAnalyzer();
    return {
      name: offline.name,
      version: offline.version,
      analyze: (input, signal) => {
        if (!input.content.includes('#slow')) return offline.analyze(input, signal);
        onSlow();
        return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
      },
    };
  }

  before(() => {
    config = testConfig(uniqueNamespace('workerstop'), { http: { shutdownGraceMs: 300 } });
  });
  after(() => dropNamespace(config));

  it('when a worker stops during a slow analysis, then the request is left uncommitted and the next worker completes it; no diary text is logged', async function () {
    this.timeout(90_000);
    const log = createLogger(config, 'worker');
    log.addStream({ type: 'raw', level: 'trace', stream: { write: (r: object) => void records.push(r) } as unknown as NodeJS.WritableStream });
    let slowStarted!: () => void;
    const analysing = new Promise<void>((resolve) => (slowStarted = resolve));
    const first = await createWorkerApp(config, { analyzer: slowAnalyzer(() => slowStarted()), log });
    await first.start();
    const statuses = await tapTopic(config.kafka.brokers, first.topics.analysisStatus);
    const kafka = new Kafka({ brokers: config.kafka.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const secretText = 'My private entry about the #slow day nobody may read';
    const req = { eventId: randomUUID(), occurredAt: new Date().toISOString(), diaryId: '4242', userId: '9', revision: 1, type: 'analysis.requested', title: 'private title', content: secretText, language: 'en' };
    try {
      await producer.send({ topic: first.topics.analysisRequested, messages: [{ key: req.diaryId, value: JSON.stringify(req) }] });
      await Promise.race([analysing, new Promise((_, reject) => setTimeout(() => reject(new Error('the analysis did not start within 20 s')), 20_000))]);
      const stopped = Date.now();
      await first.stop();
      expect(Date.now() - stopped).to.be.below(10_000);
      // The offline analyzer's chunks send PROCESSING with the outcome, so nothing is out yet.
      expect(statuses.messages.filter((m) => aboutDiary(m, req.diaryId)).map((m) => m.json<{ status: string }>().status)).to.deep.equal([]);

      // The request was not committed: the next worker in the group gets it. Here it is not slow.
      const second = await createWorkerApp(config, {
        analyzer: { ...createOfflineAnalyzer(), analyze: (input, signal) => createOfflineAnalyzer().analyze({ ...input, content: input.content.replace('#slow', '') }, signal) },
        log,
      });
      await second.start();
      try {
        await statuses.waitFor(1, 60_000, (m) => aboutDiary(m, req.diaryId) && m.json<{ status: string }>().status === 'COMPLETED');
      } finally {
        await second.stop();
      }
      const logged = records.map((r) => JSON.stringify(r)).join('\n');
      expect(records.length).to.be.greaterThan(3);
      expect(logged).not.to.include('private entry');
      expect(logged).not.to.include('private title');
    } finally {
      await producer.disconnect();
      await statuses.stop();
    }
  });
});
