/**
 * `npm run bench`: runs the benches one after another (never two at once: they share the cores),
 * each writing `<out>/<name>.json` (ours against a bare baseline from the same run), then collects
 * them into `<out>/bench.json`, `<out>/bench.md` and SVG plots.
 *
 *   npm run bench [-- --only realtime,rest,worker,pipeline] [--quick] [--out bench/results]
 *                 [--app-dir <checkout>] [--compare <dir of an earlier run>]
 *
 * `--app-dir` runs another checkout's app (for example the commit before a change, in a git
 * worktree) under this bench code and baselines: run it, then this checkout with `--compare`, back
 * to back, for a before/after table. Each bench's own output goes to `<out>/<name>.log`.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, formatNumber, log, machineInfo, type BenchRow } from './bench-support.js';
import { lineChart } from './svg-plot.js';

interface BenchSpec {
  name: string;
  script: string;
  args: string[];
  quickArgs: string[];
  timeoutMin: number;
}

/** The benches of the issue-13 table, in the order they run. */
const BENCHES: BenchSpec[] = [
  { name: 'realtime', script: 'bench/realtime-fanout.ts', args: ['--sockets', '10000', '--acked', '5', '--broadcasts', '10'], quickArgs: ['--sockets', '4000', '--acked', '3', '--broadcasts', '5'], timeoutMin: 25 },
  { name: 'rest', script: 'bench/rest-diaries.ts', args: ['--duration', '15', '--warmup', '3'], quickArgs: ['--duration', '8', '--warmup', '2'], timeoutMin: 15 },
  { name: 'worker', script: 'bench/worker-throughput.ts', args: [], quickArgs: ['--count', '8000', '--rate', '100', '--duration', '10'], timeoutMin: 20 },
  { name: 'pipeline', script: 'bench/pipeline-latency.ts', args: ['--rates', '10,100,500', '--duration', '10'], quickArgs: ['--rates', '10,100', '--duration', '8', '--timeout', '120'], timeoutMin: 20 },
];

interface ResultFile {
  bench: string;
  at: string;
  command: string;
  app: string;
  machine: string;
  rows: Array<BenchRow & { ratio?: number }>;
  latencyCdf?: Record<string, Array<[number, number]>>;
}

function options(argv: string[]) {
  const out = { only: undefined as string[] | undefined, quick: false, out: path.join(ROOT, 'bench', 'results'), appDir: undefined as string | undefined, compare: undefined as string | undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--only') out.only = value().split(',');
    else if (arg === '--quick') out.quick = true;
    else if (arg === '--out') out.out = path.resolve(value());
    else if (arg === '--app-dir') out.appDir = path.resolve(value());
    else if (arg === '--compare') out.compare = path.resolve(value());
    else if (arg === '--help' || arg === '-h') {
      console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
      process.exit(0);
    } else throw new Error(`unknown option ${arg} (--help)`);
  }
  return out;
}

function runOne(spec: BenchSpec, opts: ReturnType<typeof options>): Promise<number | null> {
  const args = ['--import', 'tsx', path.join(ROOT, spec.script), ...(opts.quick ? spec.quickArgs : spec.args)];
  const logFile = path.join(opts.out, `${spec.name}.log`);
  const env = { ...process.env, BENCH_RESULTS_DIR: opts.out, ...(opts.appDir ? { BENCH_APP_DIR: opts.appDir } : {}) };
  log(`${spec.name}: node ${args.slice(2).join(' ')} (output in ${path.relative(process.cwd(), logFile)})`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const sink = createWriteStream(logFile);
    child.stdout.pipe(sink);
    child.stderr.pipe(sink);
    // A bench stops itself; this is the bound if one hangs (SIGINT runs its cleanup).
    const timer = setTimeout(() => {
      log(`${spec.name}: over ${spec.timeoutMin} min, interrupting`);
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 60_000).unref();
    }, spec.timeoutMin * 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

function readResults(dir: string, names: string[]): ResultFile[] {
  return names.flatMap((name) => {
    const file = path.join(dir, `${name}.json`);
    return existsSync(file) ? [JSON.parse(readFileSync(file, 'utf8')) as ResultFile] : [];
  });
}

const fmt = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '-' : formatNumber(n).replace(/\B(?=(\d{3})+(?!\d))/g, ','));
const ratio = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(2));
const metText = (met: boolean | undefined) => (met === undefined ? '' : met ? 'yes' : 'no');

