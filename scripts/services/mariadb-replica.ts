import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as mariadb from 'mariadb';
import { waitUntil } from '../../kernel/wait.js';
import { startMariaDb } from './mariadb.js';
import { freePort } from './process.js';
import type { RestartableService } from './redis.js';

/** What SHOW SLAVE STATUS says about the replica's two threads and its lag. */
export interface ReplicationStatus {
  ioRunning: string;
  sqlRunning: string;
  secondsBehind: number | null;
  lastError: string;
}

export interface ReplicatedMariaDb {
  primary: RestartableService;
  replica: RestartableService;
  /** A root connection to the replica (the tests steer replication with it), closed by `stop`. */
  replicaAdmin(): Promise<mariadb.Connection>;
  status(): Promise<ReplicationStatus>;
  /** Resolves once both replication threads run (after a start or a restart of either server). */
  waitUntilReplicating(timeoutMs?: number): Promise<void>;
  /** Replays with a delay of `seconds` (MASTER_DELAY; 0 turns it off). */
  setDelay(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

const REPL_USER = 'repl';
const REPL_PASSWORD = 'repl-on-loopback';

/**
 * A MariaDB primary and one replica on 127.0.0.1 free ports, replicating with GTIDs: the primary
 * writes a row-based binary log (server id 1), the replica (server id 2, read_only) follows it with
 * `MASTER_USE_GTID=slave_pos`. The replica reconnects every second, so it follows the primary
 * again by itself after either server restarts (its replication settings live in its datadir).
 */
export async function startReplicatedMariaDb(rootDir: string, logDir: string): Promise<ReplicatedMariaDb> {
  const dir = (name: string) => {
    const d = path.join(rootDir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };
  const [primaryPort, replicaPort] = [await freePort(), await freePort()];
  const started = await Promise.allSettled([
    startMariaDb(dir('primary'), primaryPort, logDir, {
      name: 'mariadb-primary',
      serverArgs: ['--server-id=1', '--log-bin=primary-bin', '--binlog-format=ROW', '--gtid-strict-mode=1', '--gtid-domain-id=0'],
    }),
    startMariaDb(dir('replica'), replicaPort, logDir, {
      name: 'mariadb-replica',
      serverArgs: ['--server-id=2', '--read-only=1', '--relay-log=replica-relay-bin', '--gtid-strict-mode=1'],
    }),
  ]);
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  if (servers.length < 2) {
    await Promise.all(servers.map((s) => s.stop()));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    throw new Error(`replicated mariadb failed to start (logs in ${logDir}): ${String(failed?.reason?.message ?? failed?.reason)}`);
  }
  const [primary, replica] = servers as [RestartableService, RestartableService];
  const connect = (port: number) => mariadb.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 2_000 });
  const admins: mariadb.Connection[] = [];
  const replicaAdmin = async () => {
    const conn = await connect(replicaPort);
    admins.push(conn);
    return conn;
  };
  const onReplica = async <T>(work: (conn: mariadb.Connection) => Promise<T>): Promise<T> => {
    const conn = await connect(replicaPort);
    try {
      return await work(conn);
    } finally {
      await conn.end();
    }
  };

  const status = () =>
    onReplica(async (conn): Promise<ReplicationStatus> => {
      const [row] = (await conn.query('SHOW SLAVE STATUS')) as Array<Record<string, unknown>>;
      if (!row) return { ioRunning: 'No', sqlRunning: 'No', secondsBehind: null, lastError: 'not configured' };
      const behind = row.Seconds_Behind_Master;
      return {
        ioRunning: String(row.Slave_IO_Running),
        sqlRunning: String(row.Slave_SQL_Running),
        secondsBehind: behind === null || behind === undefined ? null : Number(behind),
        lastError: `${String(row.Last_IO_Error ?? '')} ${String(row.Last_SQL_Error ?? '')}`.trim(),
      };
    });

  const waitUntilReplicating = async (timeoutMs = 30_000) => {
    let last: ReplicationStatus | undefined;
    try {
      await waitUntil(
        'replica threads running',
        async () => {
          last = await status().catch(() => undefined);
          return last?.ioRunning === 'Yes' && last.sqlRunning === 'Yes';
        },
        timeoutMs,
        100,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(last)}`, { cause: err });
    }
  };

  const stop = async () => {
    await Promise.all(admins.splice(0).map((c) => c.end().catch(() => undefined)));
    // The replica first: stopped the other way round, it would sit retrying the primary until killed.
    await replica.stop();
    await primary.stop();
  };

  try {
    const p = await connect(primaryPort);
    try {
      // Not in the binary log: the replica needs no account of its own to replicate with.
      await p.query('SET SESSION sql_log_bin = 0');
      await p.query(`CREATE USER IF NOT EXISTS '${REPL_USER}'@'127.0.0.1' IDENTIFIED BY '${REPL_PASSWORD}'`);
      await p.query(`GRANT REPLICATION SLAVE ON *.* TO '${REPL_USER}'@'127.0.0.1'`);
    } finally {
      await p.end();
    }
    await onReplica(async (conn) => {
      await conn.query(
        `CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = ${primaryPort}, MASTER_USER = '${REPL_USER}', MASTER_PASSWORD = '${REPL_PASSWORD}',
           MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1`,
      );
      await conn.query('START SLAVE');
    });
    await waitUntilReplicating();
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    primary,
    replica,
    replicaAdmin,
    status,
    waitUntilReplicating,
    async setDelay(seconds: number) {
      await onReplica(async (conn) => {
        await conn.query('STOP SLAVE');
        await conn.query(`CHANGE MASTER TO MASTER_DELAY = ${Math.max(0, Math.floor(seconds))}`);
        await conn.query('START SLAVE');
      });
      await waitUntilReplicating();
    },
    stop,
  };
}
