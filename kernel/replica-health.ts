import type { Sequelize } from 'sequelize';
import { sleep } from './backoff.js';
import { binlogPosition, replicaReached, replicationStatus } from './clients/mariadb.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/**
 * healthy: replicating, and it has applied everything the primary had committed `maxLagMs` ago.
 * lagging: replicating, but not that far. not_replicating: a replication thread is stopped (or
 * the server follows no primary). down: unreachable. unknown: not probed yet.
 */
export type ReplicaState = 'unknown' | 'healthy' | 'lagging' | 'not_replicating' | 'down';

export interface ReplicaHealth {
  state(): ReplicaState;
  /** A read found the replica unreachable: nothing goes there until a probe finds it back. */
  failed(err: unknown): void;
  /** Probes once now (tests; `start` runs the first one). */
  probe(): Promise<ReplicaState>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Probes the replica every `intervalMs`. The lag bound is measured in positions, not in the
 * replica's Seconds_Behind_Master: that one reads 0 while the replica waits for events its I/O
 * thread has not fetched yet, and stays near 0 under MASTER_DELAY (measured: 0-1 with a 2 s
 * delay). Each probe samples the primary's binlog position; the replica is within the bound when
 * it has reached the newest sample at least `maxLagMs` old (MASTER_GTID_WAIT with no wait).
 * Seconds_Behind_Master is only exported, as a gauge for dashboards.
 */
export function createReplicaHealth(deps: { primary: Sequelize; replica: Sequelize; maxLagMs: number; intervalMs: number; metrics: Metrics; log: Logger }): ReplicaHealth {
  const { primary, replica, maxLagMs, intervalMs, metrics } = deps;
  const log = deps.log.child({ component: 'replica-health' });
  /** The primary's positions at past probes, oldest first; the newest one older than maxLagMs is the reference. */
  const samples: Array<{ at: number; position: string }> = [];
  let current: ReplicaState = 'unknown';
  const abort = new AbortController();
  let loop: Promise<void> = Promise.resolve();

  const set = (next: ReplicaState, err?: unknown) => {
    metrics.mariadbReplicaUsable.set(next === 'healthy' ? 1 : 0);
    if (next === current) return;
    const line = { from: current, to: next, err };
    if (next === 'healthy') log.info(line, 'mariadb replica serves stale-tolerant reads');
    else log.warn(line, 'mariadb replica serves nothing; its reads go to the primary');
    current = next;
  };

  /** The newest sample at least maxLagMs old, or, early on, the oldest one (stricter than the bound). */
  function reference(now: number): string | undefined {
    let ref = samples[0];
    for (const s of samples) if (s.at <= now - maxLagMs) ref = s;
    // Older samples than the reference are never needed again.
    while (samples.length > 1 && samples[1]!.at <= now - maxLagMs) samples.shift();
    return ref?.position;
  }

  async function probe(): Promise<ReplicaState> {
    const now = Date.now();
    // With the primary away there is nothing new to compare with: the last samples stay.
    const position = await binlogPosition(primary).catch(() => undefined);
    if (position !== undefined) samples.push({ at: now, position });
    const ref = reference(now);
    try {
      const status = await replicationStatus(replica);
      metrics.mariadbReplicaLag.set(status?.secondsBehind ?? Number.NaN);
      if (!status?.running) set('not_replicating');
      else if (ref !== undefined && !(await replicaReached(replica, ref, 0))) set('lagging');
      else set('healthy');
    } catch (err) {
      metrics.mariadbReplicaLag.set(Number.NaN);
      set('down', err);
    }
    return current;
  }

  return {
    state: () => current,
    failed(err) {
      set('down', err);
    },
    probe,
    async start() {
      await probe();
      loop = (async () => {
        while (!abort.signal.aborted) {
          await sleep(intervalMs, abort.signal);
          if (!abort.signal.aborted) await probe();
        }
      })();
    },
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
