/**
 * REST throughput of diary create and list against ONE api instance:
 *   npx tsx bench/rest-diaries.ts [--duration 15] [--connections 50] [--users 50] [--warmup 3]
 *
 * Starts the services in a temp dir (or uses *_URL), migrates a fresh database, runs
 * `src/main.ts api` as a child process (production profile on loopback, LOG_LEVEL=warn, outbox
 * relay on), then drives it with autocannon: (a) POST /api/v1/diaries, every request with the
 * next user's token and the next realistic entry; (b) GET /api/v1/diaries?limit=20 over the
 * diaries (a) wrote. Exits 1 on any non-2xx, connection error, or an outbox that does not drain.
 */
import autocannon from 'autocannon';
import { Kafka, logLevel } from 'kafkajs';
import * as mariadb from 'mariadb';
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { loadConfig, type AppConfig } from '../config/index.js';
import { runMigrate } from '../src/cli/migrate-command.js';
import { topicNames } from '../kernel/contracts/analysis-events.js';
import { createLogger } from '../kernel/logger.js';
import {
  benchTokenIssuer,
  freePort,
  log,
  machineInfo,
  metricValue,
  numericArgs,
  poll,
  runBench,
  sleep,
  spawnApp,
  startBenchServices,
  table,
  waitForHttp,
  withTimeout,
} from './bench-support.js';
import { cpuBetween, cpuSnapshot, formatCpu } from './cpu-usage.js';
import { createDiaryTexts } from './diary-texts.js';

const USAGE = 'usage: npx tsx bench/rest-diaries.ts [--duration 15] [--connections 50] [--users 50] [--warmup 3]';
const DIARIES = '/api/v1/diaries';


interface PhaseResult {
  name: string;
  result: autocannon.Result;
  cpu: Array<[string, number]>;
  /** Mean time the API itself spent per request (its own histogram), ms. */
  serverMeanMs: number;
  /** MariaDB statements per request, by kind (`questions` = all). */
  sqlPerRequest: Record<string, number>;
  /** First few non-2xx answers, for the error message. */
  failures: string[];
}

