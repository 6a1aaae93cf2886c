/**
 * REST throughput of diary create and list against ONE api instance, and against the least the
 * same stack can do, in the same run:
 *   npx tsx bench/rest-diaries.ts [--duration 15] [--connections 50] [--users 50] [--warmup 3]
 *
 * Starts the services in a temp dir (or uses *_URL), migrates two fresh databases with the same
 * users, runs `src/main.ts api` as a child process (production profile on loopback,
 * LOG_LEVEL=warn, outbox relay on) on one and bench/rest-bare-server.ts (bare Koa + @koa/router +
 * mariadb pool of the same size, jsonwebtoken verify, the same transaction and list query) on the
 * other, then drives each with the same autocannon settings, alternating ours and bare: (a) POST
 * /api/v1/diaries, every request with the next user's token and the next realistic entry; (b) GET
 * /api/v1/diaries?limit=20 over the diaries (a) wrote. Prints ours/bare ratios and writes
 * bench/results/rest.json. Exits 1 on any non-2xx, connection error, an outbox that does not drain
 * or an analysis request missing on Kafka.
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
  onCleanup,
  openBenchDb,
  poll,
  ratioOf,
  ROOT,
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
  type BenchServices,
} from './bench-support.js';
import { startProcess } from '../scripts/services/index.js';
import { cpuBetween, cpuSnapshot, formatCpu } from './cpu-usage.js';
import { createDiaryTexts } from './diary-texts.js';

const USAGE = 'usage: npx tsx bench/rest-diaries.ts [--duration 15] [--connections 50] [--users 50] [--warmup 3]';
const DIARIES = '/api/v1/diaries';
const LIST_PAGE = 20;


interface PhaseResult {
  name: string;
  /** The server process's role in the CPU breakdown. */
  server: 'api' | 'bare api';
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

  const bareDb = `${bench.namespace}_bare`;
  const bareUrl = new URL(config.mariadb.url);
  bareUrl.pathname = `/${bareDb}`;
  await withTimeout(runMigrate(loadConfig({ ...env, MARIADB_URL: bareUrl.toString() }), benchLog, 'up'), 120_000, 'migrate (bare)');
  if (process.env.MARIADB_URL) onCleanup('bare database', () => dropDatabase(bareUrl, bareDb));

  const db = await openBenchDb(config);
  const closeDb = () => db.end().catch(() => undefined);

  try {
    // The daily limit (default 50 a day) would turn most creates into 429s. Raised, not disabled,
    // so every create still pays for the check it pays for in production.
    await db.query("UPDATE settings_options SET default_value = '1000000' WHERE `key` = 'diary.maxPerDay'");
    const tokens = await createUsers(db, [bench.namespace, bareDb], args.users, config.auth.jwt);
    log(`${tokens.length} users with access tokens (the same ids in both databases)`);

    const api = spawnApp(bench, 'api', 'api', env);
    const baseUrl = `http://127.0.0.1:${port}`;
    const barePort = await freePort();
    const bare = spawnBare(bench, {
      PORT: String(barePort),
      MARIADB_URL: bareUrl.toString(),
      POOL_MAX: String(config.mariadb.poolMax),
      JWT_SECRET: config.auth.jwt.secret,
      JWT_ISSUER: config.auth.jwt.issuer,
      JWT_AUDIENCE: config.auth.jwt.audience,
      JWT_ALGORITHM: config.auth.jwt.algorithm,
      TOPIC: topicNames(config.kafka.topicPrefix).analysisRequested,
    });
    const bareBaseUrl = `http://127.0.0.1:${barePort}`;
    await waitForHttp(`${baseUrl}/readyz`, api, 90_000, path.join(bench.rootDir, 'logs', 'api.log'));
    await waitForHttp(`${bareBaseUrl}/api/v1/healthz`, bare, 60_000, path.join(bench.rootDir, 'logs', 'bare.log'));
    log(`api ready at ${baseUrl} (pid ${api.pid}, profile ${profile}); bare at ${bareBaseUrl} (pid ${bare.pid})`);

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
      path: `${DIARIES}?limit=${LIST_PAGE}`,
      headers: { authorization: `Bearer ${tokens[turn++ % tokens.length]}` },
    });
    const ours: Target = { url: baseUrl, role: 'api', settle: (method) => settledServerTime(baseUrl, method) };
    const baseline: Target = { url: bareBaseUrl, role: 'bare api' };

    if (args.warmup > 0) {
      log(`warm-up: ${args.warmup} s of creates on each`);
      for (const [who, target] of [['ours', ours], ['bare', baseline]] as const) {
        const warm = await load(db, target, `warm-up ${who}`, create, 'POST', { ...args, duration: args.warmup });
        if (warm.result.non2xx + warm.result.errors > 0) throw new Error(`warm-up ${who} failed: ${warm.failures.join('; ') || `${warm.result.errors} errors`}`);
      }
    }
    const before = await countOf(db, 'SELECT COUNT(*) AS n FROM diaries');

    // Ours and bare alternate, so the load the rest of the machine adds meanwhile hits both alike.
    log(`create: ${args.connections} connections for ${args.duration} s, ours then bare`);
    const created = await load(db, ours, 'create (POST) ours', create, 'POST', args);
    const diaries = await countOf(db, 'SELECT COUNT(*) AS n FROM diaries');
    const backlogAfterCreate = await pendingOutbox(db);
    const drainStarted = Date.now();
    const drained = await poll('outbox drain', async () => ((await pendingOutbox(db)) === 0 ? true : undefined), 60_000, 100).catch(() => false);
    const drainMs = Date.now() - drainStarted;
    const createdBare = await load(db, baseline, 'create (POST) bare', create, 'POST', args);

    // A slow create phase leaves users with fewer entries than a page: both lists must return full
    // pages of 20, so users short of 21 get plain rows (no outbox rows: the API did not write them).
    const toppedUp = await topUp(db, bench.namespace, LIST_PAGE + 1, bodies);
    const toppedUpBare = await topUp(db, bareDb, LIST_PAGE + 1, bodies);
    if (toppedUp + toppedUpBare > 0) log(`topped up ${toppedUp} entries (ours) and ${toppedUpBare} (bare) so every user has a full page`);
    log(`list: ${args.connections} connections for ${args.duration} s over ${diaries + toppedUp} diaries (${((diaries + toppedUp) / tokens.length).toFixed(0)} per user), ours then bare`);
    const listed = await load(db, ours, 'list (GET limit=20) ours', list, 'GET', args);
    const listedBare = await load(db, baseline, 'list (GET limit=20) bare', list, 'GET', args);

    const backlogEnd = await pendingOutbox(db);
    const outboxRows = await countOf(db, 'SELECT COUNT(*) AS n FROM outbox_events');
    const published = await readPublished(bench.env.KAFKA_BROKERS!, topicNames(config.kafka.topicPrefix).analysisRequested);
    await api.stop();
    await bare.stop();

    const phases = [created, createdBare, listed, listedBare];
    console.log('');
    console.log(`rest-diaries: one api instance against bare Koa, ${args.connections} connections, ${args.duration} s per phase, ${tokens.length} users`);
    console.log(`machine: ${machine}`);
    console.log('');
    console.log(
      table(
        ['phase', 'req/s (mean)', 'server CPU ms/req', 'requests', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'server mean ms', 'non-2xx', 'errors'],
        phases.map((phase) => [
          phase.name,
          phase.result.requests.average,
          cpuMsPerRequest(phase),
          phase.result.requests.total,
          phase.result.latency.p50,
          phase.result.latency.p90,
          phase.result.latency.p99,
          phase.result.latency.max,
          phase.serverMeanMs,
          phase.result.non2xx,
          phase.result.errors,
        ]),
      ),
    );
    console.log('');
    for (const phase of phases) {
      console.log(`CPU during ${phase.name}, in cores of ${availableParallelism()}: ${formatCpu(phase.cpu)}`);
      console.log(`  MariaDB statements per request: ${sqlLine(phase)}`);
    }
    const createRatio = ratioOf({ ours: created.result.requests.average, baseline: createdBare.result.requests.average });
    const listRatio = ratioOf({ ours: listed.result.requests.average, baseline: listedBare.result.requests.average });
    console.log(`ours/bare req/s: create ${createRatio?.toFixed(2)}, list ${listRatio?.toFixed(2)}`);
    // On a shared machine the scheduler decides much of req/s; CPU time per request is steadier.
    const cpuRatio = (o: PhaseResult, b: PhaseResult) => (cpuMsPerRequest(o) / cpuMsPerRequest(b)).toFixed(2);
    console.log(`ours/bare server CPU per request: create ${cpuRatio(created, createdBare)}, list ${cpuRatio(listed, listedBare)}`);
    console.log(
      `outbox: ${diaries - before} diaries written in the create phase, ${backlogAfterCreate} pending when it ended, ` +
        `${drained ? `drained ${drainMs} ms later` : 'NOT drained within 60 s'}; pending at the end: ${backlogEnd}`,
    );
    const duplicates = published.messages - published.eventIds.size;
    console.log(
      `kafka: ${published.messages} analysis requests for ${diaries} diaries written through the API (${outboxRows} outbox rows), ${published.eventIds.size} distinct eventIds, ` +
        `${duplicates} duplicate deliveries${duplicates > 0 ? ` (by partition: ${[...published.duplicatesByPartition].map(([p, n]) => `${p}:${n}`).join(' ')})` : ''}`,
    );

    const bareName = 'bare Koa + @koa/router, same pool size, jsonwebtoken verify, same transaction / list query';
    const detail = (ourPhase: PhaseResult, barePhase: PhaseResult) =>
      `p99 ${ourPhase.result.latency.p99} ms (bare ${barePhase.result.latency.p99}); server CPU ${cpuMsPerRequest(ourPhase).toFixed(2)} ms/request (bare ${cpuMsPerRequest(barePhase).toFixed(2)}); ` +
      `SQL statements per request ${sqlLine(ourPhase)} (bare ${sqlLine(barePhase)}); ` +
      `CPU ${formatCpu(ourPhase.cpu)}`;
    const createReqs = created.result.requests.average;
    const listReqs = listed.result.requests.average;
    const rows: BenchRow[] = [
      {
        path: `REST create, ${args.connections} connections`,
        unit: 'req/s',
        ours: createReqs,
        baseline: createdBare.result.requests.average,
        baselineName: bareName,
        better: 'higher',
        target: '>= 0.5x bare and >= 1,000 req/s',
        met: (createRatio ?? 0) >= 0.5 && createReqs >= 1000,
        detail: detail(created, createdBare),
      },
      {
        path: `REST list limit=20, ${args.connections} connections`,
        unit: 'req/s',
        ours: listReqs,
        baseline: listedBare.result.requests.average,
        baselineName: bareName,
        better: 'higher',
        target: '>= 2,000 req/s',
        met: listReqs >= 2000,
        detail: detail(listed, listedBare),
      },
    ];
    writeBenchResults('rest', rows);

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

