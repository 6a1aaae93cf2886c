/**
 * A diary written -> COMPLETED on the writer's socket, through the whole pipeline, at fixed rates:
 *   npx tsx bench/pipeline-latency.ts [--rates 10,100,500] [--duration 10] [--users 50] [--warmup 30] [--warmup-rate 50] [--timeout 300]
 *
 * Starts the services in a temp dir (or uses *_URL), migrates, creates --users users with tokens,
 * runs one `api` (REST, Socket.IO, outbox relay, status consumer) and one `worker` as child
 * processes (production profile on loopback), connects one socket per user that acks every
 * `analysis:status`, and taps the request and status topics with a consumer group of its own
 * (latest offsets). Then, per rate, POSTs --duration s of entries open-loop (each send is
 * scheduled by the clock, never by an earlier response) round-robin over the users and waits for
 * every COMPLETED on its writer's socket. Each entry is timed at six points:
 *   sent (client) -> response (client) -> request on Kafka (relay's CreateTime) -> PROCESSING
 *   produced (worker's CreateTime) -> COMPLETED produced -> COMPLETED on the socket (client),
 * giving five hops that add up to the end-to-end time. Writes bench/results/pipeline.json.
 * Exits 1 if an entry is refused, not COMPLETED on its socket within --timeout s of the phase's
 * last send, lands on another user's socket, FAILED, or a process or socket died.
 */
import type * as mariadb from 'mariadb';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadConfig, type AppConfig } from '../config/index.js';
import { topicNames } from '../kernel/contracts/analysis-events.js';
import { createLogger } from '../kernel/logger.js';
import { runMigrate } from '../src/cli/migrate-command.js';
import {
  createBenchUsers,
  freePort,
  log,
  machineInfo,
  metricValue,
  numericArgs,
  onCleanup,
  runBench,
  sleep,
  spawnApp,
  startBenchServices,
  waitForHttp,
  withTimeout,
  openBenchDb,
  writeBenchResults,
  type AppChild,
  type BenchRow,
} from './bench-support.js';
import { cpuBetween, cpuSnapshot } from './cpu-usage.js';
import { createDiaryTexts } from './diary-texts.js';
import { fmt, formatShares, hopSummary, pct, report, round1, sharesOfMedian, stageParts, type Entry, type PhaseResult, type Timeline } from './pipeline-report.js';
import { connectUsers, tapPipeline, type KafkaSeen, type UserSockets } from './pipeline-taps.js';

const USAGE = `usage: npx tsx bench/pipeline-latency.ts [--rates 10,100,500] [--duration 10] [--users 50] [--warmup 30] [--warmup-rate 50] [--timeout 300]
  --rates      entries/s of each phase, comma-separated, run one after the other
  --duration   seconds of sending per phase
  --users      users, one connected socket each; the entries go round-robin over them
  --warmup     seconds of entries written before the first phase and waited for; not measured.
               Every process starts cold: the broker's JVM compiles for its first minute or so and
               Node's JIT for its first thousands of calls, so a short warm-up measures compilers
               (a cold run at 50/s showed p50 70 ms and the broker at 0.46 cores, the third warm
               phase 16 ms and 0.16)
  --warmup-rate  entries/s of the warm-up
  --timeout    seconds after a phase's last send within which every COMPLETED must be on its socket`;

