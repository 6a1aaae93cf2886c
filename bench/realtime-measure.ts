/**
 * The two measurements of bench/realtime-fanout.ts, the same for our API and the baseline:
 * idle sockets (memory of each instance before and after connecting them, after a forced GC) and
 * broadcast fan-out (every delivery timed from the moment the trigger request was sent).
 */
import path from 'node:path';
import { ROOT, log, onCleanup, percentile, sleep } from './bench-support.js';
import { forkedClients, localClients, now, type ClientGroup, type ClientReport, type ClientTarget } from './realtime-clients.js';
import { summarizeProfile, writeProfile, type Inspector, type ProfileSummary } from './realtime-inspector.js';
import { CpuWindows, cpuSnapshot, rssBytes } from './realtime-procs.js';

export interface Instance {
  label: string;
  url: string;
  /** The node process (not its watchdog shell). */
  pid: number;
  inspector: Inspector;
  stop(): Promise<void>;
}

export interface System {
  name: 'ours' | 'bare';
  instances: Instance[];
  socketsOn(instance: Instance): Promise<number>;
  /** Sends broadcast number `k` through instance 1 (asking for acks when `acked`); resolves with its id once answered. */
  broadcast(k: number, acked: boolean): Promise<string>;
  /** Ours only: waits until `expected` acks of `id` are stored; resolves with the time (`now()`) it saw them. */
  acksStored?(id: string, expected: number, timeoutMs: number): Promise<number | undefined>;
  stop(): Promise<void>;
}

export interface Memory {
  /** VmRSS of the process. */
  rss: number;
  /** V8 heap in use. */
  heap: number;
  /** Memory of C++ objects bound to JS (Buffers, ArrayBuffers: socket read/write buffers). */
  external: number;
}

export interface IdleResult {
  instances: Array<{ label: string; held: number; before: Memory; after: Memory }>;
  connect: { sockets: number; ms: number };
  groups: ClientGroup[];
}

export interface Sent {
  id: string;
  sentAt: number;
  postMs: number;
  /** ms from sending until every ack was stored (ours, clients acking). */
  acksMs?: number;
  /** ms from sending until the servers and their stores were idle again (sequential mode). */
  settledMs?: number;
}

export interface FanOutResult {
  label: string;
  /** Whether the clients acked in this phase. */
  acks: boolean;
  sent: Sent[];
  /** Every delivery's latency, ascending. */
  latencies: number[];
  /** Time until the last socket had it, per broadcast, ascending. */
  fanOutMs: number[];
  deliveriesPerSec: number;
  missing: number;
  duplicates: number;
  /** Mean cores per role while broadcasts were on their way. */
  cpu: Array<[string, number]>;
  /** CPU time of the instances together while broadcasts were on their way, ms. */
  serverCpuMs: number;
  /** Mean cores per role from the last delivery until the servers were idle again (sequential mode). */
  tailCpu: Array<[string, number]>;
  profiles: Array<{ label: string; file: string; summary: ProfileSummary }>;
}

export interface PhaseOptions {
  label: string;
  /** Whether clients ack (the contract) and, for ours, the phase waits until every ack is stored. */
  acks: boolean;
  broadcasts: number;
  /** 0: one at a time, each waited for until the servers are idle again; >0: one every this many ms. */
  intervalMs: number;
  gapMs: number;
  timeoutMs: number;
  quietTimeoutMs: number;
  /** Where to write CPU profiles of the instances (one per phase), if anywhere. */
  profileDir?: string;
  /** File-name tag of this phase's profiles. */
  profileTag: string;
}

async function memoryOf(instance: Instance): Promise<Memory> {
  const usage = await instance.inspector.settledMemory();
  return { rss: rssBytes(instance.pid), heap: usage.heapUsed, external: usage.external };
}

/**
 * Connects `targets` (split evenly over the instances by the caller) and reads each instance's
 * memory before and after; the sockets stay connected for the fan-out phases.
 */
