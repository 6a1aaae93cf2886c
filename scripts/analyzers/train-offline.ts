/**
 * Fits the offline analyzer's two discourse heads on the corpus's train split and writes
 * workers/analyzers/offline/data/discourse-model.json:
 *
 *   npx tsx scripts/analyzers/train-offline.ts
 *
 * Status: softmax regression over the rules' discourse features (workers/analyzers/offline/
 * discourse.ts), classes weighted to balance. Emotion: softmax regression over the same features
 * plus the status head's probabilities, on the entries whose dominant emotion is labelled. Both
 * also weigh the entry's words (a learned lexicon). The L2 strength of the lexical weights is the
 * strongest of a small grid that scores within 0.01 of the best on the train split's out-of-fold
 * predictions (5 folds) pooled with the dev split's; the test split is never read. Deterministic: same corpus and rules, same file. Run it after changing the rules,
 * the cues or the features, then bump OFFLINE_ANALYZER_VERSION.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EMOTIONS } from '../../workers/analyzers/analyzer.js';
import { EMOTION_STATUSES } from '../../kernel/contracts/statuses.js';
import { entryWords, FEATURE_NAMES } from '../../workers/analyzers/offline/discourse.js';
import { readEntry } from '../../workers/analyzers/offline/reading.js';
import { inEnglishSupplement, readSplit, type CorpusEntry } from './corpus.js';
import { argmax } from '../../workers/analyzers/numeric.js';
import { fitSoftmax, predictSoftmax, type SoftmaxModel } from './softmax-regression.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OUT = path.join(ROOT, 'workers/analyzers/offline/data/discourse-model.json');
/** L2 of the dense discourse weights (few, all in -1..1: the choice matters little). */
const DENSE_L2 = 0.01;
const ITERATIONS = 1000;
const FOLDS = 5;
/** Of the L2 strengths within this much of the best dev score, the strongest is kept: fewer, smaller weights carry over better. */
const TOLERANCE = 0.01;
/** L2 of the heads' lexical weights. */
const LEXICAL_L2_GRID = [0.003, 0.01, 0.03, 0.1];
const MIN_WORD_COUNT = 3;
/** Lexical weights smaller than this in every class are left out of the file. */
const MIN_LEXICAL_WEIGHT = 0.02;
/** Single sentences with a status label (the older evaluation set's dev part) also teach the status head short text. */
const SENTENCES = path.join(ROOT, 'test/fixtures/emotion-eval.jsonl');

function sentenceRows(): Array<{ x: number[]; words: string[]; status: number }> {
  return readFileSync(SENTENCES, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { split: string; text: string; status: (typeof EMOTION_STATUSES)[number] })
    .filter((e) => e.split === 'dev')
    .map((e) => {
      const reading = readEntry({ title: null, content: e.text });
      return { x: reading.features, words: entryWords(reading.sentences), status: EMOTION_STATUSES.indexOf(e.status) };
    });
}

interface Row {
  x: number[];
  words: string[];
  entry: CorpusEntry;
}