runBench('pipeline-latency', async () => {
  const { rates, rest } = ratesArg(process.argv.slice(2), [10, 100, 500]);
  const args = numericArgs(rest, { duration: 10, users: 50, warmup: 30, warmupRate: 50, timeout: 300 }, USAGE);
  if (args.duration <= 0 || args.users < 1 || args.timeout <= 0) throw new Error(`--duration, --users and --timeout must be positive\n${USAGE}`);
  const profile = process.env.BENCH_PROFILE ?? 'production';
  const machine = machineInfo();
  log(machine);

  const bench = await startBenchServices('pipe', { profile });
  const port = await freePort();
  const apiEnv = { PORT: String(port), METRICS_PORT: String(await freePort()), INSTANCE_ID: 'bench-api' };
  const workerEnv = { METRICS_PORT: String(await freePort()), INSTANCE_ID: 'bench-worker' };
  const config = loadConfig({ ...bench.env, ...apiEnv });
  const topics = topicNames(config.kafka.topicPrefix);

  log(`migrating ${bench.namespace}`);
  await withTimeout(runMigrate(config, createLogger(config, 'bench'), 'up'), 120_000, 'migrate');
  const db = await openBenchDb(config);
  onCleanup('bench mariadb connection', () => db.end().catch(() => undefined));
  const users = await createUsers(db, config, args.users);
  log(`${users.length} users with access tokens`);

  // The worker first: it creates the topics, which the API's status consumer subscribes to.
  const worker = spawnApp(bench, 'worker', 'worker', workerEnv);
  await waitForHttp(`http://127.0.0.1:${workerEnv.METRICS_PORT}/healthz`, worker, 90_000, path.join(bench.rootDir, 'logs', 'worker.log'));
  const api = spawnApp(bench, 'api', 'api', apiEnv);
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${baseUrl}/readyz`, api, 90_000, path.join(bench.rootDir, 'logs', 'api.log'));
  log(`api ready at ${baseUrl} (pid ${api.pid}), worker pid ${worker.pid}, profile ${profile}, ${config.kafka.partitions} partitions`);
  const died = watchExits({ api, worker });

  const kafka = await tapPipeline(config.kafka.brokers, topics, `${bench.namespace}-pipeline-tap-${randomUUID().slice(0, 8)}`);
  const sockets = await connectUsers(baseUrl, users, 10, 20_000);
  log(`${users.length} sockets connected; Kafka tap on ${topics.analysisRequested} and ${topics.analysisStatus}`);

  const nextText = createDiaryTexts(13);
  const bodies = Array.from({ length: 1000 }, () => {
    const { title, content } = nextText();
    return JSON.stringify({ title, content });
  });
  let written = 0;
  const runPhase = (rate: number, count: number) => sendAtRate(baseUrl, users, bodies, rate, count, args.timeout * 1000, () => written++);

  if (args.warmup > 0 && args.warmupRate > 0) {
    log(`warm-up: ${args.warmupRate} entries/s for ${args.warmup} s, not measured`);
    const warm = await runPhase(args.warmupRate, Math.max(1, Math.round(args.warmup * args.warmupRate)));
    await waitForPhase(warm, kafka, sockets, args.timeout * 1000, died, false);
    if (warm.some((e) => !e.diaryId || !sockets.seen.get(e.diaryId)?.completedSeenAt)) throw new Error('warm-up: not every entry reached COMPLETED on its socket');
  }

  const results: PhaseResult[] = [];
  for (const rate of rates) {
    const count = Math.max(1, Math.round(rate * args.duration));
    log(`${rate} entries/s for ${args.duration} s (${count} entries over ${users.length} users)`);
    const cpuBefore = cpuSnapshot();
    const countersBefore = await apiCounters(baseUrl);
    const locksBefore = await rowLocks(db);
    const entries = await runPhase(rate, count);
    const sentRate = (count * 1000) / Math.max(1, entries.at(-1)!.sentAt - entries[0]!.sentAt + 1000 / rate);
    await waitForPhase(entries, kafka, sockets, args.timeout * 1000, died, true);
    const cpu = cpuBetween(cpuBefore, cpuSnapshot());
    const locksAfter = await rowLocks(db);
    const apiDelta = { ...apiBetween(countersBefore, await apiCounters(baseUrl)), rowLockWaits: locksAfter.waits - locksBefore.waits, rowLockMs: locksAfter.ms - locksBefore.ms };
    results.push(summarize(rate, entries, sentRate, kafka, sockets, users, cpu, apiDelta));
    const r = results.at(-1)!;
    log(`${rate}/s: ${r.timelines.length}/${count} complete, e2e p50 ${fmt(pct(r.timelines.map((t) => t.e2e), 50))} ms p99 ${fmt(pct(r.timelines.map((t) => t.e2e), 99))} ms`);
    // Let the API's and worker's queues and the stores settle before the next rate.
    await sleep(2_000);
  }
  sockets.close();

  report(results, { machine, users: users.length, duration: args.duration, partitions: config.kafka.partitions, config, mongo: bench.services.started.mongo?.flavour ?? 'MONGO_URL' });
  const rows = results.flatMap((r): BenchRow[] => {
    const e2e = r.timelines.map((t) => t.e2e);
    const detail = `${r.timelines.length}/${r.entries.length} entries COMPLETED on their sockets, sent ${r.sentRate.toFixed(1)}/s; share of the median: ${formatShares(sharesOfMedian(r.timelines, stageParts))}`;
    return [
      { path: `diary written -> COMPLETED on the socket, p50, ${r.rate} entries/s`, unit: 'ms', ours: round1(pct(e2e, 50)), better: 'lower', detail },
      { path: `diary written -> COMPLETED on the socket, p99, ${r.rate} entries/s`, unit: 'ms', ours: round1(pct(e2e, 99)), better: 'lower', detail },
    ];
  });
  writeBenchResults('pipeline', rows, { hops: results.map(hopSummary) });

  const problems: string[] = [];
  for (const r of results) {
    const refused = r.entries.filter((e) => e.status !== 201);
    if (refused.length > 0) {
      const kinds = new Map<string, number>();
      for (const e of refused) {
        const kind = e.status !== undefined ? `${e.status} ${/"code":"([^"]+)"/.exec(e.error ?? '')?.[1] ?? ''}`.trim() : (e.error ?? 'no answer').slice(0, 80);
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
      problems.push(`${r.rate}/s: ${refused.length} POSTs not answered 201 (${[...kinds].map(([kind, n]) => `${n}x ${kind}`).join(', ')})`);
    }
    if (r.missing.socket > 0) problems.push(`${r.rate}/s: ${r.missing.socket} of ${r.entries.length} entries not COMPLETED on a socket within ${args.timeout} s of the last send`);
    if (r.missing.kafka > 0) problems.push(`${r.rate}/s: ${r.missing.kafka} entries without their request, PROCESSING or COMPLETED seen on Kafka`);
    if (r.wrongSocket > 0) problems.push(`${r.rate}/s: ${r.wrongSocket} COMPLETED delivered to another user's socket`);
    if (r.failed > 0) problems.push(`${r.rate}/s: ${r.failed} analyses FAILED`);
  }
  const dropped = sockets.disconnects();
  if (Object.keys(dropped).length > 0) problems.push(`sockets dropped during the run: ${JSON.stringify(dropped)}`);
  for (const problem of problems) console.error(`FAIL ${problem}`);
  log(`${written} entries written in all`);
  return problems.length > 0 ? 1 : 0;
});