function markdown(results: ResultFile[], exits: Record<string, number | null>, before: ResultFile[] | undefined): string {
  const lines = [`# Bench results`, '', `${new Date().toISOString()}; ${machineInfo()}`, ''];
  lines.push('| bench | path | ours | baseline | ratio | target | met | detail |', '|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    for (const row of r.rows) {
      lines.push(`| ${r.bench} | ${row.path} | ${fmt(row.ours)} ${row.unit} | ${row.baseline === undefined ? '-' : `${fmt(row.baseline)} (${row.baselineName ?? 'baseline'})`} | ${ratio(row.ratio)} | ${row.target ?? ''} | ${metText(row.met)} | ${row.detail ?? ''} |`);
    }
  }
  if (before) {
    lines.push('', `## Before and after (before: ${before[0]?.app ?? '?'}, ${before[0]?.at ?? '?'})`, '');
    lines.push('| path | before | before ratio | after | after ratio | after / before |', '|---|---|---|---|---|---|');
    for (const r of results) {
      for (const row of r.rows) {
        const old = before.find((b) => b.bench === r.bench)?.rows.find((x) => x.path === row.path);
        lines.push(`| ${r.bench}: ${row.path} (${row.unit}) | ${fmt(old?.ours)} | ${ratio(old?.ratio)} | ${fmt(row.ours)} | ${ratio(row.ratio)} | ${old ? ratio(row.ours / old.ours) : '-'} |`);
      }
    }
  }
  lines.push('', '## Commands', '');
  for (const r of results) lines.push(`- ${r.bench}: \`${r.command}\` (app: ${r.app}; exit ${exits[r.bench] ?? 'not run'})`);
  return `${lines.join('\n')}\n`;
}

function plots(dir: string, results: ResultFile[]): string[] {
  const written: string[] = [];
  const realtime = results.find((r) => r.bench === 'realtime');
  if (realtime?.latencyCdf) {
    const file = path.join(dir, 'realtime-latency.svg');
    writeFileSync(file, lineChart({ title: 'Fan-out delivery latency (cumulative share of deliveries)', xLabel: 'ms from the POST', yLabel: 'share delivered', series: Object.entries(realtime.latencyCdf).map(([name, points]) => ({ name, points })) }));
    written.push(file);
  }
  return written;
}

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  mkdirSync(opts.out, { recursive: true });
  const selected = BENCHES.filter((b) => !opts.only || opts.only.includes(b.name));
  if (selected.length === 0) throw new Error(`--only matches none of ${BENCHES.map((b) => b.name).join(', ')}`);
  log(`machine: ${machineInfo()}`);
  const exits: Record<string, number | null> = {};
  for (const spec of selected) {
    if (!existsSync(path.join(ROOT, spec.script))) {
      log(`${spec.name}: ${spec.script} is missing, skipped`);
      continue;
    }
    const started = Date.now();
    exits[spec.name] = await runOne(spec, opts);
    log(`${spec.name}: exit ${exits[spec.name]} after ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  const results = readResults(opts.out, selected.map((s) => s.name));
  const before = opts.compare ? readResults(opts.compare, selected.map((s) => s.name)) : undefined;
  writeFileSync(path.join(opts.out, 'bench.json'), `${JSON.stringify({ at: new Date().toISOString(), machine: machineInfo(), exits, results }, null, 2)}\n`);
  const md = markdown(results, exits, before);
  writeFileSync(path.join(opts.out, 'bench.md'), md);
  const svgs = plots(opts.out, results);
  console.log(`\n${md}`);
  log(`written: ${['bench.json', 'bench.md', ...svgs.map((f) => path.basename(f))].map((f) => path.join(path.relative(process.cwd(), opts.out), f)).join(', ')}`);
  return Object.values(exits).every((code) => code === 0) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
