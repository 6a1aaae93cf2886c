import { expect } from 'chai';
import type { AnalysisInput } from '../../../workers/analyzers/analyzer.js';
import { analyzeOffline } from '../../../workers/analyzers/offline/offline-analyzer.js';
import { createOfflineAnalyzerPool, type OfflineAnalyzerPool } from '../../../workers/analyzers/offline/offline-pool.js';

const ENTRIES: AnalysisInput[] = [
  { title: 'Rough one', content: 'My boss criticised my report in front of everyone. I always mess everything up.' },
  { title: null, content: '오늘 발표를 망쳤다. 다들 나를 한심하게 볼 거야. 그래도 끝나서 다행이다.', language: 'ko' },
  { title: null, content: 'Had rice for lunch. 날씨가 흐렸다. Watched a documentary.' },
  { title: null, content: '' },
  { title: 'Small wins', content: 'I finally finished the book and the ending was lovely! '.repeat(200) },
];

describe('offline analyzer pool (worker threads)', function () {
  this.timeout(30_000);
  let pool: OfflineAnalyzerPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('when entries are analysed on threads, then each result deep-equals the in-process analysis of the same entry', async () => {
    pool = createOfflineAnalyzerPool({ threads: 2 });
    const results = await Promise.all(ENTRIES.map((e) => pool!.analyze(e)));
    results.forEach((result, i) => expect(result, `entry ${i}`).to.deep.equal(analyzeOffline(ENTRIES[i]!)));
    expect(pool.name).to.equal('offline');
    expect(pool.parallel).to.equal(true);
  });

  it('when many calls are made in one tick, then every one is answered with its own entry, in any split over the threads', async () => {
    pool = createOfflineAnalyzerPool({ threads: 3 });
    const inputs = Array.from({ length: 301 }, (_, i) => ({ title: null, content: `Day ${i}: ${i % 2 ? 'I am so happy and grateful today.' : 'Everyone probably thinks I am useless.'}` }));
    const results = await Promise.all(inputs.map((input) => pool!.analyze(input)));
    results.forEach((result, i) => expect(result.emotionStatus, `entry ${i}`).to.equal(analyzeOffline(inputs[i]!).emotionStatus));
    expect(results.filter((r) => r.automaticThoughts.length > 0)).to.have.length(151);
  });

  it('when a thread dies, then its calls fail, the error is reported, and later calls are still answered', async () => {
    const errors: Error[] = [];
    pool = createOfflineAnalyzerPool({
      threads: 1,
      threadFile: new URL('../../fixtures/analyzers/offline-thread-that-dies.ts', import.meta.url),
      onThreadError: (err) => errors.push(err),
    });
    expect((await pool.analyze(ENTRIES[0]!)).emotionStatus).to.equal('NEGATIVE');
    const [dying, alongside] = await Promise.allSettled([pool.analyze({ title: null, content: 'die' }), pool.analyze(ENTRIES[0]!)]);
    expect(dying.status).to.equal('rejected');
    expect(alongside.status, 'sent in the same message: lost with the thread').to.equal('rejected');
    expect(String((dying as PromiseRejectedResult).reason)).to.match(/exited/);
    // Straight after, no thread is up: answered on the event loop; a second later by the new thread.
    expect(await pool.analyze(ENTRIES[1]!)).to.deep.equal(analyzeOffline(ENTRIES[1]!));
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await pool.analyze(ENTRIES[2]!)).to.deep.equal(analyzeOffline(ENTRIES[2]!));
    expect(errors).to.have.length(1);
  });

  it('when the signal is aborted, then the call is rejected with its reason and nothing else is affected', async () => {
    pool = createOfflineAnalyzerPool({ threads: 1 });
    const aborted = new AbortController();
    aborted.abort(new Error('shutting down'));
    await pool.analyze(ENTRIES[0]!, aborted.signal).then(
      () => expect.fail('an aborted call must not resolve'),
      (err: Error) => expect(err.message).to.equal('shutting down'),
    );
    const late = new AbortController();
    const pending = pool.analyze(ENTRIES[4]!, late.signal);
    late.abort(new Error('too late'));
    await pending.then(
      () => expect.fail('a call aborted while on its thread must not resolve'),
      (err: Error) => expect(err.message).to.equal('too late'),
    );
    expect((await pool.analyze(ENTRIES[0]!)).emotionStatus).to.equal('NEGATIVE');
  });

  it('when the pool is closed, then further calls are refused', async () => {
    pool = createOfflineAnalyzerPool({ threads: 1 });
    await pool.close();
    await pool.analyze(ENTRIES[0]!).then(
      () => expect.fail('a closed pool must not analyse'),
      (err: Error) => expect(err.message).to.match(/closed/),
    );
    pool = undefined;
  });
});
