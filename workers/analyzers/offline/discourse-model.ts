import { EMOTIONS, type EmotionName, type EmotionStatus } from '../analyzer.js';
import { EMOTION_STATUSES } from '../../../kernel/contracts/statuses.js';
import { linearScores, softmax } from '../numeric.js';
import { data } from './data-files.js';
import { FEATURE_NAMES } from './discourse.js';

/**
 * The two linear heads over the discourse features (data/discourse-model.json, written by
 * scripts/analyzers/train-offline.ts from the corpus's train split): the status, from the features
 * and the entry's words (a learned lexicon of a few thousand words and syllable n-grams, with those
 * of the last sentence counted apart), and the dominant emotion, from the features and the status
 * probabilities. Softmax regression, evaluated in microseconds.
 */

const model = data.discourseModel;

function checkFeatures(): void {
  const names = model.features;
  const expected = [...FEATURE_NAMES];
  if (names.length !== expected.length || names.some((n, i) => n !== expected[i])) {
    throw new Error('offline analyzer: data/discourse-model.json was fitted on other features; run npx tsx scripts/analyzers/train-offline.ts');
  }
}
checkFeatures();

export type StatusProbabilities = Record<EmotionStatus, number>;

function addLexical(z: number[], weights: Map<string, number[]>, words: string[]): void {
  for (const w of words) {
    const ws = weights.get(w);
    if (ws) for (let c = 0; c < z.length; c++) z[c]! += ws[c] ?? 0;
  }
}

/** The emotion head reads the entry's features followed by these. */
export function emotionInput(features: number[], status: StatusProbabilities): number[] {
  return [...features, ...EMOTION_STATUSES.map((s) => status[s])];
}

const lexical = new Map(Object.entries(model.status.lexical));

/** `words` are entryWords() of the entry: each known word adds its weight to every class's logit. */
export function predictStatus(features: number[], words: string[]): StatusProbabilities {
  const z = linearScores(model.status.weights, model.status.bias, features);
  addLexical(z, lexical, words);
  const p = softmax(z);
  return Object.fromEntries(model.status.classes.map((c, i) => [c, p[i] ?? 0])) as StatusProbabilities;
}

const emotionLexical = new Map(Object.entries(model.emotion.lexical));

export function predictEmotion(features: number[], words: string[], status: StatusProbabilities): Record<EmotionName, number> {
  const z = linearScores(model.emotion.weights, model.emotion.bias, emotionInput(features, status));
  addLexical(z, emotionLexical, words);
  const p = softmax(z);
  return Object.fromEntries(EMOTIONS.map((e) => [e, p[model.emotion.classes.indexOf(e)] ?? 0])) as Record<EmotionName, number>;
}
