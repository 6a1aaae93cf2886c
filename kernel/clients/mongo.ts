import mongoose, { type Connection } from 'mongoose';
import type { AppConfig } from '../../config/index.js';

/**
 * A dedicated mongoose connection (not the global one), so each composition root owns its own.
 * Designed for what both MongoDB and FerretDB support: no transactions, no change streams;
 * correctness comes from unique indexes and idempotent upserts.
 */
export async function connectMongo(config: Pick<AppConfig, 'mongo'>): Promise<Connection> {
  const conn = mongoose.createConnection(config.mongo.url, {
    serverSelectionTimeoutMS: 5_000,
    // Indexes are created explicitly by syncMongoIndexes at start, not lazily per model.
    autoIndex: false,
    autoCreate: false,
  });
  await conn.asPromise();
  return conn;
}

export async function pingMongo(conn: Connection): Promise<void> {
  if (!conn.db) throw new Error('mongo not connected');
  await conn.db.admin().command({ ping: 1 });
}
