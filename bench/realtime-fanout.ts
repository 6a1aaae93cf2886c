/**
 * Idle sockets, memory per socket and broadcast fan-out of our API, against a bare socket.io +
 * Redis adapter server doing only the broadcast, in one run:
 *   npx tsx bench/realtime-fanout.ts [--sockets 2000] [--broadcasts 20] [--acked 10] [--client-procs 2]
 *
 * Each system in turn (ours, then the baseline) runs 2 instances on one Redis. Idle: warm up,
 * read each instance's memory (forced GC through the inspector, then VmRSS, V8 heap used and
 * external memory), connect --sockets clients split evenly (ours: one user per socket), settle,
 * read again. Fan-out: broadcasts through instance 1, every delivery timed from the moment the
 * trigger request was sent. Ours has two phases on the same sockets: --acked broadcasts with the
 * clients acking as the contract says, each waited for until every ack is stored and the servers
 * and stores are idle again; then --broadcasts with the clients withholding acks, which leaves
 * the server's delivery path (per-socket emit with an ack timeout) without ack storage. The
 * baseline gets the same two: --acked broadcasts asking every socket for an ack (socket.io's
 * broadcast with acknowledgements, on each instance for its own sockets), then --broadcasts
 * without. Exits 1 on a failed connect, a missing delivery or a dropped socket.
 */
import mongoose from 'mongoose';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, type AppConfig } from '../config/index.js';
import { announcementAckId, defineMongoModels, notificationId } from '../models/mongo/index.js';
import { runMigrate } from '../src/cli/migrate-command.js';
import { createLogger } from '../kernel/logger.js';
import { startProcess } from '../scripts/services/index.js';
import {
  APP_ROOT,
  ROOT,
  createBenchUsers,
  freePort,
  log,
  machineInfo,
  metricValue,
  numericArgs,
  onCleanup,
  poll,
  runBench,
  sleep,
  startBenchServices,
  waitForHttp,
  withTimeout,
  writeBenchResults,
  type BenchServices,
} from './bench-support.js';
import { now } from './realtime-clients.js';
import { openInspector } from './realtime-inspector.js';
import { dropped, fanOut, idleSockets, type Instance, type PhaseOptions, type System } from './realtime-measure.js';
import { nodeChildOf, openFileLimit } from './realtime-procs.js';
import { latencyCdfs, printReport, resultRows, type SystemResult } from './realtime-report.js';

const USAGE = `usage: npx tsx bench/realtime-fanout.ts [--sockets 2000] [--broadcasts 20] [--acked 10] [--client-procs 2]
    [--interval 0] [--concurrency 50] [--warmup 50] [--settle 5] [--gap 250] [--timeout 60] [--quiet-timeout 900] [--inbox 0]
  --broadcasts     broadcasts without acks: to ours with the clients withholding them, and to the baseline
  --acked          broadcasts with the clients acking, to ours (each waited for until every ack is stored
                   and the servers are idle again) and to the baseline; 0 skips those phases
  --interval ms    0: one broadcast at a time, the next once the servers are idle again;
                   >0: one every that many ms regardless (not for --acked)
  --client-procs   K: the client sockets in K forked client processes (one process alone is the
                   bottleneck for the baseline on 2 cores); 0: all in this process
  --concurrency    connects in flight per client process; --warmup: sockets per instance before "before"
  --settle s       pause before each memory reading; --gap ms: pause between sequential broadcasts
  --timeout s      how long one broadcast may take to reach every socket
  --quiet-timeout s  how long the servers may stay busy after one broadcast
  --inbox N        N notifications (acknowledged) in the store before the sockets connect, spread over
                   the users: a connect reads the user's inbox, so its cost must not grow with N`;

const TITLE = 'Scheduled maintenance tonight';
const BODY = 'The diary will be read-only from 02:00 to 02:30 UTC while we upgrade the analysis service. Entries you write meanwhile are kept on your device and sent when we are back.';


const DEFAULTS = { sockets: 2000, broadcasts: 20, acked: 10, clientProcs: 2, interval: 0, concurrency: 50, warmup: 50, settle: 5, gap: 250, timeout: 60, quietTimeout: 900, inbox: 0 };

