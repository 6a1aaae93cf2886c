import {
  EMOTIONS,
  type AnalysisInput,
  type AnalysisResult,
  type Analyzer,
  type AutomaticThought,
  type EmotionStatus,
} from '../analyzer.js';
import { detectDistortion, distortionEmotions } from './distortions.js';
import { alternativeFor, entryAlternatives, promptForChange, type OutputLanguage } from './reframes.js';
import { emptyEmotions, scoreSentence, type EmotionVector } from './sentence-scorer.js';
import { detectLanguage, splitSentences } from './text.js';

/**
 * The built-in analyzer: lexicon- and rule-based, English and Korean, deterministic (same input,
 * deep-equal output), no I/O. Bump the version whenever data files or rules change what it returns,
 * so stored analyses say which rules produced them.
 */
export const OFFLINE_ANALYZER_VERSION = '1.0.0';

/** VADER's normalisation of a raw sum into -1..1: x / sqrt(x² + α). */
const VALENCE_ALPHA = 15;
/** |valence| below this is NEUTRAL. */
const STATUS_THRESHOLD = 0.1;
const TITLE_WEIGHT = 0.5;
/**
 * A sentence that carries an automatic thought is read as negative, at least as negative as the
 * thought is strong: its positive words are mostly what is being dismissed ("they were just being
 * nice") or an impossible bar ("perfect").
 */
const THOUGHT_POSITIVE_DISCOUNT = 0.25;
const THOUGHT_PENALTY = 1.5;
const THOUGHTS_MAX = 20;
/** Saturation of emotion scores: 1 - exp(-sum / k); one strong word ≈ 0.8. */
const EMOTION_SATURATION = 2;

export function createOfflineAnalyzer(): Analyzer {
  return {
    name: 'offline',
    version: OFFLINE_ANALYZER_VERSION,
    analyze(input: AnalysisInput, signal?: AbortSignal): Promise<AnalysisResult> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return Promise.resolve(analyzeOffline(input));
    },
  };
}

export function analyzeOffline(input: AnalysisInput): AnalysisResult {
  const title = input.title ?? '';
  const content = input.content ?? '';
  const detected = detectLanguage(`${title}\n${content}`);
  const language: OutputLanguage = input.language ?? (detected.koreanShare >= 0.5 ? 'ko' : 'en');
  const units = [
    ...splitSentences(title).map((text) => ({ text, isTitle: true })),
    ...splitSentences(content).map((text) => ({ text, isTitle: false })),
  ];

  const emotions = emptyEmotions();
  const thoughts: Array<AutomaticThought & { order: number }> = [];
  let weighted = 0;
  let weights = 0;
  units.forEach(({ text, isTitle }, order) => {
    const score = scoreSentence(text);
    const found = isTitle ? undefined : detectDistortion(text, { raw: score.raw, hasPositive: score.positive > 0 });
    const raw = found
      ? Math.min(score.positive * THOUGHT_POSITIVE_DISCOUNT - score.negative, 0) - THOUGHT_PENALTY * found.score
      : score.raw;
    const valence = normalizeValence(raw);
    const weight = (0.25 + Math.abs(valence)) * (isTitle ? TITLE_WEIGHT : 1);
    weighted += valence * weight;
    weights += weight;
    addInto(emotions, score.emotions);
    if (!found) return;
    for (const [name, share] of Object.entries(distortionEmotions[found.category])) {
      emotions[name as keyof EmotionVector] += (share ?? 0) * found.score * 2;
    }
    thoughts.push({
      order,
      text,
      distortion: found.category,
      intensity: round(clamp(0.45 * found.score + 0.55 * Math.abs(Math.min(0, valence)), 0, 1), 2),
      alternativeThought: alternativeFor(found.category, text, language),
    });
  });

  const valence = weights > 0 ? round(clamp(weighted / weights, -1, 1), 3) : 0;
  const emotionStatus = statusOf(valence);
  const automaticThoughts = strongest(thoughts, THOUGHTS_MAX).map(({ order: _order, ...t }) => t);
  return {
    language: detected.language,
    emotions: rankEmotions(emotions),
    emotionStatus,
    valence,
    automaticThoughts,
    alternativeThoughts: entryAlternatives(automaticThoughts, emotionStatus, language, content),
    promptForChange: promptForChange(automaticThoughts.length > 0, emotionStatus, language),
    producedBy: { analyzer: 'offline', version: OFFLINE_ANALYZER_VERSION },
  };
}

function statusOf(valence: number): EmotionStatus {
  if (valence >= STATUS_THRESHOLD) return 'POSITIVE';
  if (valence <= -STATUS_THRESHOLD) return 'NEGATIVE';
  return 'NEUTRAL';
}

function normalizeValence(raw: number): number {
  return raw / Math.sqrt(raw * raw + VALENCE_ALPHA);
}

/** Keeps the `max` most intense thoughts, in the order they were written. */
function strongest<T extends { order: number; intensity: number }>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  const kept = [...items].sort((a, b) => b.intensity - a.intensity || a.order - b.order).slice(0, max);
  return kept.sort((a, b) => a.order - b.order);
}

function rankEmotions(sums: EmotionVector): AnalysisResult['emotions'] {
  return EMOTIONS.map((name, index) => ({ name, index, score: round(1 - Math.exp(-sums[name] / EMOTION_SATURATION), 3) }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .map(({ name, score }) => ({ name, score }));
}

function addInto(target: EmotionVector, source: EmotionVector): void {
  for (const name of EMOTIONS) target[name] += source[name];
}

function clamp(x: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, x));
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f + 0;
}