function rows(entries: CorpusEntry[]): Row[] {
  return entries.map((entry) => {
    const reading = readEntry({ title: null, content: entry.text });
    return { x: reading.features, words: entryWords(reading.sentences), entry };
  });
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

const accuracy = (gold: number[], pred: number[]) => gold.filter((g, i) => g === pred[i]).length / Math.max(1, gold.length);

const r4 = (x: number) => Math.round(x * 1e4) / 1e4 + 0;

interface Example {
  x: number[];
  words: number[];
  y: number;
  /** The cross-validation fold of a corpus entry; -1 for rows that are always trained on. */
  fold: number;
}

interface Choice {
  l2Sparse: number;
  score: number;
  model: SoftmaxModel;
  /** Out-of-fold probabilities of the train examples (in order), and dev probabilities of the final model. */
  trainProbs: number[][];
  devProbs: number[][];
}

/**
 * Fits one head for each lexical L2 of the grid and scores it on the out-of-fold predictions of the
 * train entries (FOLDS folds) pooled with the dev predictions of the model fitted on all of train;
 * keeps the most regularised within TOLERANCE of the best.
 */
function select(name: string, train: Example[], dev: Example[], classes: number, balance: boolean, score: (gold: number[], pred: number[]) => number): Choice {
  const dims = Math.max(0, ...[...train, ...dev].flatMap((e) => e.words)) + 1;
  const fit = (rows: Example[], l2Sparse: number) =>
    fitSoftmax(rows.map((e) => e.x), rows.map((e) => e.y), classes, { l2: DENSE_L2, l2Sparse, balance, iterations: ITERATIONS }, { rows: rows.map((e) => e.words), dims });
  const choices = LEXICAL_L2_GRID.map((l2Sparse): Choice => {
    const trainProbs: number[][] = train.map(() => []);
    for (let fold = 0; fold < FOLDS; fold++) {
      const model = fit(train.filter((e) => e.fold !== fold), l2Sparse);
      train.forEach((e, i) => {
        if (e.fold === fold) trainProbs[i] = predictSoftmax(model, e.x, e.words);
      });
    }
    const model = fit(train, l2Sparse);
    train.forEach((e, i) => {
      if (e.fold < 0) trainProbs[i] = predictSoftmax(model, e.x, e.words);
    });
    const devProbs = dev.map((e) => predictSoftmax(model, e.x, e.words));
    const held = train.map((e, i) => ({ e, p: trainProbs[i]! })).filter(({ e }) => e.fold >= 0);
    const pooled = score([...held.map(({ e }) => e.y), ...dev.map((e) => e.y)], [...held.map(({ p }) => argmax(p)), ...devProbs.map((p) => argmax(p))]);
    const devOnly = score(dev.map((e) => e.y), devProbs.map((p) => argmax(p)));
    console.log(`${name} lexical l2=${l2Sparse}: out-of-fold train + dev ${pooled.toFixed(3)}, dev ${devOnly.toFixed(3)}`);
    return { l2Sparse, score: pooled, model, trainProbs, devProbs };
  });
  const best = Math.max(...choices.map((c) => c.score));
  return choices.filter((c) => c.score >= best - TOLERANCE).sort((a, b) => b.l2Sparse - a.l2Sparse)[0]!;
}

function lexiconOf(model: SoftmaxModel, vocabulary: string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  vocabulary.forEach((word, i) => {
    const ws = model.sparseWeights?.map((row) => r4(row[i]!)) ?? [];
    if (ws.some((w) => Math.abs(w) >= MIN_LEXICAL_WEIGHT)) out[word] = ws;
  });
  return out;
}

function main(): void {
  const train = rows(readSplit('train'));
  const dev = rows(readSplit('dev'));
  const sentences = sentenceRows();
  const counts = new Map<string, number>();
  for (const r of [...train, ...sentences]) for (const w of r.words) counts.set(w, (counts.get(w) ?? 0) + 1);
  const vocabulary = [...counts.entries()].filter(([, c]) => c >= MIN_WORD_COUNT).map(([w]) => w).sort();
  const wordIndex = new Map(vocabulary.map((w, i) => [w, i]));
  const encode = (words: string[]) => words.map((w) => wordIndex.get(w)).filter((i): i is number => i !== undefined);
  const statusOf = (r: Row, i: number): Example => ({ x: r.x, words: encode(r.words), y: EMOTION_STATUSES.indexOf(r.entry.status), fold: i % FOLDS });

  const statusTrain = [...train.map(statusOf), ...sentences.map((s) => ({ x: s.x, words: encode(s.words), y: s.status, fold: -1 }))];
  const statusDev = dev.map(statusOf);
  const status = select('status macro-F1', statusTrain, statusDev, EMOTION_STATUSES.length, true, (g, p) => macroF1(g, p, EMOTION_STATUSES.length));

  // The emotion head reads the status head's probabilities: out-of-fold ones for train entries, as at run time on new text.
  const emotionOf = (r: Row, probs: number[], i: number): Example => ({
    x: [...r.x, ...probs],
    words: encode(r.words),
    y: EMOTIONS.indexOf(r.entry.dominant_emotion!),
    fold: i % FOLDS,
  });
  // Without the English training supplement: its emotion labels are skewed (scripts/analyzers/corpus.ts).
  const emotionTrain = train
    .map((r, i) => emotionOf(r, status.trainProbs[i]!, i))
    .filter((_, i) => train[i]!.entry.dominant_emotion !== null && !inEnglishSupplement(train[i]!.entry));
  const emotionDev = dev.map((r, i) => emotionOf(r, status.devProbs[i]!, i)).filter((_, i) => dev[i]!.entry.dominant_emotion !== null);
  const emotion = select('emotion accuracy', emotionTrain, emotionDev, EMOTIONS.length, false, accuracy);

  const lexical = lexiconOf(status.model, vocabulary);
  const emotionLexical = lexiconOf(emotion.model, vocabulary);
  const file = {
    $comment: 'Written by scripts/analyzers/train-offline.ts; do not edit by hand.',
    features: [...FEATURE_NAMES],
    status: { classes: [...EMOTION_STATUSES], weights: status.model.weights.map((row) => row.map(r4)), bias: status.model.bias.map(r4), lexical },
    emotion: { classes: [...EMOTIONS], weights: emotion.model.weights.map((row) => row.map(r4)), bias: emotion.model.bias.map(r4), lexical: emotionLexical },
    trainedOn: `test/fixtures/diary-corpus train split (${train.length} entries, and ${sentences.length} sentences of emotion-eval.jsonl's dev part for the status head; emotion head ${emotionTrain.length}); lexical L2 status ${status.l2Sparse} (${Object.keys(lexical).length} words kept), emotion ${emotion.l2Sparse} (${Object.keys(emotionLexical).length} words kept), chosen on out-of-fold train and dev predictions (status macro-F1 ${status.score.toFixed(3)}, emotion accuracy ${emotion.score.toFixed(3)})`,
  };
  writeFileSync(OUT, `${JSON.stringify(file, null, 1)}\n`);
  console.log(`written ${path.relative(process.cwd(), OUT)}: ${file.trainedOn}`);
}

main();
