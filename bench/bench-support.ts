/**
 * Plumbing shared by the benchmark scripts: the backing services in a temp dir, the app processes
 * (`src/main.ts api|worker`) as children, one cleanup path for normal ends, failures and Ctrl-C,
 * and the small numeric and printing helpers. Benchmarks are never part of `npm test`.
 */
import { Kafka, logLevel } from 'kafkajs';
import * as mariadb from 'mariadb';
import mongoose from 'mongoose';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem, availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startLocalServices, startProcess, waitFor, type LocalServices } from '../scripts/services/index.js';
import type { AppConfig } from '../config/index.js';
import { createAccessTokens, type AccessTokens } from '../src/auth/access-tokens.js';
import type { TokenRevocation } from '../src/auth/token-revocation.js';
import { waitUntil } from '../kernel/wait.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The checkout whose app (`src/main.ts`) the benches run: this one, or `BENCH_APP_DIR` (another
 * checkout, for example an older commit in a worktree, to measure before and after in one run with
 * the same bench code and baselines).
 */
export const APP_ROOT = process.env.BENCH_APP_DIR ? path.resolve(process.env.BENCH_APP_DIR) : ROOT;

/** Cleanup steps, run in reverse order of registration, once, however the run ends. */
const cleanups: Array<{ what: string; run: () => Promise<unknown> }> = [];
let cleaning: Promise<void> | undefined;

export function onCleanup(what: string, run: () => Promise<unknown>): void {
  cleanups.push({ what, run });
}

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      await withTimeout(step.run(), 45_000, `cleanup: ${step.what}`).catch((err: unknown) => console.error(`[bench] ${errorText(err)}`));
    }
  })();
  return cleaning;
}

let signalled = false;
/**
 * Ctrl-C / SIGTERM: stop everything we started, then exit 130; a second signal exits at once
 * (the process hooks of scripts/services still SIGKILL every server then).
 */
