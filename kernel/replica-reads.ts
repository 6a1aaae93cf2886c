import type { RedisClient } from './clients/redis.js';
import { ConnectionAcquireTimeoutError, type Sequelize, type Transaction } from 'sequelize';
import type { AppConfig } from '../config/index.js';
import { binlogPosition, replicaReached } from './clients/mariadb.js';
import { isDependencyUnavailable } from './dependency-errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { createReplicaHealth, type ReplicaHealth } from './replica-health.js';
import { createWritePositions, type WritePositions } from './write-positions.js';

/** Where one stale-tolerant read runs: a server's Sequelize and the models defined on it. */
export interface ReadTarget<M> {
  sequelize: Sequelize;
  models: M;
  /**
   * Set when the read must see a given position: the transaction on the replica connection that
   * waited for it. Every query of the read passes it on (with several replicas behind one address
   * another connection may be on a server that is not there yet).
   */
  transaction?: Transaction;
}

/** What writers tell the reads. */
export interface ReadYourWrites {
  /**
   * After a commit: `sessionKey`'s stale-tolerant reads, on every API instance, see it from now on.
   * Awaited before the write is answered; never throws (the write itself is done).
   */
  wrote(sessionKey: string): Promise<void>;
}

export interface StaleTolerantReads<M> extends ReadYourWrites {
  /**
   * Runs a read that may be served by the replica: lists, stats, report lists, the admin's account
   * list. `sessionKey` is whoever reads (the owner, or the admin); that reader's own writes are
   * always in the answer. Never for point reads a client does right after its write, nor for
   * anything auth decides on (status, role, tokens): those stay on the primary by not coming here.
   */
  read<T>(sessionKey: string, work: (target: ReadTarget<M>) => Promise<T>): Promise<T>;
}

export const noReadYourWrites: ReadYourWrites = { wrote: async () => undefined };

/** Without a replica: every read on the primary, nothing to remember after writes. */
export function primaryReads<M>(primary: ReadTarget<M>, metrics?: Pick<Metrics, 'mariadbStaleReadsTotal'>): StaleTolerantReads<M> {
  return {
    read(_sessionKey, work) {
      metrics?.mariadbStaleReadsTotal.inc({ target: 'primary', reason: 'no_replica' });
      return work(primary);
    },
    wrote: noReadYourWrites.wrote,
  };
}

/** The replica had not reached the reader's last write within the wait. */
const BEHIND = Symbol('behind');

/**
 * Stale-tolerant reads on the replica, with read-your-writes for every reader across API instances.
 *
 * After a write, `wrote` remembers the primary's GTID position (gtid_binlog_pos, which covers the
 * write since it committed before) under the writer's key in Redis, shared by every instance. A
 * read of that key first has the replica wait for the position (MASTER_GTID_WAIT, at most
 * `waitMs`) and then reads on the same connection; if the replica does not get there in time,
 * the read goes to the primary. Keys without a remembered position read from the replica as it
 * is. Why a position and not a "wrote recently" flag: with the flag, every read of a writer goes
 * to the primary for the flag's whole TTL; with the position, the replica serves it as soon as it
 * has caught up (usually within milliseconds), and the wait measures exactly that.
 *
 * Remembered positions expire (createReadRouting sets when) only after the longest a write can
 * take to reach a replica the health probe still calls healthy: its lag bound plus two probe
 * intervals. The replica serves nothing unless the last probe found it healthy, and a read that
 * fails there (replica down mid-read, pool exhausted, any error) is answered by the primary: no
 * read fails that the primary could answer.
 *
 * Known limit: if Redis refuses the position after a write (Redis down), that writer's reads in
 * the next moments may be stale on an instance that can read Redis again by then; when Redis
 * cannot be read, reads go to the primary.
 */
