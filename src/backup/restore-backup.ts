import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as tar from 'tar';
import type { AppConfig } from '../../config/index.js';
import type { Logger } from '../../kernel/logger.js';
import { ensureDatabase } from '../../kernel/clients/mariadb.js';
import { connectMongo } from '../../kernel/clients/mongo.js';
import { decryptToFile, isEncryptedArchive } from './archive-crypto.js';
import { BackupError, MANIFEST_FORMAT, compareDigests, digestFile, type BackupManifest, type DataDigest } from './manifest.js';
import { digestDatabase, dropAllTables, listTables, loadDump, mariaDbTarget } from './mariadb-dump.js';
import { digestCollection, dropAllCollections, importCollection, listCollections, nonEmptyCollections } from './mongo-collections.js';

export type RestoreConfig = Pick<AppConfig, 'mariadb' | 'mongo' | 'backup'>;

export interface RestoreReport {
  archive: string;
  createdAt: string;
  mariadb: { database: string; tables: number; rows: number };
  mongo: { database: string; collections: number; documents: number };
  /** Counts and checksums of every table and collection matched the manifest. */
  verified: true;
  durationMs: number;
  phasesMs: { unpack: number; mariadb: number; mongo: number; verify: number };
}

async function readManifest(dir: string): Promise<BackupManifest> {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
  } catch (err) {
    throw new BackupError('not a backup archive: manifest.json is missing or unreadable', { cause: err });
  }
  if (manifest.format !== MANIFEST_FORMAT) throw new BackupError(`unsupported backup format ${String(manifest.format)} (this version reads ${MANIFEST_FORMAT})`);
  return manifest;
}

const sum = (digests: Record<string, DataDigest>) => Object.values(digests).reduce((n, d) => n + d.rows, 0);

/**
 * Restores an archive written by createBackup into the configured MariaDB database and MongoDB
 * database: decrypts (when encrypted) and unpacks it, checks every file against the manifest, refuses
 * stores that hold anything unless `force` (which first drops every table and collection there), loads
 * the dump and the collections, then verifies counts and checksums of every table and collection.
 */
export async function restoreBackup(config: RestoreConfig, log: Logger, archive: string, options: { force?: boolean } = {}): Promise<RestoreReport> {
  const started = performance.now();
  const lap = (() => {
    let last = started;
    return () => {
      const now = performance.now();
      const ms = Math.round(now - last);
      last = now;
      return ms;
    };
  })();
  const work = await mkdtemp(path.join(tmpdir(), 'emotion-diary-restore-'));
  try {
    let tarball = path.resolve(archive);
    if (await isEncryptedArchive(tarball)) {
      const key = config.backup.encryptionKey;
      if (!key) throw new BackupError('the archive is encrypted: set backup.encryptionKey (APP__BACKUP__ENCRYPTION_KEY)');
      tarball = path.join(work, 'archive.tar.gz');
      await decryptToFile(archive, tarball, key);
    }
    const dir = path.join(work, 'content');
    await mkdir(dir);
    await tar.extract({ file: tarball, cwd: dir, strict: true }).catch((err: unknown) => {
      throw new BackupError('not a backup archive (cannot unpack it)', { cause: err });
    });
    const manifest = await readManifest(dir);
    for (const [file, expected] of Object.entries(manifest.files)) {
      const actual = await digestFile(path.join(dir, file)).catch(() => undefined);
      if (actual?.sha256 !== expected.sha256) throw new BackupError(`the archive is damaged: ${file} does not match its checksum`);
    }
    const unpack = lap();

    const mariadb = mariaDbTarget(config.mariadb.url);
    await ensureDatabase(config.mariadb.url);
    const conn = await connectMongo(config);
    try {
      const db = conn.db;
      if (!db) throw new Error('mongo connection has no database');
      const tables = await listTables(mariadb);
      const collections = await nonEmptyCollections(db);
      if ((tables.length > 0 || collections.length > 0) && !options.force) {
        throw new BackupError(
          `refusing to restore into non-empty stores (MariaDB ${mariadb.database}: ${tables.length} tables; ` +
            `MongoDB ${conn.name}: ${collections.length} collections with documents); use --force to replace everything in them`,
        );
      }
      if (options.force) {
        log.warn({ database: mariadb.database, mongo: conn.name }, 'restore --force: dropping every table and collection of the targets');
        await dropAllTables(mariadb);
        await dropAllCollections(db);
      }

      log.info({ database: mariadb.database }, 'restore: loading the MariaDB dump');
      await loadDump(mariadb, path.join(dir, manifest.mariadb.file));
      const mariadbMs = lap();
      for (const [name, collection] of Object.entries(manifest.mongo.collections)) {
        await importCollection(db, name, path.join(dir, collection.file), collection.indexes);
      }
      const mongoMs = lap();

      const problems = compareDigests(manifest.mariadb.tables, await digestDatabase(mariadb)).map((p) => `MariaDB ${p}`);
      const expectedCollections = Object.fromEntries(Object.entries(manifest.mongo.collections).map(([n, c]) => [n, { rows: c.rows, sha256: c.sha256 }]));
      const actualCollections: Record<string, DataDigest> = {};
      for (const name of await listCollections(db)) {
        const digest = await digestCollection(db, name);
        // An empty collection the backup did not know (created by a newer migrate) is no difference.
        if (name in expectedCollections || digest.rows > 0) actualCollections[name] = digest;
      }
      problems.push(...compareDigests(expectedCollections, actualCollections).map((p) => `MongoDB ${p}`));
      if (problems.length > 0) throw new BackupError(`restore verification failed: ${problems.join('; ')}`);
      const verify = lap();

      const report: RestoreReport = {
        archive: path.resolve(archive),
        createdAt: manifest.createdAt,
        mariadb: { database: mariadb.database, tables: Object.keys(manifest.mariadb.tables).length, rows: sum(manifest.mariadb.tables) },
        mongo: { database: conn.name, collections: Object.keys(expectedCollections).length, documents: sum(expectedCollections) },
        verified: true,
        durationMs: Math.round(performance.now() - started),
        phasesMs: { unpack, mariadb: mariadbMs, mongo: mongoMs, verify },
      };
      log.info(report, 'restore finished and verified');
      return report;
    } finally {
      await conn.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