runBench('rest-diaries', async () => {
  const args = numericArgs(process.argv.slice(2), { duration: 15, connections: 50, users: 50, warmup: 3 }, USAGE);
  if (args.duration <= 0 || args.connections < 1 || args.users < 1) throw new Error(`--duration, --connections and --users must be positive\n${USAGE}`);
  const profile = process.env.BENCH_PROFILE ?? 'production';
  const machine = machineInfo();
  log(machine);

  const bench = await startBenchServices('rest', { profile });
  const port = await freePort();
  const env = { ...bench.env, PORT: String(port), METRICS_PORT: String(await freePort()), INSTANCE_ID: 'bench-api' };
  const config = loadConfig(env);
  const benchLog = createLogger(config, 'bench');

  log(`migrating ${bench.namespace}`);
  await withTimeout(runMigrate(config, benchLog, 'up'), 120_000, 'migrate');

  const dbUrl = new URL(config.mariadb.url);
  const db = await mariadb.createConnection({
    host: dbUrl.hostname,
    port: Number(dbUrl.port || 3306),
    user: decodeURIComponent(dbUrl.username),
    password: decodeURIComponent(dbUrl.password),
    database: bench.namespace,
    bigIntAsNumber: true,
  });
  db.on('error', (err: Error) => log(`mariadb connection: ${err.message}`));
  const closeDb = () => db.end().catch(() => undefined);

  try {
    // The daily limit (default 50 a day) would turn most creates into 429s. Raised, not disabled,
    // so every create still pays for the check it pays for in production.
    await db.query("UPDATE settings_options SET default_value = '1000000' WHERE `key` = 'diary.maxPerDay'");
    const tokens = await createUsers(db, args.users, config.auth.jwt);
    log(`${tokens.length} users with access tokens`);

    const api = spawnApp(bench, 'api', 'api', env);
    const baseUrl = `http://127.0.0.1:${port}`;
    await waitForHttp(`${baseUrl}/readyz`, api, 90_000, path.join(bench.rootDir, 'logs', 'api.log'));
    log(`api ready at ${baseUrl} (pid ${api.pid}, profile ${profile})`);

    const nextText = createDiaryTexts(7);
    const bodies = Array.from({ length: 1000 }, () => {
      const { title, content } = nextText();
      return JSON.stringify({ title, content });
    });
    let turn = 0;
    const create = (): autocannon.Request => {
      const i = turn++;
      return {
        method: 'POST',
        path: DIARIES,
        headers: { authorization: `Bearer ${tokens[i % tokens.length]}`, 'content-type': 'application/json' },
        body: bodies[i % bodies.length],
      };
    };
    const list = (): autocannon.Request => ({
      method: 'GET',
      path: `${DIARIES}?limit=20`,
      headers: { authorization: `Bearer ${tokens[turn++ % tokens.length]}` },
    });

    if (args.warmup > 0) {
      log(`warm-up: ${args.warmup} s of creates`);
      const warm = await load(db, baseUrl, 'warm-up', create, 'POST', { ...args, duration: args.warmup });
      if (warm.result.non2xx + warm.result.errors > 0) throw new Error(`warm-up failed: ${warm.failures.join('; ') || `${warm.result.errors} errors`}`);
    }
    const before = await countOf(db, 'SELECT COUNT(*) AS n FROM diaries');

    log(`create: ${args.connections} connections for ${args.duration} s`);
    const created = await load(db, baseUrl, 'create (POST)', create, 'POST', args);
    const diaries = await countOf(db, 'SELECT COUNT(*) AS n FROM diaries');
    const backlogAfterCreate = await pendingOutbox(db);
    const drainStarted = Date.now();
    const drained = await poll('outbox drain', async () => ((await pendingOutbox(db)) === 0 ? true : undefined), 60_000, 100).catch(() => false);
    const drainMs = Date.now() - drainStarted;

    log(`list: ${args.connections} connections for ${args.duration} s over ${diaries} diaries (${(diaries / tokens.length).toFixed(0)} per user)`);
    const listed = await load(db, baseUrl, 'list (GET limit=20)', list, 'GET', args);

    const backlogEnd = await pendingOutbox(db);
    const outboxRows = await countOf(db, 'SELECT COUNT(*) AS n FROM outbox_events');
    const published = await readPublished(bench.env.KAFKA_BROKERS!, topicNames(config.kafka.topicPrefix).analysisRequested);
    await api.stop();

    const phases = [created, listed];
    console.log('');
    console.log(`rest-diaries: one api instance, ${args.connections} connections, ${args.duration} s per phase, ${tokens.length} users`);
    console.log(`machine: ${machine}`);
    console.log('');
    console.log(
      table(
        ['phase', 'req/s (mean)', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'server mean ms', 'non-2xx', 'errors'],
        phases.map(({ name, result, serverMeanMs }) => [
          name,
          result.requests.average,
          result.requests.total,
          result.latency.p50,
          result.latency.p90,
          result.latency.p99,
          result.latency.max,
          serverMeanMs,
          result.non2xx,
          result.errors,
        ]),
      ),
    );
    console.log('');
    for (const phase of phases) {
      console.log(`CPU during ${phase.name}, in cores of ${availableParallelism()}: ${formatCpu(phase.cpu)}`);
      const sql = Object.entries(phase.sqlPerRequest).filter(([kind, n]) => kind !== 'questions' && n >= 0.05);
      console.log(`  MariaDB statements per request: ${(phase.sqlPerRequest.questions ?? 0).toFixed(1)} (${sql.map(([kind, n]) => `${kind} ${n.toFixed(1)}`).join(', ')})`);
    }
    console.log(
      `outbox: ${diaries - before} diaries written in the create phase, ${backlogAfterCreate} pending when it ended, ` +
        `${drained ? `drained ${drainMs} ms later` : 'NOT drained within 60 s'}; pending at the end: ${backlogEnd}`,
    );
    const duplicates = published.messages - published.eventIds.size;
    console.log(
      `kafka: ${published.messages} analysis requests for ${diaries} diaries (${outboxRows} outbox rows), ${published.eventIds.size} distinct eventIds, ` +
        `${duplicates} duplicate deliveries${duplicates > 0 ? ` (by partition: ${[...published.duplicatesByPartition].map(([p, n]) => `${p}:${n}`).join(' ')})` : ''}`,
    );

    const problems: string[] = [];
    for (const { name, result, failures } of phases) {
      if (result.non2xx > 0) problems.push(`${name}: ${result.non2xx} non-2xx (${failures.join('; ')})`);
      if (result.errors > 0) problems.push(`${name}: ${result.errors} connection errors (${result.timeouts} timeouts)`);
    }
    if (backlogEnd !== 0 || !drained) problems.push(`outbox did not drain (${backlogEnd} pending)`);
    if (published.eventIds.size !== outboxRows || outboxRows !== diaries) problems.push(`${diaries} diaries, ${outboxRows} outbox rows, ${published.eventIds.size} distinct requests on Kafka`);
    for (const problem of problems) console.error(`FAIL ${problem}`);
    return problems.length > 0 ? 1 : 0;
  } finally {
    await closeDb();
  }

});

