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

/** The emotion head reads the entry's features followed by these. */
export function emotionInput(features: number[], status: StatusProbabilities): number[] {
  return [...features, ...EMOTION_STATUSES.map((s) => status[s])];
}

/**
 * Word → its weights in both heads, so each of the entry's words is looked up once: the status
 * head's per-class weights, then the emotion head's (empty when the head does not know the word).
 */
const lexicon = new Map<string, { status?: number[]; emotion?: number[] }>();
for (const [word, ws] of Object.entries(model.status.lexical)) lexicon.set(word, { status: ws });
for (const [word, ws] of Object.entries(model.emotion.lexical)) {
  const known = lexicon.get(word);
  if (known) known.emotion = ws;
  else lexicon.set(word, { emotion: ws });
}

function addInto(z: number[], ws: number[] | undefined): void {
  if (ws) for (let c = 0; c < z.length; c++) z[c]! += ws[c] ?? 0;
}

export interface HeadPredictions {
  status: StatusProbabilities;
  emotion: Record<EmotionName, number>;
}

/**
 * Both heads. `words` are entryWords() of the entry: each known word adds its weight to every
 * class's logit; the emotion head also reads the status probabilities.
 */
export function predictHeads(features: number[], words: string[]): HeadPredictions {
  const zStatus = linearScores(model.status.weights, model.status.bias, features);
  const emotionLexical = new Array<number>(model.emotion.classes.length).fill(0);
  for (const word of words) {
    const ws = lexicon.get(word);
    if (!ws) continue;
    addInto(zStatus, ws.status);
    addInto(emotionLexical, ws.emotion);
  }
  const pStatus = softmax(zStatus);
  const status = Object.fromEntries(model.status.classes.map((c, i) => [c, pStatus[i] ?? 0])) as StatusProbabilities;
  const zEmotion = linearScores(model.emotion.weights, model.emotion.bias, emotionInput(features, status));
  for (let c = 0; c < zEmotion.length; c++) zEmotion[c]! += emotionLexical[c]!;
  const pEmotion = softmax(zEmotion);
  const emotion = Object.fromEntries(EMOTIONS.map((e) => [e, pEmotion[model.emotion.classes.indexOf(e)] ?? 0])) as Record<EmotionName, number>;
  return { status, emotion };
}
