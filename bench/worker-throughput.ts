/**
 * Throughput and latency of ONE emotion worker (offline analyzer), against the least a kafkajs
 * consumer can do with the same analyzer, in the same run:
 *   npx tsx bench/worker-throughput.ts [--count 10000] [--warmup-count 3000] [--rate 100] [--duration 20] [--warmup 5] [--timeout 300]
 *
 * Starts Kafka and the MongoDB-wire server in a temp dir (or uses KAFKA_BROKERS / MONGO_URL; the
 * worker needs neither MariaDB nor Redis), runs `src/main.ts worker` as a child process
 * (production profile, LOG_LEVEL=warn) and the bare consumer `bench/worker-bare-consumer.ts`
 * (same request topic and partitions, own consumer group, statuses to a topic of its own), then:
 *   (a) saturation: --warmup-count requests and then --count requests are on the topic before
 *       either starts; ours drains them alone, then the bare consumer drains the same requests
 *       (ours idle meanwhile). The first --warmup-count are not measured (each partition holds its
 *       share of them first): a process that has just started runs its analyzer and fetch path in
 *       its interpreter and baseline compiler for its first thousands of entries, which is not
 *       what a running worker costs. Analyses/s from the first to the last COMPLETED status event
 *       of the --count (the consumers' own timestamps); CPU per analysis of the consumer and of
 *       the Kafka broker over each drain;
 *   (b) fixed rate, one consumer at a time (the other SIGSTOPped): --warmup s at --rate, not
 *       measured (a fresh broker JVM is still compiling), then --rate requests/s for --duration s;
 *       latency from the request's `occurredAt` (set here when producing) to the moment this
 *       process sees its COMPLETED.
 * Each drain waits at most --timeout s and then reports what it has. Prints ours/bare ratios and
 * writes bench/results/worker.json. Exits 1 if a request FAILED or did not complete in time, or a
 * consumer died.
 */
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import type { AnalysisRequested } from '../kernel/contracts/analysis-events.js';
import { ensureTopics, topicLayout } from '../kernel/clients/kafka.js';
import { topicNames } from '../kernel/contracts/analysis-events.js';
import { startProcess } from '../scripts/services/index.js';
import {
  ROOT,
  freePort,
  log,
  machineInfo,
  numericArgs,
  onCleanup,
  percentile,
  poll,
  ratioOf,
  runBench,
  sleep,
  spawnApp,
  startBenchServices,
  table,
  waitForHttp,
  withTimeout,
  writeBenchResults,
  type AppChild,
  type BenchRow,
} from './bench-support.js';
import { TICKS_PER_SEC, cpuBetween, formatCpu, machineBusyTicks, treeTicksByRole } from './cpu-usage.js';
import { createDiaryTexts, type DiaryText } from './diary-texts.js';

const USAGE = 'usage: npx tsx bench/worker-throughput.ts [--count 10000] [--warmup-count 3000] [--rate 100] [--duration 20] [--warmup 5] [--timeout 300]   (0 skips a phase)';
/** Diary ids of phase (b) start here, so the two phases never share a diaryId. */
const FIXED_RATE_FIRST_ID = 1_000_001;
/** The saturation warm-up's requests: before the measured ones on every partition. */
const SATURATION_WARMUP_FIRST_ID = 2_000_001;
const SATURATION_TARGET = 2_000;
const P99_TARGET_MS = 100;

interface StatusSeen {
  /** When this process received the COMPLETED event (ms, local clock). */
  completedSeenAt?: number;
  /** The COMPLETED event's own occurredAt, stamped by the consumer (ms, same machine). */
  completedAt?: number;
  failed?: string;
}

type System = 'ours' | 'bare';