runBench('realtime-fanout', async () => {
  const args = numericArgs(process.argv.slice(2), DEFAULTS, USAGE);
  if (args.sockets < 2 || args.broadcasts < 1 || args.concurrency < 1) throw new Error(`--sockets must be >= 2, --broadcasts and --concurrency >= 1\n${USAGE}`);
  const machine = machineInfo();
  log(machine);
  const fdLimit = openFileLimit();
  // One descriptor per socket in a client process and one in a server; plus libraries, logs, services.
  const fdNeeded = Math.ceil(args.sockets / Math.max(1, args.clientProcs)) + 1024;
  if (fdLimit < fdNeeded) throw new Error(`open-file limit (ulimit -n) is ${fdLimit}, about ${fdNeeded} are needed for ${args.sockets} sockets: run \`ulimit -n ${Math.max(65536, fdNeeded)}\` first`);
  log(`open-file limit ${fdLimit} (about ${fdNeeded} needed)`);
  const profileDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const phase = (label: string, acks: boolean, broadcasts: number, profileTag: string): PhaseOptions => ({
    label,
    acks,
    broadcasts,
    intervalMs: acks ? 0 : args.interval,
    gapMs: args.gap,
    timeoutMs: args.timeout * 1000,
    quietTimeoutMs: args.quietTimeout * 1000,
    profileTag,
    ...(profileDir ? { profileDir } : {}),
  });
  // BENCH_HEAP_SNAPSHOT=<dir>: a heap snapshot of the first instance of each system with its idle sockets.
  const heapDir = process.env.BENCH_HEAP_SNAPSHOT ? path.resolve(process.env.BENCH_HEAP_SNAPSHOT) : undefined;
  if (heapDir) mkdirSync(heapDir, { recursive: true });
  const idleOptions = { clientProcs: args.clientProcs, concurrency: args.concurrency, warmup: args.warmup, settleMs: args.settle * 1000, ...(profileDir ? { profileDir } : {}), ...(heapDir ? { heapDir } : {}) };

  const bench = await startBenchServices('rtfan', { profile: process.env.BENCH_PROFILE ?? 'production' });
  const config = loadConfig({ ...bench.env, INSTANCE_ID: 'bench' });
  log(`migrating ${bench.namespace}`);
  await withTimeout(runMigrate(config, createLogger(config, 'bench'), 'up'), 120_000, 'migrate');
  const users = await createUsers(config, args.sockets);
  log(`${users.tokens.length} users (one socket each) and an admin`);
  if (args.inbox > 0) {
    await seedInbox(config, users.userIds, args.inbox);
    // The store indexes and vacuums after a bulk load; let that pass before measuring connects.
    await sleep(20_000);
  }

  const ours = await startOurs(bench, config, users.adminToken, users.userIds);
  const oursIdle = await idleSockets(ours, users.tokens.map((token, i) => ({ url: ours.instances[i % 2]!.url, token })), idleOptions);
  const oursPhases = [];
  if (args.acked > 0) oursPhases.push(await fanOut(ours, oursIdle.groups, args.sockets, phase('ours, clients ack', true, args.acked, 'acked')));
  oursPhases.push(await fanOut(ours, oursIdle.groups, args.sockets, phase('ours, acks withheld', false, args.broadcasts, 'no-acks')));
  const oursResult: SystemResult = { name: 'ours', idle: oursIdle, phases: oursPhases, dropped: await dropped(oursIdle.groups) };
  await Promise.all(oursIdle.groups.map((g) => g.close()));
  await ours.stop();

  const bare = await startBare(bench);
  const bareIdle = await idleSockets(bare, Array.from({ length: args.sockets }, (_, i) => ({ url: bare.instances[i % 2]!.url })), idleOptions);
  const barePhases = [];
  if (args.acked > 0) barePhases.push(await fanOut(bare, bareIdle.groups, args.sockets, phase('bare, clients ack', true, args.acked, 'bare-acked')));
  barePhases.push(await fanOut(bare, bareIdle.groups, args.sockets, phase('bare', false, args.broadcasts, 'bare')));
  const bareResult: SystemResult = { name: 'bare', idle: bareIdle, phases: barePhases, dropped: await dropped(bareIdle.groups) };
  await Promise.all(bareIdle.groups.map((g) => g.close()));
  await bare.stop();

  printReport(oursResult, bareResult, [
    `realtime-fanout: ${args.sockets} sockets over 2 instances; ${args.interval > 0 ? `a broadcast every ${args.interval} ms` : 'one broadcast at a time, the next once the servers are idle again'}`,
    `machine: ${machine}; open-file limit ${fdLimit}`,
    `clients: ${args.clientProcs === 0 ? 'all in the benchmark process' : `${args.clientProcs} client processes`}; ours: one user per socket, profile ${config.profile}; mongo-wire store: ${bench.services.started.mongo?.flavour ?? 'MONGO_URL'}; inbox: ${args.inbox} notifications stored before the connects`,
  ]);
  writeBenchResults('realtime', resultRows(oursResult, bareResult, args.sockets), { latencyCdf: latencyCdfs([oursResult, bareResult]) });
  const problems = [oursResult, bareResult].flatMap((r) => [
    ...r.phases.filter((ph) => ph.missing > 0).map((ph) => `${ph.label}: ${ph.missing} deliveries missing`),
    ...(Object.keys(r.dropped).length > 0 ? [`${r.name}: sockets dropped during the run: ${JSON.stringify(r.dropped)}`] : []),
  ]);
  for (const problem of problems) console.error(`FAIL ${problem}`);
  return problems.length > 0 ? 1 : 0;
});

