import {
  DISTORTIONS,
  EMOTIONS,
  type AnalysisInput,
  type AnalysisResult,
  type Analyzer,
  type AutomaticThought,
  type EmotionStatus,
  type FallbackReason,
} from '../analyzer.js';
import { argmax, clamp, round } from '../numeric.js';
import { analyzeOffline } from '../offline/offline-analyzer.js';
import { alternativeFor, entryAlternatives, promptForChange, type OutputLanguage } from '../offline/reframes.js';
import { detectLanguage } from '../offline/text.js';
import { EmbeddingCallError, type EmbeddingClient } from './embedding-client.js';
import { entryFeatures, entryTexts, rulesView, sentenceFeatures, splitVectors, textsToEmbed, type VariantName } from './features.js';
import { sigmoids, softmax, type Heads } from './heads.js';

/**
 * The embedding analyzers: a multilingual sentence-embedding model (the sidecar, see
 * embedding-client.ts) read by small trained heads (heads.ts), alone (`embedding`) or with the
 * rules analyzer's outputs as extra features (`ensemble`). Status, dominant emotion and the
 * distortion of each sentence come from the heads; reframes and prompts from the rules
 * analyzer's templates. When the sidecar is down, slow or answers nonsense, the result is the
 * fallback's (the rules), with `fallbackReason` and `producedBy` saying so, as the LLM analyzer does.
 */
export const EMBEDDING_ANALYZER_VERSION = '1.0.0';

const THOUGHTS_MAX = 20;

/** The subset of a bunyan logger the analyzer uses. */
export interface WarnLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface EmbeddingAnalyzerDeps {
  client: EmbeddingClient;
  heads: Heads;
  variant: VariantName;
  fallback: Analyzer;
  log?: WarnLogger;
  onOutcome?: (outcome: 'ok' | 'fallback') => void;
}

export function createEmbeddingAnalyzer(deps: EmbeddingAnalyzerDeps): Analyzer {
  const { client, heads, variant, fallback, log } = deps;
  const name = variant;
  const version = `${EMBEDDING_ANALYZER_VERSION}+heads.${heads.version}`;
  const provenance = { analyzer: name, version, model: heads.model };

  async function viaSidecar(input: AnalysisInput, signal?: AbortSignal): Promise<AnalysisResult> {
    const texts = entryTexts(input);
    const vectors = splitVectors(await client.embed(textsToEmbed(texts), signal));
    if (vectors.entry.length !== heads.dimensions) throw new EmbeddingCallError('invalid_output', `vectors of ${vectors.entry.length}, not ${heads.dimensions}`);
    const h = heads.variants[variant];
    const rules = variant === 'ensemble' ? rulesView(input, texts) : undefined;
    const x = entryFeatures(variant, vectors, rules);
    const statusP = softmax(h.status, x);
    const p = (s: EmotionStatus) => statusP[h.status.classes.indexOf(s)] ?? 0;
    const emotionP = softmax(h.emotion, x);

    const detected = detectLanguage(`${input.title ?? ''}\n${input.content ?? ''}`);
    const language: OutputLanguage = input.language ?? (detected.koreanShare >= 0.5 ? 'ko' : 'en');
    const emotionStatus = h.status.classes[argmax(statusP)]!;

    const found: Array<AutomaticThought & { order: number }> = [];
    texts.embedded.forEach((sentenceIndex, k) => {
      const probs = sigmoids(h.distortion, sentenceFeatures(variant, vectors, k, rules));
      const text = texts.sentences[sentenceIndex]!;
      probs.forEach((prob, c) => {
        if (prob < h.distortion.thresholds[c]!) return;
        const distortion = h.distortion.classes[c]!;
        found.push({ order: sentenceIndex, text, distortion, intensity: round(prob, 2), alternativeThought: alternativeFor(distortion, text, language) });
      });
    });
    if (texts.embedded.length < texts.sentences.length) {
      // Sentences that were not embedded (a very long entry) are read by the rules alone.
      const embedded = new Set(texts.embedded.map((i) => texts.sentences[i]));
      const ruled = (rules?.entry ?? analyzeOffline({ title: input.title, content: input.content, language })).automaticThoughts;
      for (const t of ruled) {
        if (!embedded.has(t.text)) found.push({ ...t, order: texts.sentences.indexOf(t.text), alternativeThought: alternativeFor(t.distortion, t.text, language) });
      }
    }
    const automaticThoughts = strongest(found, THOUGHTS_MAX).map(({ order: _order, ...t }) => t);

    // An entry read as neutral has its emotions damped, so no emotion "stands out" in it.
    const emotionWeight = 1 - p('NEUTRAL');
    const emotions = EMOTIONS.map((e, index) => ({ name: e, index, score: round(clamp((emotionP[h.emotion.classes.indexOf(e)] ?? 0) * emotionWeight, 0, 1), 3) }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .map(({ name: n, score }) => ({ name: n, score }));

    return {
      language: detected.language,
      emotions,
      emotionStatus,
      valence: round(clamp(p('POSITIVE') - p('NEGATIVE'), -1, 1), 3),
      automaticThoughts,
      alternativeThoughts: entryAlternatives(automaticThoughts, emotionStatus, language, input.content ?? ''),
      promptForChange: promptForChange(automaticThoughts.length > 0, emotionStatus, language),
      producedBy: provenance,
    };
  }

  return {
    name,
    version,
    model: heads.model,
    async analyze(input: AnalysisInput, signal?: AbortSignal): Promise<AnalysisResult> {
      let reason: FallbackReason;
      // While the sidecar is known to be down, analyses fall back at once (the client probes it
      // in the background); only the failure that found it down is logged, not every fallback.
      if (!client.available()) reason = 'unavailable';
      else {
        try {
          const result = await viaSidecar(input, signal);
          deps.onOutcome?.('ok');
          return result;
        } catch (err) {
          // The caller gave up (shutdown): no fallback, let the worker abandon the message.
          if (signal?.aborted) throw err;
          reason = err instanceof EmbeddingCallError ? err.reason : 'invalid_output';
          const detail = err instanceof EmbeddingCallError ? err.message : 'unexpected error';
          log?.warn({ analyzer: name, model: heads.model, reason, detail, fallback: fallback.name }, 'embedding analysis failed; using the fallback analyzer');
        }
      }
      const result = await fallback.analyze(input, signal);
      deps.onOutcome?.('fallback');
      return { ...result, producedBy: result.producedBy ?? { analyzer: fallback.name, version: fallback.version }, fallbackReason: reason };
    },
  };
}

/** Keeps the `max` most intense thoughts, in the order they were written. */
function strongest<T extends AutomaticThought & { order: number }>(items: T[], max: number): T[] {
  const kept = items.length <= max ? items : [...items].sort((a, b) => b.intensity - a.intensity || a.order - b.order).slice(0, max);
  return [...kept].sort((a, b) => a.order - b.order || DISTORTIONS.indexOf(a.distortion) - DISTORTIONS.indexOf(b.distortion));
}
