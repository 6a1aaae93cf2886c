/**
 * Where the CPU went during a benchmark phase, from /proc (Linux only; elsewhere it reports
 * nothing): CPU time of every process this benchmark started, grouped by role, plus everything
 * else the machine ran meanwhile (other people's tests on a shared box skew the figures).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

interface Snapshot {
  at: number;
  /** CPU ticks per role of our own process tree. */
  ours: Map<string, number>;
  /** Busy ticks of the whole machine (all CPUs). */
  machineBusy: number;
}

export const TICKS_PER_SEC = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcInfo {
  ppid: number;
  ticks: number;
  cmd: string;
}

function readProc(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may itself contain spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return { ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]), cmd };
  } catch {
    return undefined;
  }
}

/** Every process on the machine, by pid. */
export function allProcs(): Map<number, ProcInfo> {
  const procs = new Map<number, ProcInfo>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const info = readProc(Number(entry));
    if (info) procs.set(Number(entry), info);
  }
  return procs;
}

/** Busy ticks of the whole machine (all CPUs). */
export function machineBusyTicks(): number {
  const [, ...values] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/);
  const n = values.map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  return (n[0] ?? 0) + (n[1] ?? 0) + (n[2] ?? 0) + (n[5] ?? 0) + (n[6] ?? 0) + (n[7] ?? 0);
}

/** CPU ticks so far of every process in this benchmark's own tree, summed by `roleOf`. */
export function treeTicksByRole(roleOf: (pid: number, cmd: string) => string): Map<string, number> {
  const procs = allProcs();
  const children = new Map<number, number[]>();
  for (const [pid, info] of procs) children.set(info.ppid, [...(children.get(info.ppid) ?? []), pid]);
  const ticks = new Map<string, number>();
  const stack = [process.pid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const info = procs.get(pid);
    if (info) {
      const role = roleOf(pid, info.cmd);
      ticks.set(role, (ticks.get(role) ?? 0) + info.ticks);
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

function roleOf(pid: number, cmd: string): string {
  if (pid === process.pid) return 'bench (load generator)';
  if (cmd.includes('bench/rest-bare-server.ts')) return 'bare api';
  if (cmd.includes('src/main.ts')) return /src\/main\.ts (\S+)/.exec(cmd)?.[1] ?? 'app';
  if (cmd.includes('mariadbd') || cmd.includes('mysqld')) return 'mariadb';
  if (cmd.includes('redis-server')) return 'redis';
  if (cmd.includes('kafka.Kafka')) return 'kafka';
  if (cmd.includes('ferretdb') || cmd.includes('mongod')) return 'mongo-wire';
  // Watchdog shells (bash, sleep) are ours but negligible.
  return 'other children';
}

export function cpuSnapshot(): Snapshot | undefined {
  if (process.platform !== 'linux') return undefined;
  return { at: Date.now(), ours: treeTicksByRole(roleOf), machineBusy: machineBusyTicks() };
}

/**
 * CPU used between two snapshots, in cores (1.0 = one CPU fully busy), per role, largest first,
 * with "not ours" for the rest of the machine. Processes that exited in between are not counted.
 */
export function cpuBetween(before: Snapshot | undefined, after: Snapshot | undefined): Array<[string, number]> {
  if (!before || !after) return [];
  const seconds = (after.at - before.at) / 1000;
  const rows: Array<[string, number]> = [];
  let oursTotal = 0;
  for (const [role, ticks] of after.ours) {
    const delta = Math.max(0, ticks - (before.ours.get(role) ?? 0));
    oursTotal += delta;
    rows.push([role, delta / TICKS_PER_SEC / seconds]);
  }
  rows.sort((a, b) => b[1] - a[1]);
  const machine = (after.machineBusy - before.machineBusy) / TICKS_PER_SEC / seconds;
  rows.push(['not ours (rest of machine)', Math.max(0, machine - oursTotal / TICKS_PER_SEC / seconds)]);
  return rows.filter(([, cores]) => cores >= 0.005);
}

export function formatCpu(rows: Array<[string, number]>): string {
  if (rows.length === 0) return 'CPU breakdown unavailable on this platform';
  return rows.map(([role, cores]) => `${role} ${cores.toFixed(2)}`).join(', ');
}