/** Acknowledged notifications spread over the users, as weeks of use leave them, written straight to the store. */
async function seedInbox(config: AppConfig, userIds: string[], count: number): Promise<void> {
  const started = now();
  const mongo = await mongoose.createConnection(config.mongo.url).asPromise();
  try {
    const models = defineMongoModels(mongo);
    const perUser = new Map<string, number>();
    for (let done = 0; done < count; ) {
      const batch = [];
      for (let i = 0; i < 1_000 && done < count; i++, done++) {
        const userId = userIds[done % userIds.length]!;
        const seq = (perUser.get(userId) ?? 0) + 1;
        perUser.set(userId, seq);
        batch.push({ _id: notificationId(userId, seq), userId, seq, eventId: randomUUID(), type: 'analysis.status', payload: { diaryId: `${userId}-${seq}`, revision: 1, status: 'COMPLETED' }, diaryId: `${userId}-${seq}`, acked: true, ackedAt: new Date(), createdAt: new Date() });
      }
      await models.Notification.collection.insertMany(batch as never, { ordered: false });
    }
    const heads = [...perUser].map(([userId, seq]) => ({ _id: userId, seq }));
    for (let i = 0; i < heads.length; i += 1_000) await models.NotificationHead.collection.insertMany(heads.slice(i, i + 1_000) as never);
    log(`inbox: ${count} notifications over ${perUser.size} users stored in ${((now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await mongo.close();
  }
}

async function createUsers(config: AppConfig, count: number): Promise<{ tokens: string[]; userIds: string[]; adminToken: string }> {
  const users = await createBenchUsers(config, 'rt', count, 1);
  const plain = users.filter((u) => u.role === 'USER');
  return { tokens: plain.map((u) => u.token), userIds: plain.map((u) => u.userId), adminToken: users.find((u) => u.role === 'ADMIN')!.token };
}

/**
 * A node child under the services' watchdog, with the inspector on a loopback port (forced GC
 * for memory readings, CPU profiles), ready when `readyPath` answers 200.
 */
async function startInstance(bench: BenchServices, label: string, script: string[], env: Record<string, string>, readyPath: string): Promise<Instance> {
  const [port, inspectPort] = [await freePort(), await freePort()];
  const logFile = path.join(bench.rootDir, 'logs', `${label}.log`);
  const proc = startProcess(label, process.execPath, [`--inspect=127.0.0.1:${inspectPort}`, '--import', 'tsx', ...script], {
    cwd: script[0]?.startsWith(APP_ROOT) ? APP_ROOT : ROOT,
    logFile,
    env: { ...bench.env, ...env, PORT: String(port) },
  });
  const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
  onCleanup(label, () => proc.stop(15_000));
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}${readyPath}`, { pid: proc.child.pid ?? -1, exited, stop: () => proc.stop() }, 90_000, logFile);
  const pid = await poll(`${label}: node process`, async () => nodeChildOf(proc.child.pid ?? -1), 5_000);
  const inspector = await openInspector(inspectPort, 10_000);
  // An attached inspector would keep the process waiting at exit: detach before stopping it.
  onCleanup(`${label} inspector`, async () => inspector.close());
  log(`${label} ready at ${url} (pid ${pid}, log ${logFile})`);
  return {
    label,
    url,
    pid,
    inspector,
    stop: async () => {
      inspector.close();
      await proc.stop(15_000);
    },
  };
}

async function startOurs(bench: BenchServices, config: AppConfig, adminToken: string, userIds: string[]): Promise<System> {
  const instances: Instance[] = [];
  for (const label of ['api-1', 'api-2']) {
    const env = {
      METRICS_PORT: String(await freePort()),
      INSTANCE_ID: label,
      // Every bench socket comes from 127.0.0.1: the per-address handshake budget (an attacker's
      // connect storm) would refuse all but the first few hundred of them.
      APP__REALTIME__HANDSHAKES_PER_ADDRESS_PER_WINDOW: String(Math.max(300, userIds.length * 2)),
    };
    instances.push(await startInstance(bench, label, [path.join(APP_ROOT, 'src/main.ts'), 'api'], env, '/readyz'));
  }
  const mongo = await mongoose.createConnection(config.mongo.url, { serverSelectionTimeoutMS: 10_000 }).asPromise();
  onCleanup('bench mongo connection', () => mongo.close());
  const acks = mongo.collection('announcement_acks');
  return {
    name: 'ours',
    instances,
    async socketsOn(instance) {
      const res = await request(`${instance.label}: GET /metrics`, `${instance.url}/metrics`, {}, 10_000);
      if (!res.ok) throw new Error(`${instance.label}: GET /metrics answered ${res.status}`);
      return metricValue(await res.text(), 'socketio_connected_sockets', { namespace: '/' });
    },
    async broadcast(k) {
      const res = await request(
        `broadcast ${k + 1}: POST /api/v1/admin/announcements`,
        `${instances[0]!.url}/api/v1/admin/announcements`,
        { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ title: TITLE, body: `${BODY} (#${k + 1})` }) },
        30_000,
      );
      const body = (await res.json().catch(() => undefined)) as { id?: string } | undefined;
      if (res.status !== 201 || !body?.id) throw new Error(`POST /api/v1/admin/announcements answered ${res.status}: ${JSON.stringify(body)}`);
      return body.id;
    },
    async acksStored(id, expected, timeoutMs) {
      // The ack documents themselves, by `_id` (`<announcementId>:<userId>`), 4 times a second.
      const ids = userIds.map((userId) => announcementAckId(id, userId));
      const deadline = now() + timeoutMs;
      while (now() < deadline) {
        if ((await acks.countDocuments({ _id: { $in: ids } } as never)) >= expected) return now();
        await sleep(250);
      }
      return undefined;
    },
    async stop() {
      await Promise.all(instances.map((i) => i.stop()));
      await mongo.close();
    },
  };
}