export async function idleSockets(
  system: System,
  targets: ClientTarget[],
  opts: { clientProcs: number; concurrency: number; warmup: number; settleMs: number; profileDir?: string; heapDir?: string },
): Promise<IdleResult> {
  const { name } = system;
  if (opts.warmup > 0) {
    // The first connections compile code paths and build lazily created structures; counting
    // them would charge the first sockets for one-off costs.
    const warm = localClients();
    const warmed = await warm.connect(targets.slice(0, opts.warmup * system.instances.length), opts.concurrency, 20_000);
    await warm.close();
    if (warmed.failed > 0) throw new Error(`${name}: warm-up connects failed: ${warmed.errors.join('; ')}`);
  }
  await sleep(opts.settleMs);
  if (opts.heapDir) await system.instances[0]!.inspector.writeHeapSnapshot(path.join(opts.heapDir, `${system.instances[0]!.label}-before.heapsnapshot`));
  const before = await Promise.all(system.instances.map(memoryOf));

  const groups: ClientGroup[] = opts.clientProcs === 0 ? [localClients()] : Array.from({ length: opts.clientProcs }, () => forkedClients(ROOT));
  onCleanup(`${name} clients`, () => Promise.all(groups.map((g) => g.close())));
  log(`${name}: connecting ${targets.length} sockets (${opts.clientProcs === 0 ? 'in this process' : `from ${opts.clientProcs} client processes`}, ${opts.concurrency} in flight each)`);
  if (opts.profileDir) await Promise.all(system.instances.map((i) => i.inspector.startProfile(1000)));
  const started = now();
  const connects = await Promise.all(groups.map((g, j) => g.connect(targets.filter((_, i) => i % groups.length === j), opts.concurrency, 20_000)));
  const ms = now() - started;
  if (opts.profileDir) {
    for (const instance of system.instances) {
      const file = path.join(opts.profileDir, `${instance.label}-connects.cpuprofile`);
      writeProfile(file, await instance.inspector.stopProfile());
      log(`${name}: CPU profile of the connects of ${instance.label} in ${file}`);
    }
  }
  const failed = connects.reduce((sum, c) => sum + c.failed, 0);
  if (failed > 0) throw new Error(`${name}: ${failed} of ${targets.length} sockets failed to connect: ${connects.flatMap((c) => c.errors).slice(0, 5).join('; ')}`);
  log(`${name}: ${targets.length} sockets connected in ${(ms / 1000).toFixed(1)} s; settling ${opts.settleMs / 1000} s`);
  await sleep(opts.settleMs);
  const held = await Promise.all(system.instances.map((i) => system.socketsOn(i)));
  const after = await Promise.all(system.instances.map(memoryOf));
  if (opts.heapDir) {
    const file = path.join(opts.heapDir, `${system.instances[0]!.label}-after.heapsnapshot`);
    await system.instances[0]!.inspector.writeHeapSnapshot(file);
    log(`${name}: heap snapshots of ${system.instances[0]!.label} before the connects and with its sockets in ${opts.heapDir}`);
  }
  if (held.reduce((a, b) => a + b, 0) !== targets.length) throw new Error(`${name}: the instances hold ${held.join(' + ')} sockets, ${targets.length} connected`);
  return { instances: system.instances.map((i, j) => ({ label: i.label, held: held[j]!, before: before[j]!, after: after[j]! })), connect: { sockets: targets.length, ms }, groups };
}

/** Resolves once every group together has `expected` receipts of each id, or the time is up. */
async function untilDelivered(groups: ClientGroup[], ids: string[], expected: number, timeoutMs: number): Promise<void> {
  const deadline = now() + timeoutMs;
  while (now() < deadline) {
    const counts = await Promise.all(groups.map((g) => g.counts(ids)));
    if (ids.every((_, i) => counts.reduce((sum, c) => sum + (c[i] ?? 0), 0) >= expected)) return;
    await sleep(10);
  }
}

