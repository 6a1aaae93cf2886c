import { EMOTIONS, type AnalysisInput, type AnalysisResult, type Analyzer, type EmotionStatus } from '../analyzer.js';
import { EMOTION_STATUSES } from '../../../kernel/contracts/statuses.js';
import { entryWords } from './discourse.js';
import { predictHeads } from './discourse-model.js';
import { round } from '../numeric.js';
import { readEntry } from './reading.js';
import { entryAlternatives, promptForChange, type OutputLanguage } from './reframes.js';

/**
 * The built-in analyzer: lexicon- and rule-based, English and Korean, deterministic (same input,
 * deep-equal output), no I/O. Emotion scores are the emotion head's probabilities (they sum to
 * about 1); the valence is P(positive) − P(negative). The rules read each sentence and the entry's discourse (reading.ts,
 * discourse.ts); two small linear heads fitted on the corpus's train split turn that reading into
 * the status and the dominant emotion (discourse-model.ts). Bump the version whenever data files,
 * rules or the fitted model change what it returns, so stored analyses say which rules produced them.
 */
export const OFFLINE_ANALYZER_VERSION = '2.1.0';

const THOUGHTS_MAX = 20;

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
  const reading = readEntry(input);
  if (reading.sentences.length === 0) return emptyResult(reading.language, reading.outputLanguage);
  const words = entryWords(reading.sentences);
  const { status, emotion: head } = predictHeads(reading.features, words);
  const emotionStatus = EMOTION_STATUSES.reduce<EmotionStatus>((best, s) => (status[s] > status[best] ? s : best), 'NEUTRAL');
  const emotions = EMOTIONS.map((name, index) => ({ name, index, p: head[name] }))
    .sort((a, b) => b.p - a.p || a.index - b.index)
    .map(({ name, p }) => ({ name, score: round(p, 3) }));
  const automaticThoughts = strongest(reading.thoughts, THOUGHTS_MAX).map(({ order: _order, ...t }) => t);
  const language = reading.outputLanguage;
  return {
    language: reading.language,
    emotions,
    emotionStatus,
    valence: round(status.POSITIVE - status.NEGATIVE, 3),
    automaticThoughts,
    alternativeThoughts: entryAlternatives(automaticThoughts, emotionStatus, language, input.content ?? ''),
    promptForChange: promptForChange(automaticThoughts.length > 0, emotionStatus, language),
    producedBy: { analyzer: 'offline', version: OFFLINE_ANALYZER_VERSION },
  };
}

/** Nothing to read: NEUTRAL, every score zero (the heads would still answer their priors). */
function emptyResult(language: AnalysisResult['language'], outputLanguage: OutputLanguage): AnalysisResult {
  return {
    language,
    emotions: EMOTIONS.map((name) => ({ name, score: 0 })),
    emotionStatus: 'NEUTRAL',
    valence: 0,
    automaticThoughts: [],
    alternativeThoughts: entryAlternatives([], 'NEUTRAL', outputLanguage, ''),
    promptForChange: promptForChange(false, 'NEUTRAL', outputLanguage),
    producedBy: { analyzer: 'offline', version: OFFLINE_ANALYZER_VERSION },
  };
}

/** Keeps the `max` most intense thoughts, in the order they were written. */
function strongest<T extends { order: number; intensity: number }>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  const kept = [...items].sort((a, b) => b.intensity - a.intensity || a.order - b.order).slice(0, max);
  return kept.sort((a, b) => a.order - b.order);
}