/** CPU roles of this bench's process tree: the two consumers apart, PostgreSQL apart from FerretDB. */
function roleOf(pid: number, cmd: string): string {
  if (pid === process.pid) return 'bench (load generator)';
  if (cmd.includes('worker-bare-consumer')) return 'bare';
  if (cmd.includes('src/main.ts')) return 'worker';
  if (cmd.includes('kafka.Kafka')) return 'kafka';
  if (cmd.includes('ferretdb') || cmd.includes('mongod')) return 'mongo-wire';
  if (cmd.includes('postgres')) return 'postgres';
  return 'other children';
}
const cpuSnapshot = () => (process.platform === 'linux' ? { at: Date.now(), ours: treeTicksByRole(roleOf), machineBusy: machineBusyTicks() } : undefined);
type CpuSnapshot = ReturnType<typeof cpuSnapshot>;
/** CPU seconds a role used between two snapshots. */
const cpuSecondsOf = (before: CpuSnapshot, after: CpuSnapshot, role: string) =>
  before && after ? Math.max(0, (after.ours.get(role) ?? 0) - (before.ours.get(role) ?? 0)) / TICKS_PER_SEC : Number.NaN;

interface Drain {
  completed: number;
  rate: number;
  firstTenth: number;
  lastTenth: number;
  spanMs: number;
  consumerUsPerAnalysis: number;
  brokerUsPerAnalysis: number;
  cpu: string;
  /** Analyses finished inside the CPU window. */
  cpuWindowAnalyses: number;
}

runBench('worker-throughput', main);

