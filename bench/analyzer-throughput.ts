/**
 * The offline analyzer on one core: every entry of the diary corpus (all splits), analysed one
 * after another in this process, after a warm-up pass; prints analyses/s, ms per entry (mean, p50,
 * p95) and the CPU time the process used. Issue 15's target: at least 1,000 analyses/s.
 *
 *   npx tsx bench/analyzer-throughput.ts [--rounds 3]
 */
import { parseArgs } from 'node:util';
import { readSplit, SPLITS } from '../scripts/analyzers/corpus.js';
import { analyzeOffline, OFFLINE_ANALYZER_VERSION } from '../workers/analyzers/offline/offline-analyzer.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
const rounds = Number(values.rounds);
const entries = SPLITS.flatMap((s) => readSplit(s)).map((e) => ({ title: null, content: e.text }));

for (const entry of entries) analyzeOffline(entry);
const times: number[] = [];
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let r = 0; r < rounds; r++) {
  for (const entry of entries) {
    const t = performance.now();
    analyzeOffline(entry);
    times.push(performance.now() - t);
  }
}
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
times.sort((a, b) => a - b);
const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!;
console.log(`offline ${OFFLINE_ANALYZER_VERSION}: ${entries.length} entries × ${rounds} rounds`);
console.log(`  ${(times.length / seconds).toFixed(0)} analyses/s on one core (target ≥ 1,000)`);
console.log(`  ms per entry: mean ${((seconds * 1000) / times.length).toFixed(3)}, p50 ${q(0.5).toFixed(3)}, p95 ${q(0.95).toFixed(3)}, max ${times.at(-1)!.toFixed(3)}`);
console.log(`  CPU: ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms for ${(seconds * 1000).toFixed(0)} ms of wall time`);