/** A server under load; `settle` waits until it has finished what autocannon left in flight. */
interface Target {
  url: string;
  role: PhaseResult['server'];
  /** Its own count of requests and time spent on them so far (ours: the API's histogram). */
  settle?: (method: 'POST' | 'GET') => Promise<{ count: number; seconds: number }>;
}

/** CPU milliseconds the server process spent per completed request in the phase. */
function cpuMsPerRequest(phase: PhaseResult): number {
  const cores = phase.cpu.find(([role]) => role === phase.server)?.[1] ?? Number.NaN;
  return (cores * phase.result.duration * 1000) / Math.max(1, phase.result.requests.total);
}

function sqlLine(phase: PhaseResult): string {
  const sql = Object.entries(phase.sqlPerRequest).filter(([kind, n]) => kind !== 'questions' && n >= 0.05);
  return `${(phase.sqlPerRequest.questions ?? 0).toFixed(1)} (${sql.map(([kind, n]) => `${kind} ${n.toFixed(1)}`).join(', ')})`;
}

/** bench/rest-bare-server.ts as a child process, under the same watchdog as the app. */
function spawnBare(bench: BenchServices, env: Record<string, string>): AppChild {
  const profileArgs = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(process.env.BENCH_CPU_PROF, 'bare')}`] : [];
  const proc = startProcess('bare', process.execPath, [...profileArgs, '--import', 'tsx', path.join(ROOT, 'bench/rest-bare-server.ts')], {
    cwd: ROOT,
    logFile: path.join(bench.rootDir, 'logs', 'bare.log'),
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
  onCleanup('bare', () => proc.stop(15_000));
  return { pid: proc.child.pid ?? -1, exited, stop: () => proc.stop(15_000) };
}

/** Gives every user of `database` at least `min` entries (plain rows); returns how many were added. */
async function topUp(db: mariadb.Connection, database: string, min: number, bodies: string[]): Promise<number> {
  const counts = (await db.query(`SELECT u.id, COUNT(d.id) AS n FROM \`${database}\`.users u LEFT JOIN \`${database}\`.diaries d ON d.user_id = u.id GROUP BY u.id`)) as Array<{
    id: number;
    n: number;
  }>;
  const rows = counts.flatMap(({ id, n }) =>
    Array.from({ length: Math.max(0, min - Number(n)) }, (_, i) => {
      const { title, content } = JSON.parse(bodies[i % bodies.length]!) as { title: string | null; content: string };
      return [id, title, content];
    }),
  );
  if (rows.length > 0) await db.batch(`INSERT INTO \`${database}\`.diaries (user_id, title, content) VALUES (?, ?, ?)`, rows);
  return rows.length;
}