/** Mean cores of `roles` together over `ms`. */
async function coresOf(labels: ReadonlyMap<number, string>, roles: string[], ms: number): Promise<number> {
  const before = cpuSnapshot(labels);
  await sleep(ms);
  const window = new CpuWindows();
  window.add(before, cpuSnapshot(labels));
  return roles.reduce((sum, role) => sum + (window.coreSeconds.get(role) ?? 0), 0) / window.seconds;
}

/**
 * Resolves once the servers and their stores have been back at their background level
 * (`backgroundCores` + 0.05) for a second, with the `now()` time their work ended; undefined if
 * that does not happen in time. What a broadcast sets off after its deliveries (ours: storing and
 * counting every ack) must not run into the next one.
 */
async function untilQuiet(labels: ReadonlyMap<number, string>, roles: string[], backgroundCores: number, timeoutMs: number): Promise<number | undefined> {
  const started = now();
  let previous = cpuSnapshot(labels);
  let told = started;
  while (now() < started + timeoutMs) {
    await sleep(1_000);
    const current = cpuSnapshot(labels);
    const window = new CpuWindows();
    window.add(previous, current);
    const busy = roles.map((role): [string, number] => [role, (window.coreSeconds.get(role) ?? 0) / window.seconds]);
    // cpuSnapshot times are Date.now(); delivery times are now(): convert through the present.
    if (busy.reduce((sum, [, c]) => sum + c, 0) < backgroundCores + 0.05) return now() - (Date.now() - previous.at);
    if (now() - told >= 15_000) {
      told = now();
      log(`  still busy after ${((now() - started) / 1000).toFixed(0)} s: ${busy.map(([role, c]) => `${role} ${c.toFixed(2)}`).join(', ')} cores`);
    }
    previous = current;
  }
  return undefined;
}

/** Sends `opts.broadcasts` broadcasts to the connected sockets of `groups` and times every delivery. */
export async function fanOut(system: System, groups: ClientGroup[], expected: number, opts: PhaseOptions): Promise<FanOutResult> {
  const labels = new Map(system.instances.map((i) => [i.pid, i.label]));
  const quietRoles = [...system.instances.map((i) => i.label), 'mongo-wire', 'redis'];
  await Promise.all(groups.map((g) => g.setAck(opts.acks)));
  if (opts.profileDir) await Promise.all(system.instances.map((i) => i.inspector.startProfile(1000)));
  // Our API is never fully idle (Kafka consumer, outbox relay, activity feed, catch-up rounds),
  // and a running profiler costs a little too: "idle" is relative to this.
  const background = await coresOf(labels, quietRoles, 5_000);
  log(`${opts.label}: background load of the servers and stores before the first broadcast: ${background.toFixed(2)} cores`);
  const cpu = new CpuWindows();
  const tailCpu = new CpuWindows();
  const sent: Sent[] = [];
  log(`${opts.label}: ${opts.broadcasts} broadcasts to ${expected} sockets${opts.intervalMs > 0 ? `, one every ${opts.intervalMs} ms` : ', one at a time'}`);
  if (opts.intervalMs === 0) {
    for (let k = 0; k < opts.broadcasts; k++) {
      const cpuBefore = cpuSnapshot(labels);
      const sentAt = now();
      const id = await system.broadcast(k, opts.acks);
      const postMs = now() - sentAt;
      await untilDelivered(groups, [id], expected, opts.timeoutMs);
      const delivered = cpuSnapshot(labels);
      cpu.add(cpuBefore, delivered);
      const stored = opts.acks && system.acksStored ? await system.acksStored(id, expected, opts.quietTimeoutMs) : undefined;
      const quiet = await untilQuiet(labels, quietRoles, background, opts.quietTimeoutMs);
      tailCpu.add(delivered, cpuSnapshot(labels));
      sent.push({ id, sentAt, postMs, ...(stored !== undefined ? { acksMs: stored - sentAt } : {}), ...(quiet !== undefined ? { settledMs: Math.max(0, quiet - sentAt) } : {}) });
      const count = (await Promise.all(groups.map((g) => g.counts([id])))).reduce((sum, [c]) => sum + (c ?? 0), 0);
      log(
        `${opts.label}: broadcast ${k + 1}: request answered in ${postMs.toFixed(0)} ms, ${count}/${expected} delivered` +
          (opts.acks && system.acksStored ? `, ${stored === undefined ? 'acks NOT all stored in time' : `all acks stored after ${(stored - sentAt).toFixed(0)} ms`}` : '') +
          `, servers idle again ${quiet === undefined ? `NOT within ${opts.quietTimeoutMs / 1000} s` : `after ${(quiet - sentAt).toFixed(0)} ms`}`,
      );
      await sleep(opts.gapMs);
    }
  } else {
    const cpuBefore = cpuSnapshot(labels);
    const started = now();
    const inflight: Array<Promise<Sent>> = [];
    for (let k = 0; k < opts.broadcasts; k++) {
      const sentAt = now();
      inflight.push(system.broadcast(k, opts.acks).then((id) => ({ id, sentAt, postMs: now() - sentAt })));
      await sleep(Math.max(0, started + (k + 1) * opts.intervalMs - now()));
    }
    sent.push(...(await Promise.all(inflight)));
    await untilDelivered(groups, sent.map((s) => s.id), expected, opts.timeoutMs);
    cpu.add(cpuBefore, cpuSnapshot(labels));
  }
  const profiles: FanOutResult['profiles'] = [];
  if (opts.profileDir) {
    for (const instance of system.instances) {
      const profile = await instance.inspector.stopProfile();
      const file = path.join(opts.profileDir, `${instance.label}-${opts.profileTag}.cpuprofile`);
      writeProfile(file, profile);
      profiles.push({ label: instance.label, file, summary: summarizeProfile(profile) });
    }
  }
  const reports = await Promise.all(groups.map((g) => g.report()));
  const serverCpuMs = system.instances.reduce((sum, i) => sum + (cpu.coreSeconds.get(i.label) ?? 0), 0) * 1000;
  return { label: opts.label, acks: opts.acks, ...deliveryFigures(sent, reports, expected), cpu: cpu.cores(), serverCpuMs, tailCpu: tailCpu.cores(), profiles };
}

