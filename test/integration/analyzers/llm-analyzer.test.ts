import { expect } from 'chai';
import { Registry } from 'prom-client';
import { createMetrics } from '../../../kernel/metrics.js';
import type { AnalysisInput } from '../../../workers/analyzers/analyzer.js';
import { createAnalyzer } from '../../../workers/analyzers/index.js';
import { createLlmAnalyzer, type LlmAnalyzerConfig, type LlmOutcome } from '../../../workers/analyzers/llm/llm-analyzer.js';
import { analyzeOffline, createOfflineAnalyzer } from '../../../workers/analyzers/offline/offline-analyzer.js';
import { startFakeOpenAi, type FakeOpenAi, type Step } from './openai-compatible-server.js';

/** The worker config's embedding section, for analyzers that do not use it. */
const UNUSED_EMBEDDING = { url: 'http://127.0.0.1:9', timeoutMs: 1_000, batchMaxTexts: 8, batchDelayMs: 1, healthIntervalMs: 1_000 };

/** Unique text so the log check can tell whether diary content leaked. */
const MARKER = 'PRIVATE-MARKER-7f3a';
const INPUT: AnalysisInput = { title: 'Monday', content: `I always ruin everything. ${MARKER}`, language: 'en' };

const VALID_ANSWER = {
  language: 'en',
  // Partial and unsorted on purpose: the analyzer completes and sorts the emotions.
  emotions: [
    { name: 'fear', score: 0.4 },
    { name: 'sadness', score: 0.7 },
    { name: 'joy', score: 0.1 },
  ],
  emotionStatus: 'NEGATIVE',
  valence: -0.6,
  automaticThoughts: [
    { text: 'I always ruin everything.', distortion: 'all_or_nothing', intensity: 0.8, alternativeThought: 'Some things went fine.' },
  ],
  alternativeThoughts: ['One bad day is not every day.'],
  promptForChange: 'What went okay today?',
};

