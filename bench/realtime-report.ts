/** The printed result of bench/realtime-fanout.ts: memory per instance, then ours against bare. */
import { availableParallelism } from 'node:os';
import { percentile, table, type BenchRow } from './bench-support.js';
import { median, type FanOutResult, type IdleResult, type Memory } from './realtime-measure.js';

export interface SystemResult {
  name: 'ours' | 'bare';
  idle: IdleResult;
  phases: FanOutResult[];
  dropped: Record<string, number>;
}

const MiB = 2 ** 20;
const KiB = 1024;

function perSocket(idle: IdleResult, of: (m: Memory) => number): number {
  const held = idle.instances.reduce((sum, i) => sum + i.held, 0);
  return idle.instances.reduce((sum, i) => sum + of(i.after) - of(i.before), 0) / held / KiB;
}

const cores = (rows: Array<[string, number]>) => rows.map(([role, c]) => `${role} ${c.toFixed(2)}`).join(', ');

export function printReport(ours: SystemResult, bare: SystemResult, heading: string[]): void {
  console.log('');
  for (const line of heading) console.log(line);
  console.log('');
  console.log('idle sockets: memory per instance after a forced GC, settled (external = Buffers/ArrayBuffers outside the V8 heap)');
  console.log(
    table(
      ['instance', 'sockets', 'RSS MiB before', 'after', 'heap MiB before', 'after', 'external MiB before', 'after', 'KiB/socket: RSS', 'heap', 'external'],
      [ours, bare].flatMap((r) =>
        r.idle.instances.map((i) => [
          `${r.name} ${i.label}`,
          i.held,
          i.before.rss / MiB,
          i.after.rss / MiB,
          i.before.heap / MiB,
          i.after.heap / MiB,
          i.before.external / MiB,
          i.after.external / MiB,
          (i.after.rss - i.before.rss) / i.held / KiB,
          (i.after.heap - i.before.heap) / i.held / KiB,
          (i.after.external - i.before.external) / i.held / KiB,
        ]),
      ),
    ),
  );

  // One column per fan-out phase (ours: clients acking, then withholding acks; bare: the same two),
  // then the ratios of the phases that do the same socket work: acked against acked, and both of
  // ours against the bare broadcast without acks (the least a Socket.IO cluster can do).
  const columns = [...ours.phases.map((p) => ({ system: ours, phase: p })), ...bare.phases.map((p) => ({ system: bare, phase: p }))];
  const find = (r: SystemResult, acks: boolean) => r.phases.find((ph) => ph.acks === acks);
  const bareAcked = find(bare, true);
  const barePlain = find(bare, false)!;
  const pairs = [
    ...(find(ours, true) && bareAcked ? [{ label: 'ours ack / bare ack', a: find(ours, true)!, b: bareAcked }] : []),
    ...(find(ours, true) ? [{ label: 'ours ack / bare', a: find(ours, true)!, b: barePlain }] : []),
    ...(find(ours, false) ? [{ label: 'ours withheld / bare', a: find(ours, false)!, b: barePlain }] : []),
  ];
  const systemOf = (ph: FanOutResult) => (ours.phases.includes(ph) ? ours : bare);
  const row = (label: string, f: (s: SystemResult, p: FanOutResult) => number, ratio = true): Array<string | number> => {
    const values = columns.map((c) => f(c.system, c.phase));
    return [
      label,
      ...values,
      ...pairs.map(({ a, b }) => {
        const bv = f(systemOf(b), b);
        return !ratio || bv === 0 || !Number.isFinite(bv) ? '' : (f(systemOf(a), a) / bv).toFixed(2);
      }),
    ];
  };
  const p = (q: number) => (_: SystemResult, phase: FanOutResult) => percentile(phase.latencies, q);
  console.log('');
  console.log('ours vs bare (ratio = ours / bare)');
  console.log(
    table(
      ['', ...columns.map((c) => `${c.phase.label} (${c.phase.sent.length})`), ...pairs.map((x) => `ratio: ${x.label}`)],
      [
        row('connects/s (ours: token + user checked)', (s) => s.idle.connect.sockets / (s.idle.connect.ms / 1000)),
        row('memory per socket: RSS KiB', (s) => perSocket(s.idle, (m) => m.rss)),
        row('memory per socket: heap KiB', (s) => perSocket(s.idle, (m) => m.heap)),
        row('memory per socket: heap + external KiB', (s) => perSocket(s.idle, (m) => m.heap + m.external)),
        row('deliveries/s', (_, ph) => ph.deliveriesPerSec),
        row('server CPU per delivery µs (both instances)', (_, ph) => (ph.serverCpuMs * 1000) / ph.latencies.length),
        row('latency p50 ms', p(50)),
        row('latency p90 ms', p(90)),
        row('latency p99 ms', p(99)),
        row('latency max ms', p(100)),
        row('last socket reached, median ms', (_, ph) => median(ph.fanOutMs)),
        row('trigger request answered, median ms', (_, ph) => median(ph.sent.map((x) => x.postMs).sort((a, b) => a - b))),
        row('deliveries', (_, ph) => ph.latencies.length, false),
        row('missing deliveries', (_, ph) => ph.missing, false),
        row('duplicate deliveries', (_, ph) => ph.duplicates, false),
      ],
    ),
  );

  for (const phase of ours.phases) {
    const acks = phase.sent.flatMap((x) => (x.acksMs === undefined ? [] : [x.acksMs])).sort((a, b) => a - b);
    const idle = phase.sent.flatMap((x) => (x.settledMs === undefined ? [] : [x.settledMs]));
    if (acks.length > 0) console.log(`${phase.label}: every ack stored after ${acks.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} (per broadcast, from the POST)`);
    if (idle.length > 0 && phase.tailCpu.length > 0) {
      const longest = Math.max(...idle);
      console.log(`${phase.label}: servers and stores idle again after ${longest >= 5_000 ? idle.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ') : `at most ${longest.toFixed(0)} ms`}`);
      if (longest >= 5_000) console.log(`  CPU meanwhile (last delivery until idle), in cores of ${availableParallelism()}: ${cores(phase.tailCpu)}`);
    }
  }
  console.log('');
  for (const r of [ours, bare]) for (const phase of r.phases) console.log(`CPU while broadcasts were on their way, ${phase.label}, in cores of ${availableParallelism()}: ${cores(phase.cpu)}`);
  for (const r of [ours, bare]) {
    for (const phase of r.phases) {
      for (const prof of phase.profiles) {
        const share = (ms: number) => `${((ms / prof.summary.busyMs) * 100).toFixed(0)}%`;
        console.log('');
        console.log(`${phase.label}, ${prof.label}: CPU profile of the whole phase, ${(prof.summary.busyMs / 1000).toFixed(1)} s busy (${prof.file})`);
        console.log(`  self time by origin: ${prof.summary.byOrigin.slice(0, 12).map(([o, ms]) => `${o} ${share(ms)}`).join(', ')}`);
        if (prof.summary.oursInclusive.length > 0) console.log(`  our functions, inclusive: ${prof.summary.oursInclusive.slice(0, 8).map(([f, ms]) => `${f} ${share(ms)}`).join('; ')}`);
      }
    }
  }
}