/** Drops a database the run made on a MariaDB that outlives it (given by MARIADB_URL). */
async function dropDatabase(url: URL, name: string): Promise<void> {
  const conn = await mariadb.createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
  } finally {
    await conn.end();
  }
}

async function load(
  db: mariadb.Connection,
  target: Target,
  name: string,
  next: () => autocannon.Request,
  method: 'POST' | 'GET',
  opts: { duration: number; connections: number },
): Promise<PhaseResult> {
  const failures: string[] = [];
  const serverBefore = await target.settle?.(method);
  const sqlBefore = await sqlStatements(db);
  const cpuBefore = cpuSnapshot();
  // The timestamp places the phase in a BENCH_CPU_PROF profile (it starts with the process).
  log(`${name}: ${opts.duration} s`);
  const run = autocannon({
    url: target.url,
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
  // autocannon drops the requests still in flight when time is up; the server finishes them anyway
  // (they commit diaries). Ours: wait until its request counter stands still; bare has no counter,
  // so a pause longer than its slowest request.
  let count = result.requests.total;
  let serverMeanMs = Number.NaN;
  if (target.settle && serverBefore) {
    const after = await target.settle(method);
    count = after.count - serverBefore.count;
    if (count > 0) serverMeanMs = ((after.seconds - serverBefore.seconds) / count) * 1000;
  } else {
    await sleep(Math.max(1000, result.latency.max * 2));
  }
  const sqlAfter = await sqlStatements(db);
  const sqlPerRequest = Object.fromEntries(Object.entries(sqlAfter).map(([k, v]) => [k, (v - (sqlBefore[k] ?? 0)) / Math.max(1, count)]));
  return { name, server: target.role, result, cpu, serverMeanMs, sqlPerRequest, failures };
}

/** The API's own count and total time of `method` requests on the diaries route, once it stands still. */
async function settledServerTime(url: string, method: 'POST' | 'GET'): Promise<{ count: number; seconds: number }> {
  const labels = { method, route: DIARIES };
  const read = (text: string) => ({
    count: metricValue(text, 'http_request_duration_seconds_count', labels),
    seconds: metricValue(text, 'http_request_duration_seconds_sum', labels),
  });
  let last = read(await scrape(url));
  for (let i = 0; i < 50; i++) {
    await sleep(200);
    const again = read(await scrape(url));
    const settled = again.count === last.count;
    last = again;
    if (settled) break;
  }
  return last;
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

/** The same users (same ids) in every database, and an access token for each. */
async function createUsers(db: mariadb.Connection, databases: string[], count: number, jwtConfig: AppConfig['auth']['jwt']): Promise<string[]> {
  const run = randomUUID().slice(0, 8);
  const rows = Array.from({ length: count }, (_, i) => {
    const username = `bench_${run}_${i}`;
    return [`${username}@example.test`, username, `Bench ${i}`];
  });
  let ids: number[] | undefined;
  for (const database of databases) {
    await db.batch(`INSERT INTO \`${database}\`.users (email, username, nickname, role, status) VALUES (?, ?, ?, 'USER', 'ACTIVE')`, rows);
    const users = (await db.query(`SELECT id FROM \`${database}\`.users WHERE username LIKE ? ORDER BY id`, [`bench\\_${run}\\_%`])) as Array<{ id: number }>;
    const these = users.map((u) => u.id);
    if (ids && these.join() !== ids.join()) throw new Error(`user ids differ between ${databases.join(' and ')}`);
    ids = these;
  }
  const tokens = benchTokenIssuer(jwtConfig);
  return (ids ?? []).map((id) => tokens.issue({ userId: String(id), role: 'USER', sessionId: randomUUID() }).accessToken);
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
