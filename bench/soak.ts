/**
 * Chaos soak: 3 API instances behind nginx and 2 workers on real MariaDB, Redis, Kafka and the
 * MongoDB-wire store, toxiproxy between every process and every service, simulated users with a
 * steady and a flapping device each, and a seeded schedule of faults. Prints a table per fault
 * window (events, lost, duplicates, out of order, stale, survivors of deletion, 5xx, recovery) and
 * writes it all as JSON to bench/results/soak.json (or BENCH_RESULTS_DIR).
 *
 *   npx tsx bench/soak.ts [--users 200] [--duration 600] [--faults 36] [--seed 1]
 *
 * SOAK_KINDS=restart-kafka,… narrows the fault schedule to those kinds; SOAK_LOG_LEVEL=debug logs the processes.
 * Exits 1 when a target is missed: 0 lost, 0 reordered, 0 stale, 0 survivors, p99 recovery < 5 s.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { log, machineInfo, numericArgs, ROOT, runBench, table } from './bench-support.js';
import { describeFault, FAULT_KINDS, type FaultKind } from './soak/soak-faults.js';
import { runSoak, type SoakReport } from './soak/soak-run.js';

const USAGE = 'usage: npx tsx bench/soak.ts [--users N] [--duration S] [--faults N] [--seed N] [--pause-ms MS] [--warmup S] [--drain S] [--announce-every S]';

export function soakTable(report: SoakReport): string {
  const { verdict } = report;
  const ms = (v?: number) => (v === undefined ? '-' : (v / 1000).toFixed(1));
  const rows = verdict.windows.map((w, i) => [
    i === 0 ? 'before faults' : `${i} ${describeFault(report.faults[i - 1]!)}`,
    w.events,
    w.deliveries,
    w.lost,
    w.duplicates,
    w.regressed,
    w.outOfSeq,
    w.stale,
    w.survivors,
    w.http5xx,
    w.noAnswer,
    ms(w.firstDeliveryMs),
    ms(w.backlogMs),
  ]);
  const t = verdict.totals;
  rows.push(['total', t.events, t.deliveries, t.lost, t.duplicates, t.regressed, t.outOfSeq, t.stale, t.survivors, t.http5xx, t.noAnswer, '', '']);
  return table(['window (fault)', 'events', 'deliveries', 'lost', 'dups', 'regressed', 'out-of-seq', 'stale', 'survivors', '5xx', 'no answer', 'first s', 'backlog s'], rows);
}

/** The issue's targets, each with whether this run met it. */
export function soakTargets(report: SoakReport): Array<{ target: string; met: boolean; value: string }> {
  const { totals, recovery } = report.verdict;
  return [
    { target: '0 lost', met: totals.lost === 0 && report.announcements.missing === 0, value: `${totals.lost} lost, ${report.announcements.missing} announcements missing` },
    { target: '0 reordered (per entry, after dedup)', met: totals.regressed === 0, value: String(totals.regressed) },
    { target: '0 stale', met: totals.stale === 0, value: String(totals.stale) },
    { target: '0 survivors of deletion', met: totals.survivors === 0, value: String(totals.survivors) },
    { target: 'p99 recovery < 5 s (fault end → first delivery)', met: recovery.firstDeliveryP99 < 5_000, value: `${(recovery.firstDeliveryP99 / 1000).toFixed(1)} s` },
  ];
}

/** `SOAK_KINDS=restart-kafka,kill-api` narrows the schedule to those kinds, to look at one kind of fault. */
function faultKindsFrom(list: string): FaultKind[] {
  const kinds = list.split(',').map((k) => k.trim()).filter(Boolean);
  const unknown = kinds.filter((k) => !(FAULT_KINDS as readonly string[]).includes(k));
  if (unknown.length || !kinds.length) throw new Error(`SOAK_KINDS: unknown fault kind ${unknown.join(', ')}; known: ${FAULT_KINDS.join(', ')}`);
  return kinds as FaultKind[];
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.join(ROOT, 'bench', 'soak.ts')) {
  runBench('soak', async () => {
    const args = numericArgs(
      process.argv.slice(2),
      { users: 200, duration: 600, faults: 36, seed: 1, pauseMs: 8_000, warmup: 15, drain: 120, announceEvery: 60 },
      USAGE,
    );
    log(machineInfo());
    const report = await runSoak({
      users: args.users,
      durationSec: args.duration,
      faults: args.faults,
      seed: args.seed,
      meanPauseMs: args.pauseMs,
      warmupSec: args.warmup,
      drainTimeoutSec: args.drain,
      announceEverySec: args.announceEvery,
      ...(process.env.SOAK_KINDS ? { kinds: faultKindsFrom(process.env.SOAK_KINDS) } : {}),
      keepData: Boolean(process.env.KEEP_BENCH_DATA),
      log,
    });
    console.log(soakTable(report));
    const { recovery } = report.verdict;
    console.log(
      `recovery (fault end → first delivery): p50 ${(recovery.firstDeliveryP50 / 1000).toFixed(1)} s, p99 ${(recovery.firstDeliveryP99 / 1000).toFixed(1)} s; ` +
        `backlog of the fault window on the steady devices: p50 ${(recovery.backlogP50 / 1000).toFixed(1)} s, p99 ${(recovery.backlogP99 / 1000).toFixed(1)} s`,
    );
    console.log(`writes: ${JSON.stringify(report.writes)}; failed requests: ${JSON.stringify(report.failedRequests)}; announcements: ${JSON.stringify(report.announcements)}; process starts: ${JSON.stringify(report.processStarts)}; crashes restarted: ${JSON.stringify(report.processCrashes)}; drain ${report.drainMs} ms`);
    const targets = soakTargets(report);
    for (const t of targets) console.log(`${t.met ? 'met    ' : 'NOT MET'}  ${t.target}: ${t.value}`);
    const dir = process.env.BENCH_RESULTS_DIR ? path.resolve(process.env.BENCH_RESULTS_DIR) : path.join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'soak.json');
    writeFileSync(file, `${JSON.stringify({ bench: 'soak', at: new Date().toISOString(), command: `npx tsx bench/soak.ts ${process.argv.slice(2).join(' ')}`.trim(), machine: machineInfo(), targets, ...report }, null, 2)}\n`);
    log(`results written to ${path.relative(process.cwd(), file)}`);
    return targets.every((t) => t.met) ? 0 : 1;
  });
}