export function createReplicaReads<M>(deps: {
  primary: ReadTarget<M>;
  replica: ReadTarget<M>;
  health: Pick<ReplicaHealth, 'state' | 'failed'>;
  positions: WritePositions;
  waitMs: number;
  metrics: Pick<Metrics, 'mariadbStaleReadsTotal' | 'mariadbWritePositionsTotal'>;
  log: Logger;
}): StaleTolerantReads<M> {
  const { primary, replica, health, positions, waitMs, metrics } = deps;
  const log = deps.log.child({ component: 'replica-reads' });

  const onReplica = (reason: 'no_recent_write' | 'caught_up') => metrics.mariadbStaleReadsTotal.inc({ target: 'replica', reason });
  function onPrimary<T>(reason: string, work: (target: ReadTarget<M>) => Promise<T>): Promise<T> {
    metrics.mariadbStaleReadsTotal.inc({ target: 'fallback', reason });
    return work(primary);
  }

  return {
    async wrote(sessionKey) {
      try {
        const position = await binlogPosition(primary.sequelize);
        if (position !== '') await positions.remember(sessionKey, position);
        metrics.mariadbWritePositionsTotal.inc({ outcome: 'recorded' });
      } catch (err) {
        metrics.mariadbWritePositionsTotal.inc({ outcome: 'failed' });
        log.warn({ err }, "a write's position could not be remembered; the writer's next reads may be stale");
      }
    },

    async read<T>(sessionKey: string, work: (target: ReadTarget<M>) => Promise<T>): Promise<T> {
      const state = health.state();
      if (state !== 'healthy') return onPrimary(`replica_${state}`, work);
      let position: string | null;
      try {
        position = await positions.get(sessionKey);
      } catch (err) {
        log.debug({ err }, 'write position unreadable; reading from the primary');
        return onPrimary('session_unknown', work);
      }
      let outcome: typeof BEHIND | { result: T };
      try {
        outcome =
          position === null
            ? { result: await work(replica) }
            : await replica.sequelize.transaction(async (transaction) => {
                if (!(await replicaReached(replica.sequelize, position, waitMs, transaction))) return BEHIND;
                return { result: await work({ ...replica, transaction }) };
              });
      } catch (err) {
        // A saturated pool is load, not an outage: the replica stays in use for the next reads.
        if (err instanceof ConnectionAcquireTimeoutError) return onPrimary('replica_busy', work);
        if (isDependencyUnavailable(err)) health.failed(err);
        else log.warn({ err }, 'a read failed on the replica; answering it from the primary');
        return onPrimary('replica_error', work);
      }
      if (outcome === BEHIND) return onPrimary('behind_writer', work);
      onReplica(position === null ? 'no_recent_write' : 'caught_up');
      return outcome.result;
    },
  };
}

export interface ReadRouting<M> {
  reads: StaleTolerantReads<M>;
  /** The replica's probe, when there is a replica. */
  health?: ReplicaHealth;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The stale-tolerant reads as configured: through the replica with its probe and the writers'
 * positions in Redis when `mariadb.replica.url` is set, else all on the primary.
 */
export function createReadRouting<M>(deps: {
  config: AppConfig['mariadb']['replica'];
  primary: ReadTarget<M>;
  replica?: ReadTarget<M>;
  redis: RedisClient;
  metrics: Metrics;
  log: Logger;
}): ReadRouting<M> {
  const { config, primary, replica, metrics, log } = deps;
  if (!replica) return { reads: primaryReads(primary, metrics), start: async () => undefined, stop: async () => undefined };
  const health = createReplicaHealth({ primary: primary.sequelize, replica: replica.sequelize, maxLagMs: config.maxLagSec * 1000, intervalMs: config.probeIntervalMs, metrics, log });
  // A write older than the lag bound plus two probes is on any replica the probe calls healthy
  // (see createReplicaReads); twice that leaves room for clocks and slow probes.
  const positionTtlMs = 2 * (config.maxLagSec * 1000 + 2 * config.probeIntervalMs);
  const positions = createWritePositions(deps.redis, positionTtlMs);
  return {
    reads: createReplicaReads({ primary, replica, health, positions, waitMs: config.readYourWritesWaitMs, metrics, log }),
    health,
    start: () => health.start(),
    stop: () => health.stop(),
  };
}
