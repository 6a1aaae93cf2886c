/**
 * The offline analyzer's throughput: every entry of the diary corpus (all splits), after a warm-up
 * pass; prints analyses/s, ms per entry (mean, p50, p95) and the CPU time the process used.
 * Issue 15's target: at least 1,000 analyses/s on one core.
 *
 *   npx tsx bench/analyzer-throughput.ts [--rounds 3] [--threads 0]
 *
 * --threads 0 analyses one entry after another on this thread; N > 0 sends them to the worker's
 * pool of N threads (workers/analyzers/offline/offline-pool.ts) in chunks of 200, four chunks in
 * flight, as a worker's partitions would (per-entry times are then in-pool times, queueing included).
 */
import { parseArgs } from 'node:util';
import { readSplit, SPLITS } from '../scripts/analyzers/corpus.js';
import { analyzeOffline, OFFLINE_ANALYZER_VERSION } from '../workers/analyzers/offline/offline-analyzer.js';
import { createOfflineAnalyzerPool } from '../workers/analyzers/offline/offline-pool.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, threads: { type: 'string', default: '0' } } });
const rounds = Number(values.rounds);
const threads = Number(values.threads);
const entries = SPLITS.flatMap((s) => readSplit(s)).map((e) => ({ title: null, content: e.text }));
const CHUNK = 200;
const IN_FLIGHT = 4;

const pool = threads > 0 ? createOfflineAnalyzerPool({ threads }) : undefined;
const times: number[] = [];
const timed = async (entry: (typeof entries)[number]) => {
  const t = performance.now();
  if (pool) await pool.analyze(entry);
  else analyzeOffline(entry);
  times.push(performance.now() - t);
};
const pass = async () => {
  if (!pool) {
    for (const entry of entries) await timed(entry);
    return;
  }
  const chunks = Array.from({ length: Math.ceil(entries.length / CHUNK) }, (_, i) => entries.slice(i * CHUNK, (i + 1) * CHUNK));
  let next = 0;
  const lane = async () => {
    while (next < chunks.length) await Promise.all(chunks[next++]!.map(timed));
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
};

await pass();
times.length = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let r = 0; r < rounds; r++) await pass();
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
await pool?.close();
times.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
console.log(`offline ${OFFLINE_ANALYZER_VERSION}: ${entries.length} entries × ${rounds} rounds, ${pool ? `${threads} analyzer threads` : 'on this thread'}`);
console.log(`  ${(times.length / seconds).toFixed(0)} analyses/s (target ≥ 1,000 on one core)`);
console.log(`  ms per entry: mean ${((seconds * 1000) / times.length).toFixed(3)}, p50 ${q(0.5).toFixed(3)}, p95 ${q(0.95).toFixed(3)}, max ${times.at(-1)!.toFixed(3)}`);
console.log(`  CPU: ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms for ${(seconds * 1000).toFixed(0)} ms of wall time`);