export function installSignalHandlers(): void {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (signalled) process.exit(130);
      signalled = true;
      console.error(`\n[bench] ${signal}: stopping processes`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}

/** Runs `main`, always cleans up, and exits with its code (1 on an error). */
export function runBench(name: string, main: () => Promise<number>): void {
  installSignalHandlers();
  // A client whose server went away first (Ctrl-C reaches the servers too) may throw from an
  // event handler; the run is over then, but the cleanup must still happen.
  process.on('uncaughtException', (err) => {
    if (!signalled) console.error(`[${name}] failed: ${errorText(err)}`);
    void cleanup().finally(() => process.exit(signalled ? 130 : 1));
  });
  void main()
    .catch((err: unknown) => {
      console.error(`[${name}] failed: ${errorText(err)}`);
      return 1;
    })
    .then(async (code) => {
      await cleanup();
      process.exit(code);
    });
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function log(message: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 23)}] ${message}`);
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value that is not undefined; throws after the timeout. */
export const poll = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T> => waitUntil(what, check, timeoutMs, everyMs);

export interface BenchServices {
  /** Unique name of this run: MariaDB and MongoDB database, Kafka topic prefix, Redis key prefix. */
  namespace: string;
  rootDir: string;
  /** Environment for `src/main.ts` children and for `loadConfig` in this process. */
  env: Record<string, string>;
  services: LocalServices;
}

const UNUSED = { MARIADB_URL: 'mariadb://root@127.0.0.1:9/unused', REDIS_URL: 'redis://127.0.0.1:9' };

/**
 * Starts the backing services in a temp dir (those given by *_URL are used as they are) and
 * builds the process environment of a production-profile deployment on loopback. `only` limits
 * which services are started: the worker needs only Kafka and the MongoDB-wire server.
 */
export async function startBenchServices(label: string, options: { only?: Array<'mariadb' | 'redis'> | 'all'; profile: string }): Promise<BenchServices> {
  const namespace = `bench_${label}_${randomBytes(3).toString('hex')}`;
  const rootDir = mkdtempSync(path.join(tmpdir(), `emotion-diary-bench-`));
  onCleanup('temp dir', async () => {
    if (process.env.KEEP_BENCH_DATA) log(`data and logs kept in ${rootDir}`);
    else rmSync(rootDir, { recursive: true, force: true });
  });
  const only = options.only ?? 'all';
  // Services the benchmark does not need get a placeholder URL so they are not started;
  // the config schema still wants a well-formed URL for them.
  const env = { ...process.env };
  if (only !== 'all') {
    if (!only.includes('mariadb')) env.MARIADB_URL ??= UNUSED.MARIADB_URL;
    if (!only.includes('redis')) env.REDIS_URL ??= UNUSED.REDIS_URL;
  }
  log(`starting services in ${rootDir}`);
  const started = Date.now();
  const services = await startLocalServices({ rootDir, env });
  onCleanup('services', () => services.stop());
  const external = Object.entries(services.urls)
    .filter(([name]) => process.env[name])
    .map(([name]) => name);
  log(`services ready in ${Date.now() - started} ms (mongo-wire: ${services.started.mongo?.flavour ?? 'external'}${external.length ? `; external: ${external.join(', ')}` : ''})`);

  const withDb = (url: string) => {
    const u = new URL(url);
    u.pathname = `/${namespace}`;
    return u.toString();
  };
  const childEnv: Record<string, string> = {
    APP_PROFILE: options.profile,
    MARIADB_URL: withDb(services.urls.MARIADB_URL),
    MONGO_URL: withDb(services.urls.MONGO_URL),
    REDIS_URL: services.urls.REDIS_URL,
    REDIS_KEY_PREFIX: `${namespace}:`,
    KAFKA_BROKERS: services.urls.KAFKA_BROKERS,
    KAFKA_TOPIC_PREFIX: `${namespace}.`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
    // One broker: the production profile's 3 replicas (2 in sync) cannot be placed.
    APP__KAFKA__REPLICATION_FACTOR: '1',
    APP__KAFKA__MIN_IN_SYNC_REPLICAS: '1',
  };
  // Profile-level settings the operator passes as APP__* variables reach the children and this
  // process's own loadConfig alike.
  for (const [name, value] of Object.entries(process.env)) if (name.startsWith('APP__') && value !== undefined) childEnv[name] = value;
  // Services given by *_URL outlive the run: remove what it wrote there (temp-dir ones just go).
  if (process.env.MARIADB_URL && (only === 'all' || only.includes('mariadb'))) onCleanup('bench database', () => dropMariaDb(childEnv.MARIADB_URL!));
  if (process.env.MONGO_URL) onCleanup('bench mongo database', () => dropMongo(childEnv.MONGO_URL!));
  if (process.env.KAFKA_BROKERS) onCleanup('bench topics', () => dropTopics(childEnv.KAFKA_BROKERS!, childEnv.KAFKA_TOPIC_PREFIX!));
  return { namespace, rootDir, env: childEnv, services };
}

async function dropMariaDb(url: string): Promise<void> {
  const u = new URL(url);
  const conn = await mariadb.createConnection({ host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${u.pathname.slice(1)}\``);
  } finally {
    await conn.end();
  }
}

async function dropMongo(url: string): Promise<void> {
  const conn = await mongoose.createConnection(url, { serverSelectionTimeoutMS: 5_000 }).asPromise();
  try {
    await conn.dropDatabase();
  } finally {
    await conn.close();
  }
}

