import * as mariadb from 'mariadb';
import { Sequelize } from 'sequelize';
import type { AppConfig } from '../../config/index.js';
import type { Logger } from '../logger.js';

/**
 * Sequelize over the mariadb driver. BIGINT ids come back as decimal strings (the domain treats
 * every id as an opaque string), timestamps are stored in UTC with millisecond precision.
 */
export function createSequelize(config: Pick<AppConfig, 'mariadb'>, log?: Logger): Sequelize {
  return new Sequelize(config.mariadb.url, {
    dialect: 'mariadb',
    timezone: '+00:00',
    logging: config.mariadb.logSql && log ? (sql: string) => log.debug({ component: 'sql' }, sql) : false,
    pool: { max: config.mariadb.poolMax, min: 0, idle: 10_000, acquire: 10_000 },
    dialectOptions: {
      supportBigNumbers: true,
      bigNumberStrings: true,
      connectTimeout: 5_000,
    },
    define: { underscored: true, timestamps: true },
  });
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
