import { EMOTIONS, type EmotionName, type EmotionStatus } from '../analyzer.js';
import { EMOTION_STATUSES } from '../../../kernel/contracts/statuses.js';
import { data } from './data-files.js';
import { FEATURE_NAMES } from './discourse.js';

/**
 * The two linear heads over the discourse features (data/discourse-model.json, written by
 * scripts/analyzers/train-offline.ts from the corpus's train split): the status, and the dominant
 * emotion given the features and the status probabilities. Softmax regression: a few hundred
 * weights in all, evaluated in microseconds.
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

export function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((l) => Math.exp(l - max));
  const total = exps.reduce((s, x) => s + x, 0);
  return exps.map((x) => x / total);
}

function logits(weights: number[][], bias: number[], x: number[]): number[] {
  return weights.map((row, c) => row.reduce((s, w, i) => s + w * (x[i] ?? 0), bias[c] ?? 0));
}

/** The emotion head reads the entry's features followed by these. */
export function emotionInput(features: number[], status: StatusProbabilities): number[] {
  return [...features, ...EMOTION_STATUSES.map((s) => status[s])];
}

export function predictStatus(features: number[]): StatusProbabilities {
  const p = softmax(logits(model.status.weights, model.status.bias, features));
  return Object.fromEntries(model.status.classes.map((c, i) => [c, p[i] ?? 0])) as StatusProbabilities;
}

export function predictEmotion(features: number[], status: StatusProbabilities): Record<EmotionName, number> {
  const p = softmax(logits(model.emotion.weights, model.emotion.bias, emotionInput(features, status)));
  return Object.fromEntries(EMOTIONS.map((e) => [e, p[model.emotion.classes.indexOf(e)] ?? 0])) as Record<EmotionName, number>;
}