async function startBare(bench: BenchServices): Promise<System> {
  const instances: Instance[] = [];
  for (const label of ['bare-1', 'bare-2']) {
    instances.push(await startInstance(bench, label, [path.join(ROOT, 'bench/realtime-bare-server.ts')], { ADAPTER_KEY: `${bench.namespace}-bare` }, '/healthz'));
  }
  return {
    name: 'bare',
    instances,
    async socketsOn(instance) {
      const res = await request(`${instance.label}: GET /stats`, `${instance.url}/stats`, {}, 10_000);
      return ((await res.json()) as { sockets: number }).sockets;
    },
    async broadcast(k, acked) {
      const id = randomUUID();
      const res = await request(
        `broadcast ${k + 1}: POST /broadcast`,
        `${instances[0]!.url}/broadcast${acked ? '?acked=1' : ''}`,
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, title: TITLE, body: `${BODY} (#${k + 1})`, createdAt: new Date().toISOString() }) },
        30_000,
      );
      if (res.status !== 202) throw new Error(`POST /broadcast answered ${res.status}: ${await res.text()}`);
      return id;
    },
    stop: () => Promise.all(instances.map((i) => i.stop())).then(() => undefined),
  };
}

/** fetch with a timeout and an error that says what was asked. */
async function request(what: string, url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error(`${what}: ${err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : String(err)}`, { cause: err });
  }
}

