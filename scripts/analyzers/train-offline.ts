/**
 * Fits the offline analyzer's two discourse heads on the corpus's train split and writes
 * workers/analyzers/offline/data/discourse-model.json:
 *
 *   npx tsx scripts/analyzers/train-offline.ts
 *
 * Status: softmax regression over the rules' discourse features (workers/analyzers/offline/
 * discourse.ts), classes weighted to balance. Emotion: softmax regression over the same features
 * plus the status head's probabilities, on the entries whose dominant emotion is labelled. The L2
 * strength of each is the strongest of a small grid that scores within 0.01 of the best on the dev
 * split; the test split is never read. Deterministic: same corpus and rules, same file. Run it after changing the rules,
 * the cues or the features, then bump OFFLINE_ANALYZER_VERSION.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EMOTIONS } from '../../workers/analyzers/analyzer.js';
import { EMOTION_STATUSES } from '../../kernel/contracts/statuses.js';
import { FEATURE_NAMES } from '../../workers/analyzers/offline/discourse.js';
import { readEntry } from '../../workers/analyzers/offline/reading.js';
import { readSplit, type CorpusEntry } from './corpus.js';
import { fitSoftmax, predictSoftmax, type SoftmaxModel } from './softmax-regression.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OUT = path.join(ROOT, 'workers/analyzers/offline/data/discourse-model.json');
const L2_GRID = [0.0003, 0.001, 0.003, 0.01, 0.03, 0.1];
/** Of the L2 strengths within this much of the best dev score, the strongest is kept: fewer, smaller weights carry over better. */
const TOLERANCE = 0.01;
/** Single sentences with a status label (the older evaluation set's dev part) also teach the status head short text. */
const SENTENCES = path.join(ROOT, 'test/fixtures/emotion-eval.jsonl');

function sentenceRows(): Array<{ x: number[]; status: number }> {
  return readFileSync(SENTENCES, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { split: string; text: string; status: (typeof EMOTION_STATUSES)[number] })
    .filter((e) => e.split === 'dev')
    .map((e) => ({ x: readEntry({ title: null, content: e.text }).features, status: EMOTION_STATUSES.indexOf(e.status) }));
}

interface Row {
  x: number[];
  entry: CorpusEntry;
}

function rows(entries: CorpusEntry[]): Row[] {
  return entries.map((entry) => ({ x: readEntry({ title: null, content: entry.text }).features, entry }));
}

function statusProbs(model: SoftmaxModel, x: number[]): number[] {
  return predictSoftmax(model, x);
}

function macroF1(gold: number[], pred: number[], classes: number): number {
  let sum = 0;
  for (let c = 0; c < classes; c++) {
    const tp = gold.filter((g, i) => g === c && pred[i] === c).length;
    const fp = gold.filter((g, i) => g !== c && pred[i] === c).length;
    const fn = gold.filter((g, i) => g === c && pred[i] !== c).length;
    sum += tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  }
  return sum / classes;
}

function strongestWithin<T extends { l2: number }>(fits: T[], score: (f: T) => number): T {
  const best = Math.max(...fits.map(score));
  return fits.filter((f) => score(f) >= best - TOLERANCE).sort((a, b) => b.l2 - a.l2)[0]!;
}

const argmax = (p: number[]) => p.reduce((b, x, i) => (x > p[b]! ? i : b), 0);

function main(): void {
  const train = rows(readSplit('train'));
  const dev = rows(readSplit('dev'));
  const statusIndex = (r: Row) => EMOTION_STATUSES.indexOf(r.entry.status);

  const sentences = sentenceRows();
  const statusX = [...train.map((r) => r.x), ...sentences.map((s) => s.x)];
  const statusY = [...train.map(statusIndex), ...sentences.map((s) => s.status)];
  const fits = L2_GRID.map((l2) => {
    const model = fitSoftmax(statusX, statusY, EMOTION_STATUSES.length, { l2, balance: true });
    const f1 = macroF1(dev.map(statusIndex), dev.map((r) => argmax(statusProbs(model, r.x))), EMOTION_STATUSES.length);
    console.log(`status l2=${l2}: dev macro-F1 ${f1.toFixed(3)}`);
    return { l2, f1, model };
  });
  const status = strongestWithin(fits, (f) => f.f1);

  const withEmotion = (rs: Row[]) => rs.filter((r) => r.entry.dominant_emotion !== null);
  const emotionX = (r: Row) => [...r.x, ...statusProbs(status.model, r.x)];
  const emotionIndex = (r: Row) => EMOTIONS.indexOf(r.entry.dominant_emotion!);
  const trainE = withEmotion(train);
  const devE = withEmotion(dev);
  const emotionFits = L2_GRID.map((l2) => {
    const model = fitSoftmax(trainE.map(emotionX), trainE.map(emotionIndex), EMOTIONS.length, { l2, balance: false });
    const acc = devE.filter((r) => argmax(predictSoftmax(model, emotionX(r))) === emotionIndex(r)).length / devE.length;
    console.log(`emotion l2=${l2}: dev accuracy ${acc.toFixed(3)}`);
    return { l2, acc, model };
  });
  const emotion = strongestWithin(emotionFits, (f) => f.acc);

  const r4 = (x: number) => Math.round(x * 1e4) / 1e4 + 0;
  const file = {
    $comment: 'Written by scripts/analyzers/train-offline.ts; do not edit by hand.',
    features: [...FEATURE_NAMES],
    status: { classes: [...EMOTION_STATUSES], weights: status.model.weights.map((row) => row.map(r4)), bias: status.model.bias.map(r4) },
    emotion: { classes: [...EMOTIONS], weights: emotion.model.weights.map((row) => row.map(r4)), bias: emotion.model.bias.map(r4) },
    trainedOn: `test/fixtures/diary-corpus train split (${train.length} entries, and ${sentences.length} sentences of emotion-eval.jsonl's dev part for the status head; emotion head ${trainE.length}); L2 status ${status.l2}, emotion ${emotion.l2}, chosen on dev (status macro-F1 ${status.f1.toFixed(3)}, emotion accuracy ${emotion.acc.toFixed(3)})`,
  };
  writeFileSync(OUT, `${JSON.stringify(file, null, 1)}\n`);
  console.log(`written ${path.relative(process.cwd(), OUT)}: ${file.trainedOn}`);
}

main();
