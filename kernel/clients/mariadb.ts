import * as mariadb from 'mariadb';
import { QueryTypes, Sequelize, type Transaction } from 'sequelize';
import type { AppConfig } from '../../config/index.js';
import type { Logger } from '../logger.js';

interface PoolOptions {
  poolMax: number;
  connectTimeoutMs: number;
  /** How long a query waits for a free connection of the pool. */
  acquireMs: number;
}

function sequelizeFor(url: string, pool: PoolOptions, logSql: boolean, log?: Logger): Sequelize {
  return new Sequelize(url, {
    dialect: 'mariadb',
    timezone: '+00:00',
    logging: logSql && log ? (sql: string) => log.debug({ component: 'sql' }, sql) : false,
    pool: { max: pool.poolMax, min: 0, idle: 10_000, acquire: pool.acquireMs },
    dialectOptions: {
      supportBigNumbers: true,
      bigNumberStrings: true,
      connectTimeout: pool.connectTimeoutMs,
    },
    define: { underscored: true, timestamps: true },
  });
}

/**
 * Sequelize over the mariadb driver. BIGINT ids come back as decimal strings (the domain treats
 * every id as an opaque string), timestamps are stored in UTC with millisecond precision.
 */
export function createSequelize(config: Pick<AppConfig, 'mariadb'>, log?: Logger): Sequelize {
  return sequelizeFor(config.mariadb.url, { poolMax: config.mariadb.poolMax, connectTimeoutMs: 5_000, acquireMs: 10_000 }, config.mariadb.logSql, log);
}

/**
 * The replica's Sequelize, with the primary's conventions, or undefined when none is configured.
 * Short connect and acquire timeouts: a read finds out quickly that the replica is away and asks
 * the primary instead (kernel/replica-reads.ts).
 */
export function createReplicaSequelize(config: Pick<AppConfig, 'mariadb'>, log?: Logger): Sequelize | undefined {
  const { replica } = config.mariadb;
  if (!replica.url) return undefined;
  const pool = { poolMax: replica.poolMax, connectTimeoutMs: replica.connectTimeoutMs, acquireMs: replica.connectTimeoutMs + 1_000 };
  return sequelizeFor(replica.url, pool, config.mariadb.logSql, log);
}

/**
 * The primary's binary log position (`domain-server-seq` per GTID domain): every transaction
 * committed before this call is at or below it. Empty when the primary writes no binary log.
 */
export async function binlogPosition(primary: Sequelize): Promise<string> {
  const [row] = await primary.query<{ position: string | null }>('SELECT @@global.gtid_binlog_pos AS position', { type: QueryTypes.SELECT });
  return row?.position ?? '';
}

/**
 * Whether the replica has applied everything up to `position`, waiting at most `timeoutMs` for it
 * (MASTER_GTID_WAIT; 0 only looks). On `transaction`'s connection when given: with several
 * replicas behind one address, only that connection's server is known to have reached it.
 */
export async function replicaReached(replica: Sequelize, position: string, timeoutMs: number, transaction?: Transaction): Promise<boolean> {
  if (position === '') return true;
  const [row] = await replica.query<{ reached: number | string | null }>('SELECT MASTER_GTID_WAIT(:position, :timeout) AS reached', {
    replacements: { position, timeout: timeoutMs / 1000 },
    type: QueryTypes.SELECT,
    transaction,
  });
  return Number(row?.reached) === 0;
}

/** SHOW SLAVE STATUS, reduced to what the health probe needs; null when the server replicates from nobody. */
export async function replicationStatus(replica: Sequelize): Promise<{ running: boolean; secondsBehind: number | null } | null> {
  const [row] = await replica.query<Record<string, unknown>>('SHOW SLAVE STATUS', { type: QueryTypes.SELECT });
  if (!row) return null;
  // MariaDB 10.5+ also answers SHOW REPLICA STATUS; newer servers may name the columns Replica_*.
  const io = row.Slave_IO_Running ?? row.Replica_IO_Running;
  const sql = row.Slave_SQL_Running ?? row.Replica_SQL_Running;
  const behind = row.Seconds_Behind_Master ?? row.Seconds_Behind_Source;
  return { running: io === 'Yes' && sql === 'Yes', secondsBehind: behind === null || behind === undefined ? null : Number(behind) };
}

/** Creates the database named in the URL when it does not exist (migrate and tests use it). */
export async function ensureDatabase(url: string): Promise<void> {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(database)) throw new Error('database name must match [A-Za-z0-9_]+');
  const conn = await mariadb.createConnection({
    host: parsed.hostname,
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    connectTimeout: 5_000,
  });
  try {
    await conn.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await conn.end();
  }
}
