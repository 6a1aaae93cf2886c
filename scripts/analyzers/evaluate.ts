/**
 * Scores the analyzers on a split of the labelled diary corpus, per language:
 *
 *   npx tsx scripts/analyzers/evaluate.ts [--split dev|test] [--analyzer offline|embedding|ensemble|all]
 *     [--embedding-url http://127.0.0.1:PORT] [--out FILE]
 *
 * Prints status macro-F1 with a 3x3 confusion matrix, dominant-emotion accuracy, distortion
 * per-category P/R/F1 and macro-F1 (and the "none" class), analyses/s and ms/entry, for each
 * analyzer and for the AFINN baseline in the same run, and writes them to
 * bench/results/analyzer-eval.json. The embedding analyzers call the sidecar (started here when
 * no URL is given) through the same batching client as the worker; their analyses/s is also
 * measured with BATCH_CONCURRENCY analyses in flight at once, as the worker runs them. The test split is frozen: develop on train and dev, and run
 * on test only to report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DISTORTIONS, type Analyzer, type AnalysisResult } from '../../workers/analyzers/analyzer.js';
import { createEmbeddingAnalyzer } from '../../workers/analyzers/embedding/embedding-analyzer.js';
import { createEmbeddingClient } from '../../workers/analyzers/embedding/embedding-client.js';
import { loadShippedHeads } from '../../workers/analyzers/embedding/heads.js';
import { createOfflineAnalyzer } from '../../workers/analyzers/offline/offline-analyzer.js';
import { configSchema } from '../../config/schema.js';
import { startEmbeddingSidecar } from '../services/embedding.js';
import { freePort } from '../services/process.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createAfinnBaseline } from './baseline.js';
import { LANGS, readSplit, type CorpusEntry, type Split } from './corpus.js';
import { scoreDistortions, scoreEmotion, scoreStatus, type DistortionScore, type StatusScore } from './metrics.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ANALYZERS = ['offline', 'embedding', 'ensemble'] as const;
/** Analyses in flight at once for the batched throughput (the worker's EMBEDDING_CHUNK_SIZE). */
const BATCH_CONCURRENCY = 16;
type AnalyzerName = (typeof ANALYZERS)[number];

const { values } = parseArgs({
  options: {
    split: { type: 'string', default: 'dev' },
    analyzer: { type: 'string', default: 'all' },
    out: { type: 'string', default: path.join(ROOT, 'bench/results/analyzer-eval.json') },
    'embedding-url': { type: 'string' },
  },
});
const split = values.split as Split;
if (!['train', 'dev', 'test'].includes(split)) throw new Error(`--split: train, dev or test, not ${split}`);
const wanted: AnalyzerName[] = values.analyzer === 'all' ? [...ANALYZERS] : [values.analyzer as AnalyzerName];
if (!wanted.every((a) => ANALYZERS.includes(a))) throw new Error(`--analyzer: ${ANALYZERS.join('|')}|all`);

interface Scores {
  n: number;
  status: StatusScore;
  emotion: { accuracy: number; n: number };
  distortions: DistortionScore;
}
interface Report {
  analyzer: string;
  version: string;
  all: Scores;
  byLang: Record<string, Scores>;
  analysesPerSecond: number;
  msPerEntry: { mean: number; p50: number; p95: number };
  /** With BATCH_CONCURRENCY analyses at once (embedding analyzers only). */
  batchedAnalysesPerSecond?: number;
  fallbacks: number;
}

