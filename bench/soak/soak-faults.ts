/**
 * The soak's faults: process kills and graceful restarts, service restarts, and network toxics on
 * one process's link to one service, each bounded in time. A seeded plan, so a run can be repeated.
 */
import type { Toxic } from '../../scripts/services/toxiproxy.js';
import { sleep } from '../bench-support.js';
import type { AppNode, ServiceName, SoakCluster } from './soak-cluster.js';
import { SERVICES } from './soak-cluster.js';

export const FAULT_KINDS = [
  'kill-api',
  'restart-api',
  'kill-worker',
  'restart-worker',
  'restart-redis',
  'restart-kafka',
  'restart-mariadb',
  'restart-store',
  'latency',
  'bandwidth',
  'reset-peer',
  'partition-api-redis',
  'partition-worker-kafka',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface PlannedFault {
  kind: FaultKind;
  /** The process (and for toxics the service) it hits. */
  node?: string;
  service?: ServiceName;
  /** How long a toxic or partition lasts, or how long a killed process stays down. */
  holdMs: number;
}

export interface FaultRecord extends PlannedFault {
  index: number;
  startedAt: number;
  /** When the fault was over: the process or service ready again, the toxic removed. */
  endedAt: number;
  error?: string;
}

const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/**
 * `count` faults cycling through `kinds` in a seeded shuffled order (so a short run still gets a
 * mix), each with its target and hold time drawn from `random`.
 */
export function planFaults(random: () => number, count: number, cluster: Pick<SoakCluster, 'apis' | 'workers'>, kinds: readonly FaultKind[] = FAULT_KINDS): PlannedFault[] {
  const order: FaultKind[] = [];
  while (order.length < count) {
    const round = [...kinds];
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    order.push(...round);
  }
  const apis = cluster.apis.map((a) => a.name);
  const workers = cluster.workers.map((w) => w.name);
  const all = [...apis, ...workers];
  return order.slice(0, count).map((kind): PlannedFault => {
    switch (kind) {
      case 'kill-api':
      case 'restart-api':
        return { kind, node: pick(random, apis), holdMs: 500 + Math.round(random() * 2_500) };
      case 'kill-worker':
      case 'restart-worker':
        return { kind, node: pick(random, workers), holdMs: 500 + Math.round(random() * 2_500) };
      case 'restart-redis':
      case 'restart-kafka':
      case 'restart-mariadb':
      case 'restart-store':
        return { kind, holdMs: 500 + Math.round(random() * 2_000) };
      case 'latency':
      case 'bandwidth':
        return { kind, node: pick(random, all), service: pick(random, SERVICES), holdMs: 5_000 + Math.round(random() * 10_000) };
      case 'reset-peer':
        return { kind, node: pick(random, all), service: pick(random, SERVICES), holdMs: 3_000 + Math.round(random() * 5_000) };
      case 'partition-api-redis':
        return { kind, node: pick(random, apis), service: 'redis', holdMs: 10_000 };
      case 'partition-worker-kafka':
        return { kind, node: pick(random, workers), service: 'kafka', holdMs: 10_000 };
    }
  });
}

const SERVICE_OF: Partial<Record<FaultKind, ServiceName>> = { 'restart-redis': 'redis', 'restart-kafka': 'kafka', 'restart-mariadb': 'mariadb', 'restart-store': 'mongo' };

/** Runs one fault to its end (the hit process or service ready again, the toxic gone). */
export async function runFault(cluster: SoakCluster, fault: PlannedFault, index: number, random: () => number): Promise<FaultRecord> {
  const startedAt = Date.now();
  const node = (name: string): AppNode => [...cluster.apis, ...cluster.workers].find((n) => n.name === name)!;
  const record = (error?: string): FaultRecord => ({ ...fault, index, startedAt, endedAt: Date.now(), ...(error ? { error } : {}) });
  try {
    switch (fault.kind) {
      case 'kill-api':
      case 'kill-worker':
      case 'restart-api':
      case 'restart-worker': {
        const target = node(fault.node!);
        await (fault.kind.startsWith('kill') ? target.kill() : target.terminate());
        await sleep(fault.holdMs);
        await target.start();
        break;
      }
      case 'restart-redis':
      case 'restart-kafka':
      case 'restart-mariadb':
      case 'restart-store': {
        const service = cluster.services[SERVICE_OF[fault.kind]!];
        await service.stop();
        await sleep(fault.holdMs);
        await service.start();
        break;
      }
      case 'latency':
      case 'bandwidth':
      case 'reset-peer': {
        const proxy = cluster.proxyOf(fault.node!, fault.service!);
        const toxic: Toxic =
          fault.kind === 'latency'
            ? { name: 'soak', type: 'latency' as const, attributes: { latency: 200 + Math.round(random() * 800), jitter: 100 } }
            : fault.kind === 'bandwidth'
              ? { name: 'soak', type: 'bandwidth' as const, attributes: { rate: 8 + Math.round(random() * 56) } }
              : { name: 'soak', type: 'reset_peer' as const, attributes: { timeout: Math.round(random() * 500) } };
        await cluster.toxiproxy.addToxic(proxy, toxic);
        await sleep(fault.holdMs);
        await cluster.toxiproxy.removeToxic(proxy, 'soak');
        break;
      }
      case 'partition-api-redis':
      case 'partition-worker-kafka': {
        const proxy = cluster.proxyOf(fault.node!, fault.service!);
        await cluster.toxiproxy.setEnabled(proxy, false);
        await sleep(fault.holdMs);
        await cluster.toxiproxy.setEnabled(proxy, true);
        break;
      }
    }
    return record();
  } catch (err) {
    return record(err instanceof Error ? err.message : String(err));
  }
}

export function describeFault(f: PlannedFault): string {
  return [f.kind, f.node, f.service && `→${f.service}`, `${(f.holdMs / 1000).toFixed(1)}s`].filter(Boolean).join(' ');
}