async function main(): Promise<number> {
  const args = numericArgs(process.argv.slice(2), { count: 10000, warmupCount: 3000, rate: 100, duration: 20, warmup: 5, timeout: 300 }, USAGE);
  if (args.timeout <= 0) throw new Error(`--timeout must be positive\n${USAGE}`);
  const profile = process.env.BENCH_PROFILE ?? 'production';
  const machine = machineInfo();
  log(machine);

  const bench = await startBenchServices('worker', { only: [], profile });
  const metricsPort = await freePort();
  const env = { ...bench.env, METRICS_PORT: String(metricsPort), INSTANCE_ID: 'bench-worker' };
  const config = loadConfig(env);
  const topics = topicNames(config.kafka.topicPrefix);
  const bareStatusTopic = `${topics.analysisStatus}.bare`;

  const kafka = new Kafka({ clientId: 'bench', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING, retry: { retries: 10, maxRetryTime: 2_000 } });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, topicLayout(config.kafka));
  await admin.createTopics({ waitForLeaders: false, topics: [{ topic: bareStatusTopic, numPartitions: config.kafka.partitions, replicationFactor: -1 }] });
  // A topic just created may not be served yet by the broker a client asks first.
  await poll(
    'topics served',
    async () => {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics: [...Object.values(topics), bareStatusTopic] }).catch(() => ({ topics: [] }));
      return meta.length === 4 && meta.every((t) => t.partitions.length === config.kafka.partitions && t.partitions.every((p) => p.leader >= 0)) ? true : undefined;
    },
    30_000,
  );
  await admin.disconnect();

  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  onCleanup('bench producer', () => producer.disconnect());
  const statuses = await tapStatuses(kafka, { ours: topics.analysisStatus, bare: bareStatusTopic });

  const nextText = createDiaryTexts(11);
  const texts = Array.from({ length: 2000 }, () => nextText());
  const request = (diaryId: number, at = Date.now()) => newRequest(diaryId, texts[diaryId % texts.length]!, at);
  const timeoutMs = args.timeout * 1000;
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [];
  const problems: string[] = [];
  const results: BenchRow[] = [];

  if (args.count > 0) {
    log(`pre-loading ${args.warmupCount} warm-up and ${args.count} measured analysis requests on ${topics.analysisRequested} (${config.kafka.partitions} partitions)`);
    const preload = async (firstId: number, count: number) => {
      for (let first = firstId; first < firstId + count; first += 500) {
        const batch = Array.from({ length: Math.min(500, firstId + count - first) }, (_, i) => request(first + i));
        await send(producer, topics.analysisRequested, batch);
      }
    };
    await preload(SATURATION_WARMUP_FIRST_ID, args.warmupCount);
    await preload(1, args.count);
  }
  const ids = Array.from({ length: args.count }, (_, i) => i + 1);

  /** (a) for one system: from its first COMPLETED (it is up and has partitions) to all of them. */
  async function drain(system: System, child: AppChild, logFile: string): Promise<Drain | undefined> {
    const seen = statuses[system];
    log(`(a) ${system}: draining ${args.count} requests (at most ${args.timeout} s)`);
    await poll(`first COMPLETED (${system})`, async () => (ids.some((id) => seen.get(String(id))?.completedAt) ? true : undefined), 90_000, 20);
    const before = cpuSnapshot();
    const missing = await waitForCompletion(seen, ids, child, timeoutMs, logFile);
    const after = cpuSnapshot();
    const done = ids.map((id) => seen.get(String(id))?.completedAt).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
    if (missing > 0) problems.push(`(a) ${system}: ${missing} of ${args.count} requests not COMPLETED within ${args.timeout} s`);
    if (done.length < 2) return undefined;
    const rate = (from: number, to: number) => (to > from && done[to]! > done[from]! ? ((to - from) * 1000) / (done[to]! - done[from]!) : Number.NaN);
    const decile = Math.max(1, Math.floor(done.length / 10));
    // CPU per analysis over the analyses the consumer finished between the snapshots, by its own
    // timestamps: the tap may see the first ones late and catch up, which shortens the window.
    const analysed = Math.max(1, done.filter((t) => before && after && t > before.at && t <= after.at).length);
    return {
      completed: done.length,
      rate: rate(0, done.length - 1),
      firstTenth: rate(0, decile),
      lastTenth: rate(done.length - 1 - decile, done.length - 1),
      spanMs: done.at(-1)! - done[0]!,
      consumerUsPerAnalysis: (cpuSecondsOf(before, after, system === 'ours' ? 'worker' : 'bare') * 1e6) / analysed,
      brokerUsPerAnalysis: (cpuSecondsOf(before, after, 'kafka') * 1e6) / analysed,
      cpu: formatCpu(cpuBetween(before, after)),
      cpuWindowAnalyses: analysed,
    };
  }

  const spawnedAt = Date.now();
  const worker = spawnApp(bench, 'worker', 'worker', env);
  const workerLog = path.join(bench.rootDir, 'logs', 'worker.log');
  await waitForHttp(`http://127.0.0.1:${metricsPort}/healthz`, worker, 90_000, workerLog);
  log(`worker started in ${Date.now() - spawnedAt} ms (pid ${worker.pid})`);
  const drains: Partial<Record<System, Drain>> = {};
  if (args.count > 0) drains.ours = await drain('ours', worker, workerLog);

  const bareLog = path.join(bench.rootDir, 'logs', 'bare.log');
  const bare = spawnBare({
    KAFKA_BROKERS: config.kafka.brokers.join(','),
    REQUEST_TOPIC: topics.analysisRequested,
    STATUS_TOPIC: bareStatusTopic,
    GROUP_ID: `${config.kafka.topicPrefix}bench-bare-worker`,
    PARTITIONS_CONCURRENTLY: String(config.worker.partitionsConcurrently),
  }, bareLog);
  if (args.count > 0 && problems.length === 0) drains.bare = await drain('bare', bare, bareLog);
  for (const system of ['ours', 'bare'] as const) {
    const d = drains[system];
    if (!d) continue;
    rows.push([`(a) ${system}, saturation, ${args.count} pre-loaded`, `${d.completed}/${args.count}`, d.rate, '-', '-', '-', '-', '-', d.consumerUsPerAnalysis, d.brokerUsPerAnalysis]);
    notes.push(
      `(a) ${system}: first to last COMPLETED ${(d.spanMs / 1000).toFixed(2)} s; first tenth ${d.firstTenth.toFixed(0)}/s, last tenth ${d.lastTenth.toFixed(0)}/s; ` +
        `CPU in cores of ${availableParallelism()} (over ${d.cpuWindowAnalyses} analyses): ${d.cpu}`,
    );
  }

  // (b) Fixed rate, both consumers on the same requests; pointless behind an undrained backlog.
  const latencies: Partial<Record<System, number[]>> = {};
  if (args.rate > 0 && args.duration > 0 && problems.length > 0) {
    notes.push('(b) skipped: (a) did not finish, so (b) would only measure the queue in front of a consumer');
  } else if (args.rate > 0 && args.duration > 0) {
    if (args.count === 0) await sleep(10_000); // both joined their groups
    /** Sends `ids` at the fixed rate; returns when each was sent and the rate achieved. */
    const sendAtRate = async (ids: number[]) => {
      const sentAt = new Map<string, number>();
      const sends: Array<Promise<void>> = [];
      const started = Date.now();
      for (let i = 0; i < ids.length; i++) {
        // Scheduled against the start time, not the previous send, so the rate does not drift.
        const due = started + (i * 1000) / args.rate;
        if (due > Date.now()) await sleep(due - Date.now());
        const at = Date.now();
        const req = request(ids[i]!, at);
        sentAt.set(req.diaryId, at);
        sends.push(send(producer, topics.analysisRequested, [req]));
      }
      await withTimeout(Promise.all(sends), 30_000, 'producing the fixed-rate requests');
      return { sentAt, sentRate: (ids.length * 1000) / Math.max(1, Date.now() - started) };
    };
    const total = Math.round(args.rate * args.duration);
    const warmupCount = Math.round(args.rate * args.warmup);
    const children = { ours: [worker, workerLog], bare: [bare, bareLog] } as const;
    const systems = ['ours', 'bare'] as const;
    // One consumer at a time, the other stopped (SIGSTOP of its process group, a few seconds, well
    // inside the session timeout): on 2 cores a second consumer at the same rate doubles the
    // broker's fetch work and the CPU both wait for. The resumed one first drains what it missed.
    let firstId = FIXED_RATE_FIRST_ID;
    for (const [index, system] of systems.entries()) {
      const other = systems[1 - index]!;
      const [child, logFile] = children[system];
      const warmupIds = Array.from({ length: warmupCount }, (_, i) => firstId + i);
      const fixedIds = Array.from({ length: total }, (_, i) => firstId + warmupCount + i);
      firstId += warmupCount + total;
      const everyEarlierId = Array.from({ length: firstId - FIXED_RATE_FIRST_ID - warmupCount - total }, (_, i) => FIXED_RATE_FIRST_ID + i);
      process.kill(-children[other][0].pid, 'SIGSTOP');
      try {
        await waitForCompletion(statuses[system], everyEarlierId, child, timeoutMs, logFile);
        if (warmupIds.length > 0) {
          // The broker's JIT and the consumer's fetch loop at this rate, not measured: a fresh JVM
          // compiles its fetch path for seconds on 2 cores, which is not what a running broker costs.
          log(`(b) ${system} warm-up: ${args.rate}/s for ${args.warmup} s, not measured`);
          await sendAtRate(warmupIds);
          await waitForCompletion(statuses[system], warmupIds, child, timeoutMs, logFile);
        }
        log(`(b) ${system}: fixed rate ${args.rate}/s for ${args.duration} s (${total} requests), ${other} stopped`);
        const cpuBefore = cpuSnapshot();
        const { sentAt, sentRate } = await sendAtRate(fixedIds);
        const missing = await waitForCompletion(statuses[system], fixedIds, child, timeoutMs, logFile);
        if (missing > 0) problems.push(`(b) ${system}: ${missing} of ${total} requests not COMPLETED within ${args.timeout} s of the last send (latencies are over the completed ones only)`);
        notes.push(`CPU during (b) ${system}, in cores of ${availableParallelism()}: ${formatCpu(cpuBetween(cpuBefore, cpuSnapshot()))}`);
        const sorted = fixedIds
          .map((id) => statuses[system].get(String(id))?.completedSeenAt)
          .map((seen, i) => (seen === undefined ? undefined : seen - sentAt.get(String(fixedIds[i]))!))
          .filter((ms): ms is number => ms !== undefined)
          .sort((a, b) => a - b);
        latencies[system] = sorted;
        const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
        rows.push([
          `(b) ${system}, fixed ${args.rate}/s for ${args.duration} s (sent ${sentRate.toFixed(1)}/s)`,
          `${sorted.length}/${total}`,
          '-',
          percentile(sorted, 50),
          percentile(sorted, 90),
          percentile(sorted, 99),
          sorted.at(-1) ?? Number.NaN,
          mean,
          '-',
          '-',
        ]);
      } finally {
        process.kill(-children[other][0].pid, 'SIGCONT');
      }
    }
  }
  await Promise.all([worker.stop(), bare.stop()]);

  const { ours, bare: bareDrain } = drains;
  if (ours) {
    const saturation: BenchRow = {
      path: `worker saturation, ${args.count} pre-loaded requests, offline analyzer`,
      unit: 'analyses/s',
      ours: Math.round(ours.rate),
      baseline: bareDrain ? Math.round(bareDrain.rate) : undefined,
      baselineName: 'bare kafkajs consumer: same topic, partitions and analyzer, PROCESSING and COMPLETED per batch, no store',
      better: 'higher',
      target: '>= 2,000 analyses/s',
      met: ours.rate >= SATURATION_TARGET,
      detail: `first tenth ${ours.firstTenth.toFixed(0)}/s, last tenth ${ours.lastTenth.toFixed(0)}/s`,
    };
    results.push(
      saturation,
      {
        path: 'Kafka broker CPU per analysis, saturation',
        unit: 'µs/analysis',
        ours: Math.round(ours.brokerUsPerAnalysis),
        baseline: bareDrain ? Math.round(bareDrain.brokerUsPerAnalysis) : undefined,
        baselineName: 'bare kafkajs consumer',
        better: 'lower',
      },
      {
        path: 'consumer process CPU per analysis, saturation',
        unit: 'µs/analysis',
        ours: Math.round(ours.consumerUsPerAnalysis),
        baseline: bareDrain ? Math.round(bareDrain.consumerUsPerAnalysis) : undefined,
        baselineName: 'bare kafkajs consumer',
        better: 'lower',
      },
    );
  }
  if (latencies.ours?.length) {
    const p99 = percentile(latencies.ours, 99);
    results.push({
      path: `request -> COMPLETED at ${args.rate} requests/s`,
      unit: 'ms p99',
      ours: p99,
      baseline: latencies.bare?.length ? percentile(latencies.bare, 99) : undefined,
      baselineName: 'bare kafkajs consumer, same requests at the same time',
      better: 'lower',
      target: `< ${P99_TARGET_MS} ms`,
      met: p99 < P99_TARGET_MS,
      detail: `p50 ${percentile(latencies.ours, 50)} ms (bare ${latencies.bare?.length ? percentile(latencies.bare, 50) : '-'} ms)`,
    });
  }

  console.log('');
  console.log(`worker-throughput: one worker process against a bare kafkajs consumer, offline analyzer, ${config.kafka.partitions} partitions, partitionsConcurrently ${config.worker.partitionsConcurrently}, mongo-wire: ${bench.services.started.mongo?.flavour ?? 'external'}`);
  console.log(`machine: ${machine}`);
  console.log('');
  console.log(table(['phase', 'completed', 'analyses/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean ms', 'consumer CPU µs/analysis', 'broker CPU µs/analysis'], rows));
  console.log('');
  for (const row of results) console.log(`ours/bare ${row.path}: ${row.ours} / ${row.baseline ?? '-'} ${row.unit} = ${ratioOf(row) ?? '-'}${row.target ? ` (target ${row.target}: ${row.met ? 'met' : 'NOT met'})` : ''}`);
  for (const note of notes) console.log(note);
  if (results.length > 0) writeBenchResults('worker', results);
  for (const system of ['ours', 'bare'] as const) {
    const failed = [...statuses[system].values()].filter((s) => s.failed);
    if (failed.length > 0) problems.push(`${system}: ${failed.length} requests FAILED, e.g. ${failed[0]!.failed}`);
  }
  for (const problem of problems) console.error(`FAIL ${problem}`);
  return problems.length > 0 ? 1 : 0;
}

