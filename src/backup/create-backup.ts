import { chmod, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tar from 'tar';
import type { AppConfig } from '../../config/index.js';
import type { Logger } from '../../kernel/logger.js';
import { connectMongo } from '../../kernel/clients/mongo.js';
import { encryptToFile } from './archive-crypto.js';
import { MANIFEST_FORMAT, digestFile, type BackupManifest } from './manifest.js';
import { dumpDatabase, mariaDbTarget } from './mariadb-dump.js';
import { exportCollection, listCollections, listIndexes } from './mongo-collections.js';

export type BackupConfig = Pick<AppConfig, 'app' | 'profile' | 'mariadb' | 'mongo' | 'backup'>;

export interface BackupResult {
  archive: string;
  encrypted: boolean;
  bytes: number;
  durationMs: number;
  manifest: BackupManifest;
}

const SQL_FILE = 'mariadb.sql';

/** 2025-01-31T12:00:00.123Z -> 20250131T120000Z */
function timestamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Writes one archive `<app>-backup-<UTC timestamp>.tar.gz` (`.enc` appended when backup.encryptionKey
 * is set) into backup.dir: manifest.json, the MariaDB dump and one EJSON file per MongoDB collection.
 * The manifest holds per-table and per-collection counts and checksums, which restore verifies.
 * The archive appears under its final name only once complete.
 */
export async function createBackup(config: BackupConfig, log: Logger, options: { dir?: string; now?: Date } = {}): Promise<BackupResult> {
  const started = performance.now();
  const dir = path.resolve(options.dir ?? config.backup.dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const createdAt = options.now ?? new Date();
  const key = config.backup.encryptionKey;
  const name = `${config.app.name}-backup-${timestamp(createdAt)}.tar.gz${key ? '.enc' : ''}`;
  // Inside the target dir, so the final rename stays on one filesystem; private while it holds plaintext.
  const work = await mkdtemp(path.join(dir, '.work-'));
  try {
    const mariadb = mariaDbTarget(config.mariadb.url);
    log.info({ database: mariadb.database }, 'backup: dumping MariaDB');
    const tables = await dumpDatabase(mariadb, path.join(work, SQL_FILE));

    await mkdir(path.join(work, 'mongo'));
    const collections: BackupManifest['mongo']['collections'] = {};
    const conn = await connectMongo(config);
    try {
      const db = conn.db;
      if (!db) throw new Error('mongo connection has no database');
      for (const collection of await listCollections(db)) {
        const file = `mongo/${encodeURIComponent(collection)}.ejson`;
        const indexes = await listIndexes(db, collection);
        const digest = await exportCollection(db, collection, path.join(work, file));
        collections[collection] = { ...digest, file, indexes };
      }
    } finally {
      await conn.close();
    }
    log.info({ collections: Object.keys(collections).length }, 'backup: exported MongoDB');

    const dataFiles = [SQL_FILE, ...Object.values(collections).map((c) => c.file)];
    const files: BackupManifest['files'] = {};
    for (const file of dataFiles) files[file] = await digestFile(path.join(work, file));
    const manifest: BackupManifest = {
      format: MANIFEST_FORMAT,
      createdAt: createdAt.toISOString(),
      app: config.app.name,
      profile: config.profile,
      files,
      mariadb: { database: mariadb.database, file: SQL_FILE, tables },
      mongo: { database: conn.name, collections },
    };
    await writeFile(path.join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });

    const partial = path.join(dir, `.${name}.partial`);
    const entries = ['manifest.json', ...dataFiles];
    const pack = { gzip: true, cwd: work, portable: true } as const;
    try {
      if (key) await encryptToFile(tar.create(pack, entries), partial, key);
      else await tar.create({ ...pack, file: partial }, entries);
      await chmod(partial, 0o600);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    const archive = path.join(dir, name);
    await rename(partial, archive);
    const { size } = await stat(archive);
    const durationMs = Math.round(performance.now() - started);
    log.info({ archive, bytes: size, encrypted: !!key, durationMs }, 'backup written');
    return { archive, encrypted: !!key, bytes: size, durationMs, manifest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