/** Pulls `--rates a,b,c` out of argv (numericArgs takes only single numbers). */
function ratesArg(argv: string[], defaults: number[]): { rates: number[]; rest: string[] } {
  const rest: string[] = [];
  let rates = defaults;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg !== '--rates' && !arg.startsWith('--rates=')) {
      rest.push(arg);
      continue;
    }
    const raw = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
    rates = (raw ?? '').split(',').map(Number);
    if (rates.length === 0 || rates.some((r) => !Number.isFinite(r) || r <= 0 || r > 5_000)) throw new Error(`--rates needs comma-separated entries/s in (0, 5000]\n${USAGE}`);
  }
  return { rates, rest };
}



/** MariaDB's row-lock counters (server-wide; this bench's own queries take no locks). */
async function rowLocks(db: mariadb.Connection): Promise<{ waits: number; ms: number }> {
  const rows = (await db.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits', 'Innodb_row_lock_time')")) as Array<{ Variable_name: string; Value: string }>;
  const value = (name: string) => Number(rows.find((r) => r.Variable_name === name)?.Value ?? 0);
  return { waits: value('Innodb_row_lock_waits'), ms: value('Innodb_row_lock_time') };
}

async function createUsers(db: mariadb.Connection, config: AppConfig, count: number): Promise<Array<{ userId: string; token: string }>> {
  // The daily limit (50 a day by default) would refuse most entries. Raised, not disabled, so
  // every create still pays for the check it pays for in production.
  await db.query("UPDATE settings_options SET default_value = '1000000' WHERE `key` = 'diary.maxPerDay'");
  return createBenchUsers(config, 'pipe', count);
}

/**
 * Sends `count` POSTs at `rate`/s, each at its due time (start + i/rate) whether or not earlier
 * ones were answered, round-robin over the users; resolves when all are sent (not answered).
 */
async function sendAtRate(baseUrl: string, users: Array<{ token: string }>, bodies: string[], rate: number, count: number, timeoutMs: number, onSent: () => number): Promise<Entry[]> {
  const entries: Entry[] = [];
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const dueAt = started + (i * 1000) / rate;
    if (dueAt > Date.now()) await sleep(dueAt - Date.now());
    const n = onSent();
    const entry: Entry = { userIndex: n % users.length, sentAt: Date.now(), dueAt };
    entries.push(entry);
    void fetch(`${baseUrl}/api/v1/diaries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${users[entry.userIndex]!.token}`, 'content-type': 'application/json' },
      body: bodies[n % bodies.length],
      // Above the API's capacity the answers queue; a slow answer is measured, not abandoned.
      signal: AbortSignal.timeout(timeoutMs),
    }).then(
      async (res) => {
        const body = (await res.json().catch(() => undefined)) as { id?: string | number; detail?: string } | undefined;
        entry.respondedAt = Date.now();
        entry.status = res.status;
        if (res.status === 201 && body?.id !== undefined) entry.diaryId = String(body.id);
        else entry.error = JSON.stringify(body).slice(0, 200);
      },
      (err: unknown) => {
        entry.respondedAt = Date.now();
        // fetch says only "fetch failed"; the reason (a connect timeout, a reset) is its cause.
        const cause = err instanceof Error && err.cause instanceof Error ? `: ${(err.cause as Error & { code?: string }).code ?? err.cause.message}` : '';
        entry.error = `${err instanceof Error ? err.message : String(err)}${cause}`;
      },
    );
  }
  return entries;
}