/** The bare consumer as a child process, from this checkout, its output in `logFile`. */
function spawnBare(env: Record<string, string>, logFile: string): AppChild {
  const profileArgs = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF, 'bare')}`] : [];
  const proc = startProcess('bare', process.execPath, [...profileArgs, '--import', 'tsx', path.join(ROOT, 'bench/worker-bare-consumer.ts')], { cwd: ROOT, logFile, env });
  const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
  onCleanup('bare consumer', () => proc.stop(15_000));
  return { pid: proc.child.pid ?? -1, exited, stop: () => proc.stop(15_000) };
}

function newRequest(diaryId: number, text: DiaryText, at: number): AnalysisRequested {
  return {
    eventId: randomUUID(),
    occurredAt: new Date(at).toISOString(),
    diaryId: String(diaryId),
    userId: String(1 + (diaryId % 50)),
    revision: 1,
    type: 'analysis.requested',
    title: text.title,
    content: text.content,
    language: text.language,
  };
}

async function send(producer: Producer, topic: string, requests: AnalysisRequested[]): Promise<void> {
  await producer.send({
    topic,
    acks: -1,
    messages: requests.map((r) => ({ key: r.diaryId, value: JSON.stringify(r), headers: { requestId: `bench-${r.diaryId}`, eventId: r.eventId } })),
  });
}

/** Records, per system and diaryId, when its COMPLETED (or FAILED) status arrived; own consumer group, from the beginning. */
async function tapStatuses(kafka: Kafka, topics: Record<System, string>): Promise<Record<System, Map<string, StatusSeen>>> {
  const seen: Record<System, Map<string, StatusSeen>> = { ours: new Map(), bare: new Map() };
  const systemOf = new Map(Object.entries(topics).map(([system, topic]) => [topic, system as System]));
  const consumer = kafka.consumer({ groupId: `bench-status-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  onCleanup('status consumer', () => consumer.disconnect());
  await consumer.subscribe({ topics: Object.values(topics), fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    partitionsConsumedConcurrently: 4,
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      const map = seen[systemOf.get(batch.topic)!];
      for (const message of batch.messages) {
        const event = JSON.parse(message.value?.toString('utf8') ?? '{}') as { diaryId: string; status: string; occurredAt: string; error?: string };
        if (event.status === 'COMPLETED') {
          const entry = map.get(event.diaryId) ?? {};
          // A redelivery re-emits COMPLETED; the first one is the completion.
          if (entry.completedSeenAt === undefined) map.set(event.diaryId, { ...entry, completedSeenAt: now, completedAt: Date.parse(event.occurredAt) });
        } else if (event.status === 'FAILED') {
          map.set(event.diaryId, { ...map.get(event.diaryId), failed: event.error ?? 'FAILED' });
        }
      }
    },
  });
  await withTimeout(joined, 30_000, 'status consumer joining its group');
  return seen;
}

/**
 * Waits until every id has its COMPLETED, or the timeout passes; returns how many are missing.
 * A FAILED status or a dead worker ends the wait with an error.
 */
async function waitForCompletion(statuses: Map<string, StatusSeen>, ids: number[], child: AppChild, timeoutMs: number, logFile: string): Promise<number> {
  let exitCode: number | null | undefined;
  void child.exited.then((code) => (exitCode = code));
  let missing = ids.map(String);
  const deadline = Date.now() + timeoutMs;
  while (missing.length > 0 && Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`consumer exited with code ${exitCode}; see ${logFile}`);
    const failed = missing.find((id) => statuses.get(id)?.failed);
    if (failed) throw new Error(`request for diary ${failed} FAILED: ${statuses.get(failed)!.failed}`);
    missing = missing.filter((id) => statuses.get(id)?.completedSeenAt === undefined);
    await sleep(20);
  }
  return missing.length;
}

