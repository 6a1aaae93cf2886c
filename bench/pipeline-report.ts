/**
 * The figures of bench/pipeline-latency.ts: the hops an entry's time is cut into, their
 * percentiles, each stage's share of the median entry, the printed report and the summary that
 * goes into bench/results/pipeline.json.
 */
import { availableParallelism } from 'node:os';
import type { AppConfig } from '../config/index.js';
import { percentile, table } from './bench-support.js';
import { formatCpu } from './cpu-usage.js';

/** The hops, in pipeline order; each is the difference of two consecutive timestamps. */
export const HOPS = [
  { key: 'api', name: 'API: POST sent -> 201 received' },
  { key: 'relay', name: 'outbox relay: 201 -> request on Kafka' },
  { key: 'workerPickup', name: 'worker: request on Kafka -> PROCESSING produced' },
  { key: 'workerAnalysis', name: 'worker: PROCESSING -> COMPLETED produced' },
  { key: 'gatewayStore', name: 'gateway: COMPLETED produced -> notification stamped' },
  { key: 'gatewayDeliver', name: 'gateway: stamped -> COMPLETED on the socket' },
] as const;
export type HopKey = (typeof HOPS)[number]['key'];

/** The four stages of the pipeline the hops belong to (the brief's hops). */
export const STAGES = [
  { key: 'api', name: 'API (POST -> 201)', hops: ['api'] },
  { key: 'relay', name: 'outbox relay (201 -> request on Kafka)', hops: ['relay'] },
  { key: 'worker', name: 'worker (request on Kafka -> COMPLETED produced)', hops: ['workerPickup', 'workerAnalysis'] },
  { key: 'gateway', name: 'gateway + store + Socket.IO (COMPLETED produced -> socket)', hops: ['gatewayStore', 'gatewayDeliver'] },
] as const satisfies ReadonlyArray<{ key: string; name: string; hops: readonly HopKey[] }>;

export interface Entry {
  userIndex: number;
  sentAt: number;
  /** When the send was due; sentAt - dueAt is how far the load generator fell behind. */
  dueAt: number;
  respondedAt?: number;
  status?: number;
  diaryId?: string;
  error?: string;
}

export interface Timeline {
  e2e: number;
  hops: Record<HopKey, number>;
}

export interface PhaseResult {
  rate: number;
  entries: Entry[];
  sentRate: number;
  maxLagMs: number;
  timelines: Timeline[];
  missing: { response: number; kafka: number; socket: number };
  wrongSocket: number;
  failed: number;
  requestCopies: number;
  cpu: Array<[string, number]>;
  /** From the API's own metrics: server-side mean of the POSTs, gateway events by outcome. */
  api: { postServerMeanMs: number; gatewayOutcomes: Record<string, number>; rowLockWaits: number; rowLockMs: number };
  /** Per entry, the gateway's time for the PROCESSING event (produced -> on the socket). */
  processingGatewayMs: number[];
  /** Entries whose COMPLETED was produced before their PROCESSING was on the socket: it queued behind it. */
  completedBehindProcessing: number;
  /** COMPLETED events per second on the sockets, from the first to the last. */
  completedPerSec: number;
}

export const pct = (values: number[], p: number) => percentile([...values].sort((a, b) => a - b), p);
export const round1 = (n: number) => Math.round(n * 10) / 10;
export const fmt = (n: number) => (Number.isFinite(n) ? n.toFixed(n >= 100 ? 0 : 1) : '-');

/** A hop or a stage: a name and its value in one entry's timeline. */
export interface Part {
  key: string;
  name: string;
  of(t: Timeline): number;
}
export const hopParts: Part[] = HOPS.map(({ key, name }) => ({ key, name, of: (t) => t.hops[key] }));
export const stageParts: Part[] = STAGES.map(({ key, name, hops }) => ({ key, name, of: (t) => hops.reduce((sum, h) => sum + t.hops[h], 0) }));

/**
 * Where the median entry's time went: the entries whose end-to-end time lies in the middle tenth
 * (45th to 55th percentile), each part's mean over them divided by their mean end-to-end time.
 * Unlike the parts' own medians these add up to 100%.
 */
export function sharesOfMedian(timelines: Timeline[], parts: Part[]): Record<string, number> {
  const sorted = [...timelines].sort((a, b) => a.e2e - b.e2e);
  const from = Math.floor(sorted.length * 0.45);
  const band = sorted.slice(from, Math.max(from + 1, Math.ceil(sorted.length * 0.55)));
  const total = band.reduce((sum, t) => sum + t.e2e, 0);
  return Object.fromEntries(parts.map((part) => [part.key, total > 0 ? band.reduce((sum, t) => sum + part.of(t), 0) / total : Number.NaN]));
}

export function formatShares(shares: Record<string, number>): string {
  return Object.entries(shares)
    .map(([key, share]) => `${key} ${(share * 100).toFixed(0)}%`)
    .join(', ');
}

export function partStats(r: PhaseResult, parts: Part[]) {
  const shares = sharesOfMedian(r.timelines, parts);
  return Object.fromEntries(
    parts.map((part) => {
      const values = r.timelines.map(part.of);
      return [part.key, { what: part.name, p50: round1(pct(values, 50)), p99: round1(pct(values, 99)), max: round1(Math.max(...values)), shareOfMedian: Math.round(shares[part.key]! * 1000) / 1000 }];
    }),
  );
}

