/**
 * Throughput and latency of ONE emotion worker (offline analyzer):
 *   npx tsx bench/worker-throughput.ts [--count 2000] [--rate 50] [--duration 20] [--timeout 300]
 *
 * Starts Kafka and the MongoDB-wire server in a temp dir (or uses KAFKA_BROKERS / MONGO_URL; the
 * worker needs neither MariaDB nor Redis), runs `src/main.ts worker` as a child process
 * (production profile, LOG_LEVEL=warn), then:
 *   (a) saturation: --count requests are on the topic before the worker starts; requests/s is
 *       measured from the first to the last COMPLETED status event (the worker's timestamps);
 *   (b) fixed rate: --rate requests/s for --duration s; latency is from the request's
 *       `occurredAt` (set here when producing) to the moment this process sees its COMPLETED.
 * Each phase waits at most --timeout s for its completions and then reports what it has.
 * Exits 1 if a request FAILED or did not complete in time, or the worker died.
 */
import { Kafka, Partitioners, logLevel, type Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import type { AnalysisRequested } from '../kernel/contracts/analysis-events.js';
import { ensureTopics } from '../kernel/clients/kafka.js';
import { topicNames } from '../kernel/contracts/analysis-events.js';
import {
  freePort,
  log,
  machineInfo,
  metricValue,
  numericArgs,
  onCleanup,
  percentile,
  poll,
  runBench,
  sleep,
  spawnApp,
  startBenchServices,
  table,
  waitForHttp,
  withTimeout,
  type AppChild,
} from './bench-support.js';
import { cpuBetween, cpuSnapshot, formatCpu } from './cpu-usage.js';
import { createDiaryTexts, type DiaryText } from './diary-texts.js';

const USAGE = 'usage: npx tsx bench/worker-throughput.ts [--count 2000] [--rate 50] [--duration 20] [--timeout 300]   (0 skips a phase)';
/** Diary ids of phase (b) start here, so the two phases never share a diaryId. */
const FIXED_RATE_FIRST_ID = 1_000_001;

interface StatusSeen {
  /** When this process received the COMPLETED event (ms, local clock). */
  completedSeenAt?: number;
  /** The COMPLETED event's own occurredAt, stamped by the worker (ms, same machine). */
  completedAt?: number;
  failed?: string;
}

runBench('worker-throughput', async () => {
  const args = numericArgs(process.argv.slice(2), { count: 2000, rate: 50, duration: 20, timeout: 300 }, USAGE);
  if (args.timeout <= 0) throw new Error(`--timeout must be positive\n${USAGE}`);
  const profile = process.env.BENCH_PROFILE ?? 'production';
  const machine = machineInfo();
  log(machine);

  const bench = await startBenchServices('worker', { only: [], profile });
  const metricsPort = await freePort();
  const env = { ...bench.env, METRICS_PORT: String(metricsPort), INSTANCE_ID: 'bench-worker' };
  const config = loadConfig(env);
  const topics = topicNames(config.kafka.topicPrefix);

  const kafka = new Kafka({ clientId: 'bench', brokers: config.kafka.brokers, logLevel: logLevel.NOTHING, retry: { retries: 10, maxRetryTime: 2_000 } });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topics, config.kafka.partitions);
  await admin.disconnect();

  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  onCleanup('bench producer', () => producer.disconnect());
  const statuses = await tapStatuses(kafka, topics.analysisStatus);

  const nextText = createDiaryTexts(11);
  const texts = Array.from({ length: 2000 }, () => nextText());
  const request = (diaryId: number, at = Date.now()) => newRequest(diaryId, texts[diaryId % texts.length]!, at);
  const timeoutMs = args.timeout * 1000;
  const rows: Array<Array<string | number>> = [];
  const notes: string[] = [];
  const problems: string[] = [];

  // (a) Saturation: the whole backlog is waiting when the worker starts.
  if (args.count > 0) {
    log(`pre-loading ${args.count} analysis requests on ${topics.analysisRequested} (${config.kafka.partitions} partitions)`);
    for (let first = 1; first <= args.count; first += 500) {
      const batch = Array.from({ length: Math.min(500, args.count - first + 1) }, (_, i) => request(first + i));
      await send(producer, topics.analysisRequested, batch);
    }
  }

  const spawnedAt = Date.now();
  const worker = spawnApp(bench, 'worker', 'worker', env);
  const workerLog = path.join(bench.rootDir, 'logs', 'worker.log');
  await waitForHttp(`http://127.0.0.1:${metricsPort}/healthz`, worker, 90_000, workerLog);
  log(`worker started in ${Date.now() - spawnedAt} ms (pid ${worker.pid})`);

  if (args.count > 0) {
    log(`(a) saturation: draining ${args.count} requests (at most ${args.timeout} s)`);
    const ids = Array.from({ length: args.count }, (_, i) => i + 1);
    await poll('first COMPLETED', async () => (ids.some((id) => statuses.get(String(id))?.completedAt) ? true : undefined), 60_000, 20);
    const cpuBefore = cpuSnapshot();
    const metricsBefore = await scrape(metricsPort);
    const missing = await waitForCompletion(statuses, ids, worker, timeoutMs, workerLog);
    const cpu = cpuBetween(cpuBefore, cpuSnapshot());
    const metricsAfter = await scrape(metricsPort);

    const done = ids.map((id) => statuses.get(String(id))?.completedAt).filter((t): t is number => t !== undefined).sort((a, b) => a - b);
    const rate = (from: number, to: number) => (to > from && done[to]! > done[from]! ? ((to - from) * 1000) / (done[to]! - done[from]!) : Number.NaN);
    const spanMs = done.at(-1)! - done[0]!;
    const decile = Math.max(1, Math.floor(done.length / 10));
    rows.push([`(a) saturation, ${args.count} pre-loaded`, `${done.length}/${args.count}`, rate(0, done.length - 1), '-', '-', '-', '-', '-']);
    const delta = (name: string) => metricValue(metricsAfter, name) - metricValue(metricsBefore, name);
    const analyses = delta('worker_analysis_duration_seconds_count');
    notes.push(
      `(a) first to last COMPLETED ${(spanMs / 1000).toFixed(2)} s; rate over the first tenth ${rate(0, decile).toFixed(1)}/s, over the last tenth ` +
        `${rate(done.length - 1 - decile, done.length - 1).toFixed(1)}/s; per request the worker spent ${((delta('worker_analysis_duration_seconds_sum') / Math.max(1, analyses)) * 1000).toFixed(2)} ms ` +
        `in the analyzer and ${((delta('process_cpu_seconds_total') / Math.max(1, analyses)) * 1000).toFixed(2)} ms of its own CPU (${analyses} analyses)`,
      `CPU during (a), in cores of ${availableParallelism()}: ${formatCpu(cpu)}`,
    );
    if (missing > 0) problems.push(`(a) ${missing} of ${args.count} requests not COMPLETED within ${args.timeout} s`);
  }

  // (b) Fixed rate, on the warm worker; pointless behind an undrained backlog of (a).
  if (args.rate > 0 && args.duration > 0 && problems.length > 0) {
    notes.push('(b) skipped: the worker did not finish (a), so (b) would only measure the queue in front of it');
  } else if (args.rate > 0 && args.duration > 0) {
    const total = Math.round(args.rate * args.duration);
    log(`(b) fixed rate: ${args.rate}/s for ${args.duration} s (${total} requests)`);
    const ids = Array.from({ length: total }, (_, i) => FIXED_RATE_FIRST_ID + i);
    const sentAt = new Map<string, number>();
    const sends: Array<Promise<void>> = [];
    const cpuBefore = cpuSnapshot();
    const started = Date.now();
    for (let i = 0; i < total; i++) {
      // Scheduled against the start time, not the previous send, so the rate does not drift.
      const due = started + (i * 1000) / args.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const at = Date.now();
      const req = request(ids[i]!, at);
      sentAt.set(req.diaryId, at);
      sends.push(send(producer, topics.analysisRequested, [req]));
    }
    await withTimeout(Promise.all(sends), 30_000, 'producing the fixed-rate requests');
    const sentRate = (total * 1000) / Math.max(1, Date.now() - started);
    const missing = await waitForCompletion(statuses, ids, worker, timeoutMs, workerLog);
    const cpu = cpuBetween(cpuBefore, cpuSnapshot());
    const latencies = ids
      .map((id) => statuses.get(String(id))?.completedSeenAt)
      .map((seen, i) => (seen === undefined ? undefined : seen - sentAt.get(String(ids[i]))!))
      .filter((ms): ms is number => ms !== undefined)
      .sort((a, b) => a - b);
    const mean = latencies.reduce((a, b) => a + b, 0) / latencies.length;
    rows.push([
      `(b) fixed ${args.rate}/s for ${args.duration} s (sent ${sentRate.toFixed(1)}/s)`,
      `${latencies.length}/${total}`,
      '-',
      percentile(latencies, 50),
      percentile(latencies, 90),
      percentile(latencies, 99),
      latencies.at(-1) ?? Number.NaN,
      mean,
    ]);
    notes.push(`CPU during (b), in cores of ${availableParallelism()}: ${formatCpu(cpu)}`);
    if (missing > 0) problems.push(`(b) ${missing} of ${total} requests not COMPLETED within ${args.timeout} s of the last send (latencies are over the completed ones only)`);
  }
  await worker.stop();

  console.log('');
  console.log(`worker-throughput: one worker process, offline analyzer, ${config.kafka.partitions} partitions, partitionsConcurrently ${config.worker.partitionsConcurrently}, mongo-wire: ${bench.services.started.mongo?.flavour ?? 'external'}`);
  console.log(`machine: ${machine}`);
  console.log('');
  console.log(table(['phase', 'completed', 'completed/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'mean ms'], rows));
  console.log('');
  for (const note of notes) console.log(note);
  const failed = [...statuses.values()].filter((s) => s.failed);
  if (failed.length > 0) problems.push(`${failed.length} requests FAILED, e.g. ${failed[0]!.failed}`);
  for (const problem of problems) console.error(`FAIL ${problem}`);
  return problems.length > 0 ? 1 : 0;
});

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

/** Records, per diaryId, when its COMPLETED (or FAILED) status arrived; own consumer group, from the beginning. */
async function tapStatuses(kafka: Kafka, topic: string): Promise<Map<string, StatusSeen>> {
  const seen = new Map<string, StatusSeen>();
  const consumer = kafka.consumer({ groupId: `bench-status-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  onCleanup('status consumer', () => consumer.disconnect());
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const message of batch.messages) {
        const event = JSON.parse(message.value?.toString('utf8') ?? '{}') as { diaryId: string; status: string; occurredAt: string; error?: string };
        if (event.status === 'COMPLETED') {
          const entry = seen.get(event.diaryId) ?? {};
          // A redelivery re-emits COMPLETED; the first one is the completion.
          if (entry.completedSeenAt === undefined) seen.set(event.diaryId, { ...entry, completedSeenAt: now, completedAt: Date.parse(event.occurredAt) });
        } else if (event.status === 'FAILED') {
          seen.set(event.diaryId, { ...seen.get(event.diaryId), failed: event.error ?? 'FAILED' });
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
async function waitForCompletion(statuses: Map<string, StatusSeen>, ids: number[], worker: AppChild, timeoutMs: number, workerLog: string): Promise<number> {
  let exitCode: number | null | undefined;
  void worker.exited.then((code) => (exitCode = code));
  let missing = ids.map(String);
  const deadline = Date.now() + timeoutMs;
  while (missing.length > 0 && Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`worker exited with code ${exitCode}; see ${workerLog}`);
    const failed = missing.find((id) => statuses.get(id)?.failed);
    if (failed) throw new Error(`request for diary ${failed} FAILED: ${statuses.get(failed)!.failed}`);
    missing = missing.filter((id) => statuses.get(id)?.completedSeenAt === undefined);
    await sleep(20);
  }
  return missing.length;
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`worker /metrics answered ${res.status}`);
  return res.text();
}