/** The figures `npm run bench` collects (bench/results/realtime.json), each ours against bare from this run. */
export function resultRows(ours: SystemResult, bare: SystemResult, sockets: number): BenchRow[] {
  const find = (r: SystemResult, acks: boolean) => r.phases.find((ph) => ph.acks === acks);
  const connects = (s: SystemResult) => s.idle.connect.sockets / (s.idle.connect.ms / 1000);
  const cpu = (ph: FanOutResult) => (ph.serverCpuMs * 1000) / ph.latencies.length;
  const p99 = (ph: FanOutResult) => percentile(ph.latencies, 99);
  const bareNoAcks = find(bare, false)!;
  const bareAcks = find(bare, true);
  const oursNoAcks = find(ours, false)!;
  const oursAcks = find(ours, true);
  const bareName = 'bare socket.io + redis-adapter, same sockets';
  const rows: BenchRow[] = [
    { path: `connects/s, ${sockets} sockets over 2 instances`, unit: 'connects/s', ours: connects(ours), baseline: connects(bare), baselineName: bareName, better: 'higher', target: '>= 0.6x bare', targetRatio: 0.6, detail: 'ours: JWT, revocation, replay of the inbox and pending announcements' },
    { path: 'heap per idle socket', unit: 'KiB', ours: perSocket(ours.idle, (m) => m.heap), baseline: perSocket(bare.idle, (m) => m.heap), baselineName: bareName, better: 'lower', target: '<= 1.2x bare', targetRatio: 1.2 },
    { path: 'RSS per idle socket', unit: 'KiB', ours: perSocket(ours.idle, (m) => m.rss), baseline: perSocket(bare.idle, (m) => m.rss), baselineName: bareName, better: 'lower' },
    { path: 'fan-out, acks withheld (delivery path alone)', unit: 'deliveries/s', ours: oursNoAcks.deliveriesPerSec, baseline: bareNoAcks.deliveriesPerSec, baselineName: `${bareName}, broadcast without acks`, better: 'higher', target: '>= 1.0x bare', targetRatio: 1.0, detail: `p99 ${p99(oursNoAcks).toFixed(0)} ms vs ${p99(bareNoAcks).toFixed(0)} ms` },
    { path: 'server CPU per delivery, acks withheld', unit: 'µs', ours: cpu(oursNoAcks), baseline: cpu(bareNoAcks), baselineName: `${bareName}, broadcast without acks`, better: 'lower', target: '<= 1.1x bare', targetRatio: 1.1 },
  ];
  if (oursAcks) {
    const stored = oursAcks.sent.flatMap((x) => (x.acksMs === undefined ? [] : [x.acksMs]));
    rows.push({
      path: 'fan-out, clients acking',
      unit: 'deliveries/s',
      ours: oursAcks.deliveriesPerSec,
      baseline: bareNoAcks.deliveriesPerSec,
      baselineName: `${bareName}, broadcast without acks`,
      better: 'higher',
      target: '>= 0.8x bare',
      targetRatio: 0.8,
      detail: `p99 ${p99(oursAcks).toFixed(0)} ms; every ack stored ${stored.length > 0 ? `${(Math.max(...stored) / 1000).toFixed(1)} s` : '-'} after the POST at most${bareAcks ? `; bare with acks ${bareAcks.deliveriesPerSec.toFixed(0)}/s` : ''}`,
    });
  }
  return rows;
}

/** Latency distributions of every phase, as at most `points` (ms, cumulative fraction) pairs for plots. */
export function latencyCdfs(systems: SystemResult[], points = 100): Record<string, Array<[number, number]>> {
  const out: Record<string, Array<[number, number]>> = {};
  for (const s of systems) {
    for (const ph of s.phases) {
      const n = ph.latencies.length;
      out[ph.label] = Array.from({ length: Math.min(points, n) }, (_, i) => {
        const idx = Math.min(n - 1, Math.round(((i + 1) / Math.min(points, n)) * n) - 1);
        return [Math.round(ph.latencies[idx]! * 10) / 10, Math.round(((idx + 1) / n) * 1000) / 1000];
      });
    }
  }
  return out;
}
