/**
 * One soak run: the cluster, the simulated users and an admin, the fault schedule, the drain, and
 * the verdict. Used by `bench/soak.ts` (the long run) and by the short profile in `npm test`.
 */
import { seededRandom } from '../../scripts/seeded-random.js';
import { waitUntil } from '../../kernel/wait.js';
import { createBenchUsers, sleep } from '../bench-support.js';
import { createDiaryTexts } from '../diary-texts.js';
import { startSoakCluster, type SoakCluster } from './soak-cluster.js';
import { describeFault, planFaults, runFault, FAULT_KINDS, type FaultKind, type FaultRecord } from './soak-faults.js';
import { judge, openSnapshotReader, settled, type SoakVerdict, type StoreSnapshot } from './soak-ledger.js';
import { connectDevice, runUser, type SimUser } from './soak-users.js';

export interface SoakOptions {
  users: number;
  durationSec: number;
  faults: number;
  seed: number;
  /** Mean pause between two actions of one user. */
  meanPauseMs: number;
  /** Faults start after this long without any (the baseline window). */
  warmupSec: number;
  /** How long the run may take after the load stops until everything has arrived. */
  drainTimeoutSec: number;
  announceEverySec: number;
  kinds?: readonly FaultKind[];
  apis?: number;
  workers?: number;
  keepData?: boolean;
  log?: (message: string) => void;
}

export interface SoakReport {
  seed: number;
  options: Omit<SoakOptions, 'log'>;
  faults: FaultRecord[];
  verdict: SoakVerdict;
  /** Everything arrived before the drain timeout. */
  settled: boolean;
  drainMs: number;
  writes: Record<string, number>;
  /** Requests without a usable answer, by `<kind> <status>` (status 0: no answer at all). */
  failedRequests: Record<string, number>;
  processStarts: Record<string, number>;
  /** Processes that exited by themselves and were started again by the soak (their supervisor). */
  processCrashes: Record<string, number>;
  announcements: { created: number; owed: number; missing: number };
  rootDir: string;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const random = seededRandom(options.seed);
  log(`starting the cluster (${options.apis ?? 3} APIs behind nginx, ${options.workers ?? 2} workers, toxiproxy on every link)`);
  const cluster = await startSoakCluster({ apis: options.apis ?? 3, workers: options.workers ?? 2, keepData: options.keepData });
  try {
    return await soakOn(cluster, options, random, log);
  } finally {
    await cluster.stop();
  }
}

