/**
 * Fits the offline analyzer's distortion model on the sentences of the corpus's train split and
 * writes workers/analyzers/offline/data/distortion-model.json (run before train-offline.ts, whose
 * discourse features count the thoughts this model finds; `npm run train:offline` runs both):
 *
 *   npx tsx scripts/analyzers/train-distortions.ts
 *
 * One L2-regularised logistic regression per category over the sparse sentence features of
 * workers/analyzers/offline/distortion-model.ts (features seen in fewer than MIN_COUNT train
 * sentences are dropped). A sentence is a positive example of a category when the annotators
 * named it (or a sentence it contains, or one containing it) as carrying that category; the short
 * texts of test/fixtures/emotion-eval.jsonl's dev part are examples too. The L2 strength (one for
 * all categories) and each category's threshold are chosen at entry level on the out-of-fold
 * probabilities of the train split pooled with the dev split's; the test split is never read.
 * Deterministic.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DISTORTIONS, type DistortionCategory } from '../../workers/analyzers/analyzer.js';
import { sigmoid } from '../../workers/analyzers/numeric.js';
import { vetoed } from '../../workers/analyzers/offline/distortion-model.js';
import { readEntry } from '../../workers/analyzers/offline/reading.js';
import { readSplit, type CorpusEntry } from './corpus.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const OUT = path.join(ROOT, 'workers/analyzers/offline/data/distortion-model.json');
const MIN_COUNT = 2;
const L2_GRID = [0.3, 1, 3];
const THRESHOLDS = Array.from({ length: 15 }, (_, i) => 0.15 + i * 0.05);
const ITERATIONS = 400;
const FOLDS = 5;
const TOLERANCE = 0.01;
/** Weights smaller than this are left out of the file (they move no decision; the file stays small). */
const MIN_WEIGHT = 0.03;

interface Sentence {
  entry: number;
  features: string[];
  labels: Set<DistortionCategory>;
}

/** The older evaluation set's dev part: short texts, each one automatic thought or none. */
const SENTENCES = path.join(ROOT, 'test/fixtures/emotion-eval.jsonl');

function labelledSentences(firstEntry: number): Sentence[] {
  return readFileSync(SENTENCES, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { split: string; text: string; distortion: DistortionCategory | null })
    .filter((e) => e.split === 'dev')
    .flatMap((e, i) =>
      readEntry({ title: null, content: e.text }).sentences.map((s) => ({
        entry: firstEntry + i,
        features: s.distortionFeatures,
        labels: new Set(e.distortion ? [e.distortion] : []),
      })),
    );
}

const norm = (s: string) => s.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
const overlaps = (a: string, b: string) => a.includes(b) || b.includes(a);

function sentences(entries: CorpusEntry[]): Sentence[] {
  const out: Sentence[] = [];
  entries.forEach((entry, index) => {
    for (const s of readEntry({ title: null, content: entry.text }).sentences) {
      const text = norm(s.text);
      const labels = new Set(entry.distortions.filter((d) => overlaps(norm(d.sentence), text)).map((d) => d.category));
      out.push({ entry: index, features: s.distortionFeatures, labels });
    }
  });
  return out;
}

/** Binary logistic regression on sparse rows (feature indices), Adam, from zero. */
function fitBinary(rows: number[][], ys: number[], dims: number, l2: number): { w: Float64Array; b: number } {
  const w = new Float64Array(dims);
  let b = 0;
  const m = new Float64Array(dims + 1);
  const v = new Float64Array(dims + 1);
  const pos = ys.filter((y) => y === 1).length;
  // Positives are rare (a few percent of sentences): weigh them up to half the total mass.
  const wPos = pos > 0 ? rows.length / (2 * pos) : 1;
  const wNeg = rows.length / (2 * Math.max(1, rows.length - pos));
  const n = rows.length;
  for (let t = 1; t <= ITERATIONS; t++) {
    const g = new Float64Array(dims + 1);
    for (let i = 0; i < n; i++) {
      let z = b;
      for (const f of rows[i]!) z += w[f]!;
      const p = 1 / (1 + Math.exp(-z));
      const err = (p - ys[i]!) * (ys[i] === 1 ? wPos : wNeg) / n;
      for (const f of rows[i]!) g[f]! += err;
      g[dims]! += err;
    }
    for (let k = 0; k <= dims; k++) {
      const param = k < dims ? w[k]! : b;
      const grad = g[k]! + (k < dims ? (l2 / n) * param : 0);
      m[k] = 0.9 * m[k]! + 0.1 * grad;
      v[k] = 0.999 * v[k]! + 0.001 * grad * grad;
      const step = (0.05 * (m[k]! / (1 - 0.9 ** t))) / (Math.sqrt(v[k]! / (1 - 0.999 ** t)) + 1e-8);
      if (k < dims) w[k] = param - step;
      else b = param - step;
    }
  }
  return { w, b };
}