/** Rejects as soon as the api or the worker exits, so a wait does not run into its timeout. */
function watchExits(children: Record<string, AppChild>): { check(): void } {
  let gone: string | undefined;
  for (const [name, child] of Object.entries(children)) void child.exited.then((code) => (gone ??= `${name} exited with code ${code}`));
  return {
    check() {
      if (gone) throw new Error(gone);
    },
  };
}

/**
 * Waits until every entry was answered and, for the created ones, its COMPLETED is on a socket
 * and (when `needKafka`) its request, PROCESSING and COMPLETED were seen on Kafka; at most
 * `timeoutMs` after the phase's last send. A FAILED analysis ends the wait early.
 */
async function waitForPhase(entries: Entry[], kafka: Map<string, KafkaSeen>, sockets: UserSockets, timeoutMs: number, died: { check(): void }, needKafka: boolean): Promise<void> {
  const deadline = entries.at(-1)!.sentAt + timeoutMs;
  const pending = (e: Entry) => {
    if (e.respondedAt === undefined) return true;
    if (!e.diaryId) return false;
    if (sockets.seen.get(e.diaryId)?.failed || kafka.get(e.diaryId)?.failed) return false;
    if (!sockets.seen.get(e.diaryId)?.completedSeenAt) return true;
    const k = kafka.get(e.diaryId);
    return needKafka && (k?.requestedAt === undefined || k.processingAt === undefined || k.completedAt === undefined);
  };
  let left = entries.filter(pending);
  while (left.length > 0 && Date.now() < deadline) {
    died.check();
    await sleep(50);
    left = left.filter(pending);
  }
}