async function soakOn(cluster: SoakCluster, options: SoakOptions, random: () => number, log: (m: string) => void): Promise<SoakReport> {
  const accounts = await createBenchUsers(cluster.config, 'soak', options.users, 1);
  const admin = accounts.find((a) => a.role === 'ADMIN')!;
  const users: SimUser[] = accounts
    .filter((a) => a.role === 'USER')
    .map((a) => ({
      userId: a.userId,
      token: a.token,
      writes: [],
      failures: [],
      deleted: new Map(),
      devices: [false, true].map((flapping) => connectDevice(cluster.url, `${a.userId}/${flapping ? 'flapping' : 'steady'}`, a.token, flapping, `r${Math.floor(random() * 1e9)}`)),
    }));
  const devices = users.flatMap((u) => u.devices);
  await waitUntil('every device connected', () => devices.every((d) => d.connected()), 120_000, 200);
  log(`${users.length} users with ${devices.length} devices connected through nginx`);

  const runStart = Date.now();
  const stopAt = runStart + options.durationSec * 1000;
  let stopped = false;
  const until = () => stopped || Date.now() >= stopAt;
  const texts = createDiaryTexts(options.seed);
  const loops = users.map((u) =>
    runUser(u, { baseUrl: cluster.url, random, meanPauseMs: options.meanPauseMs, until, flapEveryMs: 12_000, offlineMaxMs: 4_000 }, texts),
  );

  const announcements: Array<{ id: string; at: number }> = [];
  const announcing = (async () => {
    while (!until()) {
      await sleep(options.announceEverySec * 1000);
      if (until()) break;
      const res = await fetch(`${cluster.url}/api/v1/admin/announcements`, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: `Soak ${announcements.length + 1}`, body: 'Scheduled maintenance tonight.' }),
      }).catch(() => undefined);
      if (res?.status === 201) announcements.push({ id: String(((await res.json()) as { id: string }).id), at: Date.now() });
    }
  })();

  const plan = planFaults(random, options.faults, cluster, options.kinds ?? FAULT_KINDS);
  const faults: FaultRecord[] = [];
  const faultStart = runStart + options.warmupSec * 1000;
  const slotMs = Math.max(1, stopAt - faultStart) / Math.max(1, plan.length);
  const progress = setInterval(() => {
    const writes = users.reduce((s, u) => s + u.writes.length, 0);
    const received = devices.reduce((s, d) => s + d.received.size, 0);
    log(`t+${Math.round((Date.now() - runStart) / 1000)}s: ${writes} writes, ${received} deliveries, ${faults.length}/${plan.length} faults`);
  }, 30_000);
  try {
    for (const [i, fault] of plan.entries()) {
      const due = faultStart + i * slotMs;
      if (due > Date.now()) await sleep(due - Date.now());
      if (Date.now() >= stopAt) break;
      log(`fault ${i + 1}/${plan.length}: ${describeFault(fault)}`);
      const done = await runFault(cluster, fault, i + 1, random);
      if (done.error) log(`fault ${i + 1} did not complete: ${done.error}`);
      faults.push(done);
    }
    await Promise.all([...loops, announcing]);
  } finally {
    stopped = true;
    clearInterval(progress);
  }
  await cluster.toxiproxy.reset();

  // Drain: every device back, until every entry is analysed at its last revision and every stored
  // notification is on every device, or the timeout.
  for (const d of devices) if (!d.connected()) d.reconnect();
  const drainStart = Date.now();
  const userIds = users.map((u) => u.userId);
  const reader = await openSnapshotReader(cluster.config);
  let snapshot: StoreSnapshot;
  let state: { unfinished: number; undelivered: number };
  let drainMs: number;
  try {
    snapshot = await reader.read(userIds);
    state = settled(snapshot, users);
    while ((state.unfinished > 0 || state.undelivered > 0) && Date.now() - drainStart < options.drainTimeoutSec * 1000) {
      await sleep(1_000);
      for (const d of devices) if (!d.connected()) d.reconnect();
      snapshot = await reader.read(userIds);
      state = settled(snapshot, users);
    }
    drainMs = Date.now() - drainStart;
    log(`drain: ${drainMs} ms (${state.unfinished} entries unfinished, ${state.undelivered} deliveries missing)`);
    // Let late duplicates and regressions arrive before counting.
    await sleep(2_000);
    snapshot = await reader.read(userIds);
  } finally {
    await reader.close();
  }

  const owed = announcements.length * users.length;
  let missing = 0;
  for (const a of announcements) for (const u of users) if (!u.devices.some((d) => d.announcements.has(a.id))) missing++;
  for (const d of devices) d.close();

  const writes: Record<string, number> = {};
  for (const u of users) for (const w of u.writes) writes[w.kind] = (writes[w.kind] ?? 0) + 1;
  const failedRequests: Record<string, number> = {};
  for (const u of users) for (const f of u.failures) failedRequests[`${f.kind} ${f.status}`] = (failedRequests[`${f.kind} ${f.status}`] ?? 0) + 1;
  return {
    seed: options.seed,
    options: { ...options, log: undefined } as Omit<SoakOptions, 'log'>,
    faults,
    verdict: judge(snapshot, users, faults, runStart),
    settled: state.unfinished === 0 && state.undelivered === 0,
    drainMs,
    writes,
    failedRequests,
    processStarts: Object.fromEntries([...cluster.apis, ...cluster.workers].map((n) => [n.name, n.starts])),
    processCrashes: Object.fromEntries([...cluster.apis, ...cluster.workers].map((n) => [n.name, n.crashes])),
    announcements: { created: announcements.length, owed, missing },
    rootDir: cluster.rootDir,
  };
}