function entryF1(sents: Sentence[], probs: number[], threshold: number, category: DistortionCategory, entries: number): number {
  const gold = new Set<number>();
  const pred = new Set<number>();
  sents.forEach((s, i) => {
    if (s.labels.has(category)) gold.add(s.entry);
    if (probs[i]! >= threshold) pred.add(s.entry);
  });
  let tp = 0;
  for (let e = 0; e < entries; e++) if (gold.has(e) && pred.has(e)) tp++;
  const fp = pred.size - tp;
  const fn = gold.size - tp;
  return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

function main(): void {
  const trainEntries = readSplit('train');
  const devEntries = readSplit('dev');
  const train = [...sentences(trainEntries), ...labelledSentences(trainEntries.length)];
  const dev = sentences(devEntries);
  const counts = new Map<string, number>();
  for (const s of train) for (const f of s.features) counts.set(f, (counts.get(f) ?? 0) + 1);
  const vocabulary = [...counts.entries()].filter(([, c]) => c >= MIN_COUNT).map(([f]) => f).sort();
  const index = new Map(vocabulary.map((f, i) => [f, i]));
  const encode = (s: Sentence) => s.features.map((f) => index.get(f)).filter((i): i is number => i !== undefined);
  const trainRows = train.map(encode);
  const devRows = dev.map(encode);
  console.log(`${train.length} train sentences, ${vocabulary.length} features`);

  const labels = (category: DistortionCategory) => train.map((s) => (s.labels.has(category) ? 1 : 0));
  const probability = (fit: { w: Float64Array; b: number }, row: number[]) => sigmoid(fit.b + row.reduce((z, f) => z + fit.w[f]!, 0));
  // Thresholds are chosen on the train split's out-of-fold probabilities (entries in FOLDS folds)
  // pooled with the dev split's: a few dozen positives per category instead of the dev split's 5-14.
  const pooled = [...train, ...dev.map((s) => ({ ...s, entry: s.entry + 1_000_000 }))];
  const pooledEntries = 1_000_000 + devEntries.length;
  const fitAll = (l2: number) =>
    DISTORTIONS.map((category) => {
      const ys = labels(category);
      const outOfFold = new Array<number>(train.length).fill(0);
      for (let fold = 0; fold < FOLDS; fold++) {
        const inFold = (i: number) => train[i]!.entry % FOLDS === fold;
        const keep = trainRows.map((_, i) => i).filter((i) => !inFold(i));
        const fit = fitBinary(keep.map((i) => trainRows[i]!), keep.map((i) => ys[i]!), vocabulary.length, l2);
        trainRows.forEach((row, i) => {
          if (inFold(i)) outOfFold[i] = probability(fit, row);
        });
      }
      const fit = fitBinary(trainRows, ys, vocabulary.length, l2);
      // As predictDistortions decides: vetoed sentences never fire, strong cues always do.
      const probs = [...outOfFold, ...devRows.map((row) => probability(fit, row))].map((p, i) =>
        vetoed(pooled[i]!.features, category) ? 0 : pooled[i]!.features.includes(`cue+:${category}`) ? 1 : p,
      );
      let best = { threshold: 0.5, f1: -1 };
      for (const threshold of THRESHOLDS) {
        const f1 = entryF1(pooled, probs, threshold, category, pooledEntries);
        if (f1 > best.f1 + 1e-9) best = { threshold, f1 };
      }
      const devF1 = entryF1(dev, probs.slice(train.length), best.threshold, category, devEntries.length);
      return { category, fit, threshold: best.threshold, f1: best.f1, devF1 };
    });
  const fits = L2_GRID.map((l2) => {
    const categories = fitAll(l2);
    const macro = categories.reduce((s, c) => s + c.f1, 0) / categories.length;
    const devMacro = categories.reduce((s, c) => s + c.devF1, 0) / categories.length;
    console.log(
      `l2=${l2}: out-of-fold train + dev macro-F1 ${macro.toFixed(3)}, dev ${devMacro.toFixed(3)} (${categories.map((c) => `${c.category} ${c.f1.toFixed(2)}@${c.threshold.toFixed(2)}`).join(', ')})`,
    );
    return { l2, macro, devMacro, categories };
  });
  const bestMacro = Math.max(...fits.map((f) => f.macro));
  const chosen = fits.filter((f) => f.macro >= bestMacro - TOLERANCE).sort((a, b) => b.l2 - a.l2)[0]!;

  const r3 = (x: number) => Math.round(x * 1e3) / 1e3 + 0;
  const categories = Object.fromEntries(
    chosen.categories.map((c) => {
      const weights: Record<string, number> = {};
      vocabulary.forEach((f, i) => {
        const w = r3(c.fit.w[i]!);
        if (Math.abs(w) >= MIN_WEIGHT) weights[f] = w;
      });
      return [c.category, { bias: r3(c.fit.b), threshold: r3(c.threshold), weights }];
    }),
  );
  const trainedOn = `test/fixtures/diary-corpus train split (${train.length} sentences of ${trainEntries.length} entries, ${vocabulary.length} features seen in ${MIN_COUNT}+ sentences); L2 ${chosen.l2} and thresholds chosen on out-of-fold train (${FOLDS} folds) and dev probabilities (macro-F1 ${chosen.macro.toFixed(3)}; dev alone ${chosen.devMacro.toFixed(3)})`;
  writeFileSync(OUT, `${JSON.stringify({ $comment: 'Written by scripts/analyzers/train-distortions.ts; do not edit by hand.', categories, trainedOn })}\n`);
  console.log(`written ${path.relative(process.cwd(), OUT)}: ${trainedOn}`);
}

main();