function deliveryFigures(sent: Sent[], reports: ClientReport[], expected: number) {
  const latencies: number[] = [];
  const fanOutMs: number[] = [];
  const busy: Array<[number, number]> = [];
  let missing = 0;
  let duplicates = 0;
  for (const s of sent) {
    const times = reports.flatMap((r) => r.receipts[s.id] ?? []);
    missing += Math.max(0, expected - times.length);
    duplicates += reports.reduce((sum, r) => sum + (r.duplicates[s.id] ?? 0), 0);
    for (const t of times) latencies.push(t - s.sentAt);
    const last = times.reduce((max, t) => Math.max(max, t), s.sentAt);
    fanOutMs.push(last - s.sentAt);
    busy.push([s.sentAt, last]);
  }
  latencies.sort((a, b) => a - b);
  fanOutMs.sort((a, b) => a - b);
  // Over the time some broadcast was on its way (overlapping ones counted once), not the pauses.
  return { sent, latencies, fanOutMs, deliveriesPerSec: latencies.length / (unionMs(busy) / 1000), missing, duplicates };
}

function unionMs(intervals: Array<[number, number]>): number {
  let total = 0;
  let end = Number.NEGATIVE_INFINITY;
  for (const [a, b] of [...intervals].sort((x, y) => x[0] - y[0])) {
    if (b <= end) continue;
    total += b - Math.max(a, end);
    end = b;
  }
  return total;
}

/** Sockets the benchmark did not close that dropped during the run, by reason. */
export async function dropped(groups: ClientGroup[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of await Promise.all(groups.map((g) => g.report()))) for (const [reason, n] of Object.entries(r.disconnects)) out[reason] = (out[reason] ?? 0) + n;
  return out;
}

export const median = (sorted: number[]): number => percentile(sorted, 50);