function summarize(rate: number, entries: Entry[], sentRate: number, kafka: Map<string, KafkaSeen>, sockets: UserSockets, users: Array<{ userId: string }>, cpu: Array<[string, number]>, api: PhaseResult['api']): PhaseResult {
  const timelines: Timeline[] = [];
  const missing = { response: 0, kafka: 0, socket: 0 };
  let wrongSocket = 0;
  let failed = 0;
  let requestCopies = 0;
  let firstSeen = Infinity;
  let lastSeen = 0;
  const processingGatewayMs: number[] = [];
  let completedBehindProcessing = 0;
  for (const e of entries) {
    if (e.respondedAt === undefined || !e.diaryId) {
      missing.response++;
      continue;
    }
    const k = kafka.get(e.diaryId);
    const s = sockets.seen.get(e.diaryId);
    if (k?.failed || s?.failed) failed++;
    if (s?.completedSeenAt === undefined) missing.socket++;
    else if (s.completedUserId !== users[e.userIndex]!.userId) wrongSocket++;
    requestCopies += Math.max(0, k?.requestCopies ?? 0);
    if (k?.requestedAt === undefined || k.processingAt === undefined || k.completedAt === undefined) {
      missing.kafka++;
      continue;
    }
    if (s?.completedSeenAt === undefined) continue;
    firstSeen = Math.min(firstSeen, s.completedSeenAt);
    lastSeen = Math.max(lastSeen, s.completedSeenAt);
    if (s.processingSeenAt !== undefined) {
      processingGatewayMs.push(s.processingSeenAt - k.processingAt);
      if (k.completedAt < s.processingSeenAt) completedBehindProcessing++;
    }
    timelines.push({
      e2e: s.completedSeenAt - e.sentAt,
      hops: {
        api: e.respondedAt - e.sentAt,
        relay: k.requestedAt - e.respondedAt,
        workerPickup: k.processingAt - k.requestedAt,
        workerAnalysis: k.completedAt - k.processingAt,
        gatewayStore: (s.completedStoredAt ?? s.completedSeenAt) - k.completedAt,
        gatewayDeliver: s.completedSeenAt - (s.completedStoredAt ?? s.completedSeenAt),
      },
    });
  }
  const maxLagMs = Math.max(...entries.map((e) => e.sentAt - e.dueAt));
  return { rate, entries, sentRate, maxLagMs, timelines, missing, wrongSocket, failed, requestCopies, cpu, api, processingGatewayMs, completedBehindProcessing, completedPerSec: completionRate(timelines.length, firstSeen, lastSeen, rate) };
}

/**
 * Completions per second between the first and the last one (n - 1 intervals); a pipeline that
 * keeps up completes at the sending rate, one that does not at its own ceiling.
 */
function completionRate(n: number, first: number, last: number, rate: number): number {
  if (n < 2) return Number.NaN;
  return ((n - 1) * 1000) / Math.max(1000 / rate, last - first);
}

interface ApiCounters {
  postSeconds: number;
  posts: number;
  gateway: Record<string, number>;
}

async function apiCounters(baseUrl: string): Promise<ApiCounters> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) throw new Error(`api GET /metrics answered ${res.status}`);
  const text = await res.text();
  const labels = { method: 'POST', route: '/api/v1/diaries' };
  return {
    postSeconds: metricValue(text, 'http_request_duration_seconds_sum', labels),
    posts: metricValue(text, 'http_request_duration_seconds_count', labels),
    gateway: Object.fromEntries(['applied', 'superseded', 'duplicate', 'stale', 'orphan', 'invalid', 'error'].map((outcome) => [outcome, metricValue(text, 'kafka_messages_consumed_total', { group: 'realtime-gateway', outcome })])),
  };
}

function apiBetween(before: ApiCounters, after: ApiCounters): Omit<PhaseResult['api'], 'rowLockWaits' | 'rowLockMs'> {
  const posts = after.posts - before.posts;
  return {
    postServerMeanMs: posts > 0 ? ((after.postSeconds - before.postSeconds) / posts) * 1000 : Number.NaN,
    gatewayOutcomes: Object.fromEntries(Object.entries(after.gateway).map(([k, v]) => [k, v - (before.gateway[k] ?? 0)]).filter(([, v]) => v !== 0)),
  };
}