export function hopSummary(r: PhaseResult) {
  const e2e = r.timelines.map((t) => t.e2e);
  const relay = r.timelines.map((t) => t.hops.relay);
  return {
    rate: r.rate,
    sentPerSec: round1(r.sentRate),
    entries: r.entries.length,
    completed: r.timelines.length,
    completedPerSec: round1(r.completedPerSec),
    endToEnd: { p50: round1(pct(e2e, 50)), p99: round1(pct(e2e, 99)), max: round1(Math.max(...e2e)) },
    stages: partStats(r, stageParts),
    hops: partStats(r, hopParts),
    relayBeforeResponse: relay.filter((ms) => ms < 0).length,
    relayOver250ms: relay.filter((ms) => ms > 250).length,
    requestCopies: r.requestCopies,
    gatewayProcessingEvent: { p50: round1(pct(r.processingGatewayMs, 50)), p99: round1(pct(r.processingGatewayMs, 99)) },
    completedBehindProcessing: r.completedBehindProcessing,
    apiServerMeanMs: round1(r.api.postServerMeanMs),
    gatewayOutcomes: r.api.gatewayOutcomes,
    mariadbRowLockWaits: r.api.rowLockWaits,
    mariadbRowLockMs: r.api.rowLockMs,
    loadGeneratorMaxLagMs: Math.round(r.maxLagMs),
  };
}

export function partTable(r: PhaseResult, parts: Part[]): string {
  const shares = sharesOfMedian(r.timelines, parts);
  return table(
    ['', 'p50', 'p99', 'max', 'share of median'],
    parts.map((part) => {
      const values = r.timelines.map(part.of);
      return [part.name, pct(values, 50), pct(values, 99), Math.max(...values), `${(shares[part.key]! * 100).toFixed(1)}%`];
    }),
  );
}

export function report(results: PhaseResult[], info: { machine: string; users: number; duration: number; partitions: number; config: AppConfig; mongo: string }): void {
  const o = info.config.outbox;
  console.log('');
  console.log(
    `pipeline-latency: one api + one worker, ${info.users} users with a socket each, ${info.duration} s per rate, ${info.partitions} partitions, ` +
      `outbox poll ${o.pollIntervalMs} ms (woken on each write), batch ${o.batchSize}, partitionsConcurrently: worker ${info.config.worker.partitionsConcurrently}, gateway ${info.config.gateway.partitionsConcurrently} (users ${info.config.gateway.usersConcurrently} at a time), mongo-wire: ${info.mongo}`,
  );
  console.log(`machine: ${info.machine}`);
  console.log('');
  console.log(
    table(
      ['rate /s', 'sent /s', 'completed', 'done /s', 'e2e p50 ms', 'e2e p99 ms', 'e2e max ms', 'load gen. max lag ms'],
      results.map((r) => {
        const e2e = r.timelines.map((t) => t.e2e);
        return [r.rate, r.sentRate, `${r.timelines.length}/${r.entries.length}`, r.completedPerSec, pct(e2e, 50), pct(e2e, 99), Math.max(...e2e), r.maxLagMs];
      }),
    ),
  );
  const over = results.filter((r) => r.completedPerSec < 0.9 * r.sentRate);
  if (over.length > 0) {
    console.log(
      `above capacity at ${over.map((r) => `${r.rate}/s`).join(', ')}: entries completed more slowly than they were sent, so those latencies are the queue growing ` +
        `over a ${info.duration} s burst (longer bursts give longer latencies), and the first hop whose p50 jumps is where the queue forms`,
    );
  }
  for (const r of results) {
    console.log('');
    console.log(`${r.rate} entries/s, ms (share of median = of the entries around the median end to end):`);
    console.log(partTable(r, stageParts));
    console.log('');
    console.log(partTable(r, hopParts));
    const relay = r.timelines.map((t) => t.hops.relay);
    console.log(
      `  relay: ${relay.filter((ms) => ms < 0).length} requests were on Kafka before the client had its 201 (the relay is woken at commit, before the response is written); ` +
        `${relay.filter((ms) => ms > 250).length} took over 250 ms; ${r.requestCopies} duplicate requests`,
    );
    console.log(
      `  gateway: its PROCESSING event took p50 ${fmt(pct(r.processingGatewayMs, 50))} ms / p99 ${fmt(pct(r.processingGatewayMs, 99))} ms from produced to the socket; ` +
        `${r.completedBehindProcessing} of ${r.timelines.length} COMPLETED events were produced before their PROCESSING was on the socket (same partition: they queued behind it)`,
    );
    console.log(`  api: POST server mean ${fmt(r.api.postServerMeanMs)} ms (its own histogram); gateway events by outcome: ${JSON.stringify(r.api.gatewayOutcomes)}; MariaDB row-lock waits ${r.api.rowLockWaits} (${r.api.rowLockMs} ms in all)`);
    console.log(`  CPU, in cores of ${availableParallelism()}: ${formatCpu(r.cpu)}`);
  }
  console.log('');
}
