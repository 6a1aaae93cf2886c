/**
 * /proc readings for bench/realtime-fanout.ts (Linux only): the node process under a watchdog
 * shell, its resident memory, the open-file limit, and CPU time per role of this benchmark's own
 * process tree, with the API and baseline instances told apart by pid.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TICKS_PER_SEC, allProcs, machineBusyTicks, treeTicksByRole } from './cpu-usage.js';

/**
 * The node process a watchdog shell (scripts/services `startProcess`) runs: the memory and CPU
 * that matter are that process's, not the shell's.
 */
export function nodeChildOf(shellPid: number): number | undefined {
  for (const [pid, info] of allProcs()) {
    if (info.ppid === shellPid && path.basename(info.cmd.split(' ')[0] ?? '') === path.basename(process.execPath)) return pid;
  }
  return undefined;
}

/** VmRSS of a process, in bytes. */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status (process gone?)`);
  return Number(match[1]) * 1024;
}

/** The soft limit on open files this process (and its children) run with. */
export function openFileLimit(): number {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  return !match || match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
}

export interface CpuSnapshot {
  at: number;
  ticks: Map<string, number>;
  machineBusy: number;
}

function roleOf(pid: number, cmd: string, labels: ReadonlyMap<number, string>): string {
  const label = labels.get(pid);
  if (label) return label;
  if (pid === process.pid) return 'bench process (clients + sender)';
  if (cmd.includes('realtime-clients')) return 'client processes';
  if (cmd.includes('redis-server')) return 'redis';
  if (cmd.includes('ferretdb') || cmd.includes('mongod')) return 'mongo-wire';
  if (cmd.includes('mariadbd') || cmd.includes('mysqld')) return 'mariadb';
  if (cmd.includes('kafka.Kafka')) return 'kafka';
  return 'other (watchdog shells)';
}

/** CPU ticks so far of every process in this benchmark's tree, by role; `labels` names pids. */
export function cpuSnapshot(labels: ReadonlyMap<number, string>): CpuSnapshot {
  return { at: Date.now(), ticks: treeTicksByRole((pid, cmd) => roleOf(pid, cmd, labels)), machineBusy: machineBusyTicks() };
}

/**
 * Adds up CPU over several windows (the fan-outs proper, not the pauses between them): core
 * seconds per role, and the window time, so the mean in cores is `coreSeconds / seconds`.
 */
export class CpuWindows {
  readonly coreSeconds = new Map<string, number>();
  seconds = 0;

  add(before: CpuSnapshot, after: CpuSnapshot): void {
    this.seconds += (after.at - before.at) / 1000;
    let ours = 0;
    for (const [role, ticks] of after.ticks) {
      const delta = Math.max(0, ticks - (before.ticks.get(role) ?? 0)) / TICKS_PER_SEC;
      ours += delta;
      this.coreSeconds.set(role, (this.coreSeconds.get(role) ?? 0) + delta);
    }
    const machine = (after.machineBusy - before.machineBusy) / TICKS_PER_SEC;
    const rest = 'not ours (rest of machine)';
    this.coreSeconds.set(rest, (this.coreSeconds.get(rest) ?? 0) + Math.max(0, machine - ours));
  }

  /** Mean cores per role over the windows, largest first (1.00 = one CPU fully busy). */
  cores(): Array<[string, number]> {
    if (this.seconds <= 0) return [];
    return [...this.coreSeconds]
      .map(([role, s]): [string, number] => [role, s / this.seconds])
      .filter(([, cores]) => cores >= 0.005)
      .sort((a, b) => b[1] - a[1]);
  }
}