describe('LLM analyzer against an OpenAI-compatible HTTP server', () => {
  let server: FakeOpenAi | undefined;
  let outcomes: LlmOutcome[];
  let warnings: Array<Record<string, unknown>>;
  const offline = createOfflineAnalyzer();

  beforeEach(() => {
    outcomes = [];
    warnings = [];
  });

  async function setup(script: Step[], overrides: Partial<LlmAnalyzerConfig> = {}) {
    server = await startFakeOpenAi(script);
    return createLlmAnalyzer(
      { baseUrl: server.baseUrl, model: 'test-model', apiKey: 'test-key', timeoutMs: 2_000, maxRetries: 2, backoffBaseMs: 20, ...overrides },
      {
        fallback: offline,
        onOutcome: (o) => outcomes.push(o),
        log: { warn: (fields, message) => warnings.push({ ...fields, message }) },
      },
    );
  }

  /** The offline result for INPUT, marked as a fallback for `reason`. */
  const fellBack = (reason: string) => ({ ...analyzeOffline(INPUT), fallbackReason: reason });

  afterEach(async () => {
    expect(JSON.stringify(warnings), 'diary text in logs').to.not.include(MARKER);
    await server?.close();
    server = undefined;
  });

  it('when the endpoint returns a valid structured answer, then it is used and the request carried model, messages, schema and key', async () => {
    const llm = await setup([{ content: JSON.stringify(VALID_ANSWER) }]);
    const result = await llm.analyze(INPUT);

    expect(result.producedBy).to.deep.equal({ analyzer: 'llm', version: llm.version, model: 'test-model' });
    expect(result.fallbackReason).to.equal(undefined);
    expect(result.emotionStatus).to.equal('NEGATIVE');
    expect(result.automaticThoughts).to.deep.equal(VALID_ANSWER.automaticThoughts);
    expect(result.emotions.map((e) => e.name)).to.deep.equal(['sadness', 'fear', 'joy', 'anger', 'surprise', 'disgust', 'trust', 'anticipation']);
    expect(outcomes).to.deep.equal(['ok']);

    expect(server!.requests).to.have.length(1);
    const [request] = server!.requests;
    expect(request!.headers.authorization).to.equal('Bearer test-key');
    expect(request!.headers['content-type']).to.match(/^application\/json/);
    const body = request!.body as {
      model: string;
      messages: Array<{ role: string; content: string }>;
      response_format: { type: string; json_schema: { name: string; strict: boolean; schema: Record<string, unknown> } };
    };
    expect(body.model).to.equal('test-model');
    expect(body.messages.map((m) => m.role)).to.deep.equal(['system', 'user']);
    expect(JSON.parse(body.messages[1]!.content)).to.deep.equal({ title: 'Monday', content: INPUT.content, language: 'en' });
    expect(body.response_format.type).to.equal('json_schema');
    expect(body.response_format.json_schema.strict).to.equal(true);
    expect(body.response_format.json_schema.name).to.be.a('string').with.length.above(0);
    const schema = body.response_format.json_schema.schema;
    expect(schema).to.include({ type: 'object', additionalProperties: false });
    expect(schema.required).to.have.members([
      'language',
      'emotions',
      'emotionStatus',
      'valence',
      'automaticThoughts',
      'alternativeThoughts',
      'promptForChange',
    ]);
  });

  it('when the model quotes a sentence the entry does not contain, then that automatic thought is dropped', async () => {
    const invented = { ...VALID_ANSWER, automaticThoughts: [...VALID_ANSWER.automaticThoughts, { text: 'I am a failure at everything.', distortion: 'labeling', intensity: 0.9, alternativeThought: 'x' }] };
    const analyzer = await setup([{ content: JSON.stringify(invented) }]);
    const result = await analyzer.analyze(INPUT);
    expect(result.automaticThoughts.map((t) => t.text)).to.deep.equal(['I always ruin everything.']);
  });

  it('when no API key is configured, then no Authorization header is sent', async () => {
    const llm = await setup([{ content: JSON.stringify(VALID_ANSWER) }], { apiKey: undefined });
    await llm.analyze(INPUT);
    expect(server!.requests[0]!.headers).to.not.have.property('authorization');
  });

  const invalidAnswers: Array<[string, Step]> = [
    ['message content that is not JSON', { content: '{"language": "en", "emotions": [' }],
    ['JSON that violates the schema', { content: JSON.stringify({ ...VALID_ANSWER, emotionStatus: 'HAPPY', valence: 3 }) }],
    ['an unknown distortion category', {
      content: JSON.stringify({ ...VALID_ANSWER, automaticThoughts: [{ ...VALID_ANSWER.automaticThoughts[0], distortion: 'pessimism' }] }),
    }],
    ['a body that is not a completion', { rawBody: `<html>${MARKER}</html>` }],
    ['a refusal', { rawBody: JSON.stringify({ choices: [{ message: { role: 'assistant', content: null, refusal: 'no' } }] }) }],
  ];
  for (const [name, step] of invalidAnswers) {
    it(`when the endpoint answers with ${name}, then the offline result is returned, marked invalid_output, without retrying`, async () => {
      const llm = await setup([step]);
      const result = await llm.analyze(INPUT);
      expect(result).to.deep.equal(fellBack('invalid_output'));
      expect(result.producedBy?.analyzer).to.equal('offline');
      expect(server!.requests).to.have.length(1);
      expect(outcomes).to.deep.equal(['invalid_output', 'fallback']);
      expect(warnings).to.have.length(1);
    });
  }

  it('when the endpoint answers slower than the timeout, then the offline result is returned, marked timeout, in about the timeout', async () => {
    const llm = await setup([{ content: JSON.stringify(VALID_ANSWER), delayMs: 3_000 }], { timeoutMs: 300 });
    const started = Date.now();
    const result = await llm.analyze(INPUT);
    const elapsed = Date.now() - started;
    expect(result).to.deep.equal(fellBack('timeout'));
    expect(elapsed).to.be.within(250, 1_500);
    expect(outcomes).to.deep.equal(['timeout', 'fallback']);
  });

  it('when the endpoint answers 429 with Retry-After, then it waits that long, retries and uses the answer', async () => {
    const llm = await setup([
      { status: 429, headers: { 'retry-after': '1' }, rawBody: '{"error":{"message":"rate limited"}}' },
      { content: JSON.stringify(VALID_ANSWER) },
    ]);
    const result = await llm.analyze(INPUT);
    expect(result.producedBy?.analyzer).to.equal('llm');
    expect(server!.requests).to.have.length(2);
    const gap = server!.requests[1]!.at - server!.requests[0]!.at;
    expect(gap).to.be.within(950, 2_500);
    expect(outcomes).to.deep.equal(['retry', 'ok']);
  });

  it('when Retry-After is longer than the cap, then the wait is capped', async () => {
    const llm = await setup(
      [{ status: 429, headers: { 'retry-after': '120' } }, { content: JSON.stringify(VALID_ANSWER) }],
      { retryAfterMaxMs: 200 },
    );
    const started = Date.now();
    const result = await llm.analyze(INPUT);
    expect(result.producedBy?.analyzer).to.equal('llm');
    expect(Date.now() - started).to.be.below(1_500);
  });

  it('when the endpoint answers 500 once, then the request is retried and the answer used', async () => {
    const llm = await setup([{ status: 500, rawBody: `{"error":"${MARKER}"}` }, { content: JSON.stringify(VALID_ANSWER) }]);
    const result = await llm.analyze(INPUT);
    expect(result.producedBy?.analyzer).to.equal('llm');
    expect(server!.requests).to.have.length(2);
    expect(outcomes).to.deep.equal(['retry', 'ok']);
  });

  it('when the endpoint keeps answering 5xx, then it falls back after maxRetries + 1 attempts and the counter shows every outcome', async () => {
    server = await startFakeOpenAi([{ status: 503 }]);
    const metrics = createMetrics(new Registry());
    const analyzer = createAnalyzer(
      {
        partitionsConcurrently: 1,
        maxAttempts: 1,
        backoffBaseMs: 1,
        backoffMaxMs: 1,
        analyzer: 'llm',
        analyzerThreads: 0,
        llm: { baseUrl: server.baseUrl, model: 'test-model', timeoutMs: 2_000, maxRetries: 3 },
        embedding: UNUSED_EMBEDDING,
      },
      {
        onLlmOutcome: (o) => metrics.llmRequestsTotal.inc({ outcome: o }),
        log: { warn: (fields, message) => warnings.push({ ...fields, message }) },
      },
    );
    expect(analyzer.name).to.equal('llm');

    const result = await analyzer.analyze(INPUT);
    expect(result).to.deep.equal(fellBack('retries_exhausted'));
    expect(server.requests).to.have.length(4);
    const counts = Object.fromEntries((await metrics.llmRequestsTotal.get()).values.map((v) => [v.labels.outcome, v.value]));
    expect(counts).to.deep.equal({ retry: 3, error: 1, fallback: 1 });
  });

  it('when the endpoint refuses the request (400), then it falls back at once, marked rejected', async () => {
    const llm = await setup([{ status: 400, rawBody: '{"error":{"message":"bad schema"}}' }]);
    const result = await llm.analyze(INPUT);
    expect(result).to.deep.equal(fellBack('rejected'));
    expect(server!.requests).to.have.length(1);
    expect(outcomes).to.deep.equal(['error', 'fallback']);
    expect(warnings[0]).to.include({ reason: 'rejected', status: 400 });
  });

  it('when nothing listens at the base URL, then it retries and falls back, marked retries_exhausted', async () => {
    const stopped = await startFakeOpenAi([{}]);
    await stopped.close();
    const llm = createLlmAnalyzer(
      { baseUrl: stopped.baseUrl, model: 'test-model', timeoutMs: 1_000, maxRetries: 1, backoffBaseMs: 10 },
      { fallback: offline, onOutcome: (o) => outcomes.push(o) },
    );
    const result = await llm.analyze(INPUT);
    expect(result).to.deep.equal(fellBack('retries_exhausted'));
    expect(outcomes).to.deep.equal(['retry', 'error', 'fallback']);
  });

  it('when the caller aborts (shutdown), then the analysis rejects instead of falling back', async () => {
    const llm = await setup([{ content: JSON.stringify(VALID_ANSWER), delayMs: 3_000 }]);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('worker stopping')), 100);
    const err = await llm.analyze(INPUT, controller.signal).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(Error).with.property('message', 'worker stopping');
    expect(outcomes).to.deep.equal([]);
  });

  const offlineWorker = (analyzerThreads: number) =>
    createAnalyzer({
      partitionsConcurrently: 1,
      maxAttempts: 1,
      backoffBaseMs: 1,
      backoffMaxMs: 1,
      analyzer: 'offline',
      analyzerThreads,
      llm: { baseUrl: 'http://127.0.0.1:9/v1', model: 'unused', timeoutMs: 1_000, maxRetries: 0 },
      embedding: UNUSED_EMBEDDING,
    });

  it('when the worker config selects the offline analyzer, then createAnalyzer returns it', () => {
    const analyzer = offlineWorker(0);
    expect(analyzer.name).to.equal('offline');
    expect(analyzer.parallel, 'analyzerThreads 0: on the event loop').to.not.equal(true);
  });

  it('when the worker config gives the offline analyzer threads, then createAnalyzer returns a pool of them', async () => {
    const analyzer = offlineWorker(2);
    try {
      expect(analyzer.name).to.equal('offline');
      expect(analyzer.parallel).to.equal(true);
      expect((analyzer as { threads?: number }).threads).to.equal(2);
      const result = await analyzer.analyze({ title: null, content: 'I failed again, I always ruin everything.' });
      expect(result.automaticThoughts.length).to.be.greaterThan(0);
    } finally {
      await analyzer.close?.();
    }
  });
});
