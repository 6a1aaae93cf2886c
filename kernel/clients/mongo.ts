import mongoose, { type Connection } from 'mongoose';
import type { AppConfig } from '../../config/index.js';
import type { Logger } from '../logger.js';

const CONNECT_OPTIONS = {
  serverSelectionTimeoutMS: 5_000,
  // Indexes are created explicitly by syncMongoIndexes at start, not lazily per model.
  autoIndex: false,
  autoCreate: false,
};

/**
 * A dedicated mongoose connection (not the global one), so each composition root owns its own.
 * Designed for what both MongoDB and FerretDB support: no transactions, no change streams;
 * correctness comes from unique indexes and idempotent upserts.
 */
export async function connectMongo(config: Pick<AppConfig, 'mongo'>): Promise<Connection> {
  const conn = mongoose.createConnection(config.mongo.url, CONNECT_OPTIONS);
  await conn.asPromise();
  return conn;
}

export async function pingMongo(conn: Connection): Promise<void> {
  if (!conn.db) throw new Error('mongo not connected');
  await conn.db.admin().command({ ping: 1 });
}

/**
 * Reopens a connection whose driver has stopped reaching a server that is there. The chaos soak
 * found it: when the MongoDB-wire server restarts under load, the driver's monitor can start a
 * heartbeat that never ends (no timeout fires), and every operation then fails server selection
 * for as long as the process lives, while a new client connects at once. Every `intervalMs` the
 * connection is pinged; after `failuresBeforeProbe` failures in a row a fresh client tries the
 * same URL, and if it gets through, the connection is closed and opened again (the models bound to
 * it keep working). A server that is really down is only waited for.
 */
export function watchMongoConnection(conn: Connection, url: string, log: Logger, options: { intervalMs?: number; failuresBeforeProbe?: number } = {}): { stop(): void } {
  const intervalMs = options.intervalMs ?? 2_000;
  const failuresBeforeProbe = options.failuresBeforeProbe ?? 3;
  let failures = 0;
  let busy = false;
  let stopped = false;
  const probe = async (): Promise<boolean> => {
    const fresh = mongoose.createConnection(url, { ...CONNECT_OPTIONS, serverSelectionTimeoutMS: Math.min(2_000, intervalMs) });
    try {
      await fresh.asPromise();
      await pingMongo(fresh);
      return true;
    } catch {
      return false;
    } finally {
      await fresh.close(true).catch(() => undefined);
    }
  };
  const check = async () => {
    try {
      await pingMongo(conn);
      failures = 0;
      return;
    } catch {
      failures++;
    }
    if (failures < failuresBeforeProbe || !(await probe()) || stopped) return;
    log.warn({ failures }, 'mongo client stopped reaching a reachable server; reopening it');
    failures = 0;
    await conn.close(true).catch(() => undefined);
    await conn.openUri(url, CONNECT_OPTIONS).catch((err: unknown) => log.warn({ err }, 'reopening the mongo connection failed; will try again'));
  };
  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    void check().finally(() => (busy = false));
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