async function dropTopics(brokers: string, prefix: string): Promise<void> {
  const admin = new Kafka({ clientId: 'bench-cleanup', brokers: brokers.split(','), logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

export interface AppChild {
  pid: number;
  /** Resolves with the exit code when the process ends (for early-exit detection). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/**
 * Runs `node --import tsx src/main.ts <command>` under the services' watchdog (killed even if this
 * process is SIGKILLed), its output in `<rootDir>/logs/<name>.log`.
 */
export function spawnApp(bench: BenchServices, name: string, command: string, extraEnv: Record<string, string>): AppChild {
  // BENCH_CPU_PROF=<dir>: V8 CPU profiles of the app process, one file per thread (the main
  // thread's is the large one; tsx's loader thread writes another), in <dir>/<name>/ on stop.
  const profileArgs = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF, name)}`] : [];
  const proc = startProcess(name, process.execPath, [...profileArgs, '--import', 'tsx', path.join(APP_ROOT, 'src/main.ts'), command], {
    cwd: APP_ROOT,
    logFile: path.join(bench.rootDir, 'logs', `${name}.log`),
    env: { ...bench.env, ...extraEnv },
  });
  const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
  onCleanup(name, () => proc.stop(15_000));
  return { pid: proc.child.pid ?? -1, exited, stop: () => proc.stop(15_000) };
}

/** Waits until `url` answers 200, failing early if the child exits. */
export async function waitForHttp(url: string, child: AppChild, timeoutMs: number, logFile: string): Promise<void> {
  let exitCode: number | null | undefined;
  void child.exited.then((code) => (exitCode = code));
  await waitFor(
    url,
    async () => {
      if (exitCode !== undefined) throw new Error(`process exited with code ${exitCode} before it was ready; see ${logFile}`);
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      return res.status === 200;
    },
    timeoutMs,
  ).catch((err: unknown) => {
    throw new Error(`${errorText(err)} (log: ${logFile})`);
  });
  if (exitCode !== undefined) throw new Error(`process exited with code ${exitCode}; see ${logFile}`);
}

export { freePort };

/**
 * Reads a value from a Prometheus text exposition: the sum over every series of that name whose
 * labels include all of `labels`.
 */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (match[2] ?? '').includes(`${k}="${v}"`))) sum += Number(match[3]);
  }
  return sum;
}

export function machineInfo(): string {
  const cpu = cpus()[0];
  const [l1, l5] = loadavg();
  return [
    `node ${process.version} on ${process.platform}/${process.arch}`,
    `nproc ${availableParallelism()} (${cpu?.model ?? 'unknown CPU'}${cpu?.speed ? ` @ ${cpu.speed} MHz` : ''})`,
    `memory ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `load average ${l1?.toFixed(2)} / ${l5?.toFixed(2)} (1 / 5 min) before the run`,
  ].join('; ');
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** A plain text table with right-aligned numeric columns. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: Array<string | number>) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]!) : String(c).padStart(widths[i]!))).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '-';
  if (Number.isInteger(n)) return String(n);
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1);
}

/** `--name value` / `--name=value` options (numbers >= 0) with defaults; unknown options are refused. */
export function numericArgs<K extends string>(argv: string[], defaults: Record<K, number>, usage: string): Record<K, number> {
  const out = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      console.log(usage);
      process.exit(0);
    }
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    const key = match?.[1]?.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!match || !key || !(key in defaults)) throw new Error(`unknown option ${arg}\n${usage}`);
    const raw = match[2] ?? argv[++i];
    const value = Number(raw);
    if (raw === undefined || !Number.isFinite(value) || value < 0) throw new Error(`--${match[1]} needs a number >= 0\n${usage}`);
    out[key as K] = value;
  }
  return out;
}

/** `issue` never consults revocation: the benchmarks sign tokens without a Redis connection. */
const noRevocation: TokenRevocation = {
  revokeUser: () => Promise.reject(new Error('not available in the benchmark')),
  revokeSession: () => Promise.reject(new Error('not available in the benchmark')),
  isRevoked: () => Promise.resolve(false),
};

/**
 * Signs access tokens the API accepts, valid for a day so a long run does not outlive them (the
 * API checks `exp`, not the configured TTL).
 */
export function benchTokenIssuer(jwt: AppConfig['auth']['jwt']): AccessTokens {
  return createAccessTokens({ ...jwt, accessTtlSec: 86_400 }, noRevocation);
}

/** One figure of a bench: ours against the least the stack can do, measured in the same run. */
export interface BenchRow {
  /** What is measured, for example "REST create, 50 connections". */
  path: string;
  /** Unit of `ours` and `baseline`, for example "req/s", "KiB/socket", "ms p99". */
  unit: string;
  ours: number;
  /** The same-run baseline (bare stack), when there is one. */
  baseline?: number;
  /** Which system `baseline` is, for example "bare Koa, same pool and transaction". */
  baselineName?: string;
  /** Whether a higher or a lower figure is better; decides how the ratio reads. */
  better: 'higher' | 'lower';
  /** The target the issue sets, in words, for example ">= 0.5x bare and >= 1,000 req/s". */
  target?: string;
  /** The target as numbers: at least (better higher) or at most (lower) this ratio to the baseline... */
  targetRatio?: number;
  /** ...and this absolute figure. */
  targetValue?: number;
  /** Whether the target is met (left out when there is none; computed from the two above if they are given). */
  met?: boolean;
  /** Anything else worth one line: latency, CPU, statements per request. */
  detail?: string;
}