async function evaluate(analyzer: Analyzer, entries: CorpusEntry[]): Promise<Report> {
  const results: AnalysisResult[] = [];
  const times: number[] = [];
  // One at a time: ms/entry is the latency a single request sees, and analyses/s what one caller gets.
  const started = process.hrtime.bigint();
  for (const entry of entries) {
    const t0 = process.hrtime.bigint();
    results.push(await analyzer.analyze({ title: null, content: entry.text }));
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  let batchedAnalysesPerSecond: number | undefined;
  if (analyzer.name === 'embedding' || analyzer.name === 'ensemble') {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < entries.length; i += BATCH_CONCURRENCY) {
      const batch = await Promise.all(entries.slice(i, i + BATCH_CONCURRENCY).map((e) => analyzer.analyze({ title: null, content: e.text })));
      if (batch.some((r) => r.fallbackReason)) throw new Error(`${analyzer.name} fell back during the batched run`);
    }
    batchedAnalysesPerSecond = entries.length / (Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const score = (pick: (e: CorpusEntry) => boolean): Scores => {
    const idx = entries.map((e, i) => (pick(e) ? i : -1)).filter((i) => i >= 0);
    return {
      n: idx.length,
      status: scoreStatus(idx.map((i) => ({ gold: entries[i]!.status, pred: results[i]!.emotionStatus }))),
      emotion: scoreEmotion(idx.map((i) => ({ gold: entries[i]!.dominant_emotion, pred: results[i]!.emotions[0]!.name }))),
      distortions: scoreDistortions(
        idx.map((i) => ({ gold: entries[i]!.distortions, pred: results[i]!.automaticThoughts.map((t) => ({ category: t.distortion, sentence: t.text })) })),
      ),
    };
  };
  const sorted = [...times].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return {
    analyzer: analyzer.name,
    version: analyzer.version,
    all: score(() => true),
    byLang: Object.fromEntries(LANGS.map((l) => [l, score((e) => e.lang === l)])),
    analysesPerSecond: entries.length / seconds,
    msPerEntry: { mean: (seconds * 1000) / entries.length, p50: q(0.5), p95: q(0.95) },
    batchedAnalysesPerSecond,
    fallbacks: results.filter((r) => r.fallbackReason !== undefined).length,
  };
}

const f = (x: number) => x.toFixed(3);

function print(report: Report): void {
  console.log(`\n=== ${report.analyzer} ${report.version}: ${report.analysesPerSecond.toFixed(1)} analyses/s, ${report.msPerEntry.mean.toFixed(2)} ms/entry (p50 ${report.msPerEntry.p50.toFixed(2)}, p95 ${report.msPerEntry.p95.toFixed(2)})${report.batchedAnalysesPerSecond ? `, ${report.batchedAnalysesPerSecond.toFixed(1)} analyses/s with ${BATCH_CONCURRENCY} at once` : ''}${report.fallbacks ? `, ${report.fallbacks} fell back` : ''}`);
  const rows: Array<[string, Scores]> = [...LANGS.map((l): [string, Scores] => [l, report.byLang[l]!]), ['all', report.all]];
  console.log('lang   n    status-F1  acc    emotion-acc  distortion-F1  none-F1  sentence-match');
  for (const [lang, s] of rows) {
    console.log(
      `${lang.padEnd(6)} ${String(s.n).padEnd(4)} ${f(s.status.macroF1).padEnd(10)} ${f(s.status.accuracy).padEnd(6)} ${f(s.emotion.accuracy).padEnd(12)} ${f(s.distortions.macroF1).padEnd(14)} ${f(s.distortions.none.f1).padEnd(8)} ${f(s.distortions.sentenceMatch)}`,
    );
  }
  for (const [lang, s] of rows) {
    const c = s.status.confusion;
    console.log(`confusion ${lang} (rows gold, columns predicted POS/NEG/NEU): POS ${c.POSITIVE.POSITIVE}/${c.POSITIVE.NEGATIVE}/${c.POSITIVE.NEUTRAL}  NEG ${c.NEGATIVE.POSITIVE}/${c.NEGATIVE.NEGATIVE}/${c.NEGATIVE.NEUTRAL}  NEU ${c.NEUTRAL.POSITIVE}/${c.NEUTRAL.NEGATIVE}/${c.NEUTRAL.NEUTRAL}`);
  }
  console.log('distortion (all languages)   P      R      F1     support');
  for (const d of DISTORTIONS) {
    const p = report.all.distortions.perCategory[d];
    console.log(`  ${d.padEnd(26)} ${f(p.precision)}  ${f(p.recall)}  ${f(p.f1)}  ${p.support}`);
  }
  const n = report.all.distortions.none;
  console.log(`  ${'(none)'.padEnd(26)} ${f(n.precision)}  ${f(n.recall)}  ${f(n.f1)}  ${n.support}`);
}

async function main(): Promise<void> {
  const entries = readSplit(split);
  console.log(`split ${split}: ${entries.length} entries (${LANGS.map((l) => `${l} ${entries.filter((e) => e.lang === l).length}`).join(', ')}) on ${cpus()[0]?.model ?? '?'}`);
  const analyzers: Analyzer[] = [createAfinnBaseline()];
  let stop: () => Promise<void> = async () => undefined;
  if (wanted.includes('offline')) analyzers.push(createOfflineAnalyzer());
  const embeddingVariants = wanted.filter((a): a is 'embedding' | 'ensemble' => a !== 'offline');
  if (embeddingVariants.length > 0) {
    let url = values['embedding-url'];
    if (!url) {
      const dir = mkdtempSync(path.join(tmpdir(), 'embedding-eval-'));
      const sidecar = await startEmbeddingSidecar(dir, await freePort(), dir);
      url = sidecar.url;
      stop = async () => {
        await sidecar.stop();
        rmSync(dir, { recursive: true, force: true });
      };
    }
    const heads = loadShippedHeads();
    // The worker's defaults, except a timeout long enough for a batch on a busy machine.
    const settings = { ...configSchema.shape.worker.shape.embedding.parse({}), timeoutMs: 60_000 };
    for (const variant of embeddingVariants) {
      const client = createEmbeddingClient({ ...settings, baseUrl: url, model: heads.model, inputType: heads.inputType });
      if (!(await client.probe())) throw new Error(`no embedding sidecar serving ${heads.model} at ${url}`);
      analyzers.push(createEmbeddingAnalyzer({ client, heads, variant, fallback: createOfflineAnalyzer() }));
    }
  }
  const reports: Report[] = [];
  try {
    for (const analyzer of analyzers) {
      const report = await evaluate(analyzer, entries);
      print(report);
      reports.push(report);
    }
  } finally {
    await stop();
  }
  mkdirSync(path.dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify({ split, entries: entries.length, date: new Date().toISOString(), cpu: cpus()[0]?.model, reports }, null, 2)}\n`);
  console.log(`\nwritten to ${path.relative(process.cwd(), values.out)}`);
}

await main();