async function load(
  db: mariadb.Connection,
  url: string,
  name: string,
  next: () => autocannon.Request,
  method: 'POST' | 'GET',
  opts: { duration: number; connections: number },
): Promise<PhaseResult> {
  const failures: string[] = [];
  const metricsBefore = await scrape(url);
  const sqlBefore = await sqlStatements(db);
  const cpuBefore = cpuSnapshot();
  const run = autocannon({
    url,
    connections: opts.connections,
    duration: opts.duration,
    timeout: 10,
    requests: [
      {
        setupRequest: () => next(),
        onResponse: (status, body) => {
          if ((status < 200 || status > 299) && failures.length < 3) failures.push(`${status} ${body.slice(0, 200)}`);
        },
      },
    ],
  });
  const result = await withTimeout(run, (opts.duration + 60) * 1000, `autocannon ${name}`);
  const cpu = cpuBetween(cpuBefore, cpuSnapshot());
  // autocannon drops the requests still in flight when time is up; the API finishes them anyway
  // (they commit diaries). Wait until its request counter stands still before reading the store.
  const labels = { method, route: DIARIES };
  let metricsAfter = await scrape(url);
  for (let i = 0; i < 50; i++) {
    await sleep(200);
    const again = await scrape(url);
    const settled = metricValue(again, 'http_request_duration_seconds_count', labels) === metricValue(metricsAfter, 'http_request_duration_seconds_count', labels);
    metricsAfter = again;
    if (settled) break;
  }
  const seconds = metricValue(metricsAfter, 'http_request_duration_seconds_sum', labels) - metricValue(metricsBefore, 'http_request_duration_seconds_sum', labels);
  const count = metricValue(metricsAfter, 'http_request_duration_seconds_count', labels) - metricValue(metricsBefore, 'http_request_duration_seconds_count', labels);
  const sqlAfter = await sqlStatements(db);
  const sqlPerRequest = Object.fromEntries(Object.entries(sqlAfter).map(([k, v]) => [k, (v - (sqlBefore[k] ?? 0)) / Math.max(1, count)]));
  return { name, result, cpu, serverMeanMs: count > 0 ? (seconds / count) * 1000 : Number.NaN, sqlPerRequest, failures };
}

/**
 * MariaDB's global statement counters (server-wide: the relay's and this script's own few
 * queries are included, which is noise of well under one statement per request).
 */
async function sqlStatements(db: mariadb.Connection): Promise<Record<string, number>> {
  const rows = (await db.query(
    "SHOW GLOBAL STATUS WHERE Variable_name IN ('Questions', 'Com_select', 'Com_insert', 'Com_update', 'Com_delete', 'Com_begin', 'Com_commit', 'Com_rollback', 'Com_set_option')",
  )) as Array<{ Variable_name: string; Value: string }>;
  return Object.fromEntries(rows.map((r) => [r.Variable_name.replace(/^Com_/, '').toLowerCase(), Number(r.Value)]));
}

async function createUsers(db: mariadb.Connection, count: number, jwtConfig: AppConfig['auth']['jwt']): Promise<string[]> {
  const run = randomUUID().slice(0, 8);
  const rows = Array.from({ length: count }, (_, i) => {
    const username = `bench_${run}_${i}`;
    return [`${username}@example.test`, username, `Bench ${i}`];
  });
  await db.batch("INSERT INTO users (email, username, nickname, role, status) VALUES (?, ?, ?, 'USER', 'ACTIVE')", rows);
  const users = (await db.query('SELECT id FROM users WHERE username LIKE ? ORDER BY id', [`bench\\_${run}\\_%`])) as Array<{ id: number }>;
  const tokens = benchTokenIssuer(jwtConfig);
  return users.map((u) => tokens.issue({ userId: String(u.id), role: 'USER', sessionId: randomUUID() }).accessToken);
}

async function countOf(db: mariadb.Connection, sql: string): Promise<number> {
  const [row] = (await db.query(sql)) as Array<{ n: number }>;
  return Number(row?.n ?? 0);
}

const pendingOutbox = (db: mariadb.Connection) => countOf(db, "SELECT COUNT(*) AS n FROM outbox_events WHERE status = 'PENDING'");

interface PublishedRequests {
  messages: number;
  /** Distinct eventIds: each outbox row must be here at least once. */
  eventIds: Set<string>;
  /** Copies beyond the first, by partition: the outbox is at-least-once. */
  duplicatesByPartition: Map<number, number>;
}

/** Reads the whole request topic (fresh, so offsets start at 0) and counts messages per eventId. */
async function readPublished(brokers: string, topic: string): Promise<PublishedRequests> {
  const kafka = new Kafka({ clientId: 'bench-reader', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const total = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  await admin.disconnect();
  const out: PublishedRequests = { messages: 0, eventIds: new Set(), duplicatesByPartition: new Map() };
  if (total === 0) return out;
  const consumer = kafka.consumer({ groupId: `bench-reader-${randomUUID()}`, maxWaitTimeInMs: 200 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const eventId = message.headers?.eventId?.toString() ?? '';
          if (out.eventIds.has(eventId)) out.duplicatesByPartition.set(batch.partition, (out.duplicatesByPartition.get(batch.partition) ?? 0) + 1);
          out.eventIds.add(eventId);
          out.messages++;
        }
        if (out.messages >= total) done();
      },
    });
    await withTimeout(finished, 60_000, `reading ${total} messages of ${topic}`);
    return out;
  } finally {
    await consumer.disconnect();
  }
}

async function scrape(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  return res.text();
}