/** ours / baseline, rounded to two decimals, or undefined without a baseline. */
export function ratioOf(row: Pick<BenchRow, 'ours' | 'baseline'>): number | undefined {
  return row.baseline && Number.isFinite(row.baseline) ? Math.round((row.ours / row.baseline) * 100) / 100 : undefined;
}

/** Whether a row meets its numeric target, or undefined when it has none. */
export function targetMet(row: BenchRow): boolean | undefined {
  if (row.targetRatio === undefined && row.targetValue === undefined) return undefined;
  const ratio = ratioOf(row);
  const ok = (value: number | undefined, target: number | undefined) =>
    target === undefined || (value !== undefined && (row.better === 'higher' ? value >= target : value <= target));
  return ok(ratio, row.targetRatio) && ok(row.ours, row.targetValue);
}

/**
 * Writes `bench/results/<name>.json` (or into `BENCH_RESULTS_DIR`): the rows, with their ratios, the
 * command line, the machine and which app checkout ran. `npm run bench` collects these files into
 * one table.
 */
export function writeBenchResults(name: string, rows: BenchRow[], extra: Record<string, unknown> = {}): string {
  const dir = process.env.BENCH_RESULTS_DIR ? path.resolve(process.env.BENCH_RESULTS_DIR) : path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const body = {
    bench: name,
    at: new Date().toISOString(),
    command: ['npx tsx', path.relative(ROOT, process.argv[1] ?? name), ...process.argv.slice(2)].join(' '),
    app: APP_ROOT === ROOT ? 'this checkout' : APP_ROOT,
    machine: machineInfo(),
    rows: rows.map((row) => ({ ...row, ratio: ratioOf(row), met: row.met ?? targetMet(row) })),
    ...extra,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  log(`results written to ${path.relative(process.cwd(), file)}`);
  return file;
}

/** A plain MariaDB connection to the bench's database (users and rows made straight in SQL). */
export async function openBenchDb(config: AppConfig): Promise<mariadb.Connection> {
  const url = new URL(config.mariadb.url);
  const db = await mariadb.createConnection({
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: url.pathname.slice(1),
    bigIntAsNumber: true,
  });
  db.on('error', (err: Error) => log(`mariadb connection: ${err.message}`));
  return db;
}

/**
 * `count` ACTIVE users (plus `admins` administrators) written straight to the bench's database, each
 * with a day-long access token; names carry `prefix` and a run id.
 */
export async function createBenchUsers(config: AppConfig, prefix: string, count: number, admins = 0): Promise<Array<{ userId: string; role: 'USER' | 'ADMIN'; token: string }>> {
  const db = await openBenchDb(config);
  try {
    const run = randomUUID().slice(0, 8);
    const rows = Array.from({ length: count + admins }, (_, i) => [`${prefix}_${run}_${i}@example.test`, `${prefix}_${run}_${i}`, `${prefix} ${i}`, i < count ? 'USER' : 'ADMIN']);
    await db.batch("INSERT INTO users (email, username, nickname, role, status) VALUES (?, ?, ?, ?, 'ACTIVE')", rows);
    const saved = (await db.query('SELECT id, role FROM users WHERE username LIKE ? ORDER BY id', [`${prefix}\\_${run}\\_%`])) as Array<{ id: number; role: 'USER' | 'ADMIN' }>;
    if (saved.length !== count + admins) throw new Error(`expected ${count + admins} users, found ${saved.length}`);
    const tokens = benchTokenIssuer(config.auth.jwt);
    return saved.map((u) => ({ userId: String(u.id), role: u.role, token: tokens.issue({ userId: String(u.id), role: u.role, sessionId: randomUUID() }).accessToken }));
  } finally {
    await db.end();
  }
}
