import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AppConfig } from '../../../config/index.js';
import { createBackup, type BackupResult } from '../../../src/backup/create-backup.js';
import { BackupError } from '../../../src/backup/manifest.js';
import { listTables, mariaDbTarget } from '../../../src/backup/mariadb-dump.js';
import { restoreBackup } from '../../../src/backup/restore-backup.js';
import { runMigrate } from '../../../src/cli/migrate-command.js';
import { serviceUrls } from '../../harness/services.js';
import { dropNamespace, testConfig, testLogger, uniqueNamespace } from '../../harness/test-app.js';
import { seedDrillData, snapshotStores, type StoreSnapshot } from './backup-fixtures.js';

function withKey(config: AppConfig, encryptionKey: string | undefined): AppConfig {
  return { ...config, backup: { ...config.backup, encryptionKey } };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('backup and restore (the restore drill)', function () {
  this.timeout(120_000);
  const namespaces: AppConfig[] = [];
  let backupDir: string;
  let source: AppConfig;
  let original: StoreSnapshot;
  let plain: BackupResult;

  function namespace(label: string): AppConfig {
    const config = testConfig(uniqueNamespace(label));
    namespaces.push(config);
    return config;
  }

  before(async function () {
    backupDir = mkdtempSync(path.join(tmpdir(), 'emotion-diary-backups-'));
    source = namespace('drill');
    await runMigrate(source, testLogger(source), 'up');
    await seedDrillData(source);
    original = await snapshotStores(source);
  });

  after(async function () {
    for (const config of namespaces) await dropNamespace(config).catch(() => undefined);
    rmSync(backupDir, { recursive: true, force: true });
  });

  it('when seeded stores are backed up, wiped and restored, then every row and document comes back, verified by count and checksum', async function () {
    const log = testLogger(source);
    plain = await createBackup(source, log, { dir: backupDir });
    expect(path.basename(plain.archive)).to.match(/^emotion-diary-backup-\d{8}T\d{6}Z\.tar\.gz$/);
    const tables = plain.manifest.mariadb.tables;
    expect(tables.users?.rows).to.equal(5);
    expect(tables.diaries?.rows).to.equal(20);
    expect(tables.users?.sha256).to.match(/^[0-9a-f]{64}$/);
    expect(plain.manifest.mongo.collections.diary_analyses?.rows).to.equal(20);
    expect(plain.manifest.mongo.collections.notifications?.rows).to.equal(20);
    expect(plain.manifest.mongo.collections.notifications?.indexes.map((i) => i.name)).to.include('user_event_unique');

    await dropNamespace(source);
    const report = await restoreBackup(source, log, plain.archive);
    const rows = report.mariadb.rows;
    console.log(
      `      restore drill: ${rows} rows in ${report.mariadb.tables} tables and ${report.mongo.documents} documents in ` +
        `${report.mongo.collections} collections restored and verified in ${report.durationMs} ms ${JSON.stringify(report.phasesMs)}`,
    );
    expect(report.verified).to.equal(true);
    expect(report.mongo.documents).to.equal(40);
    expect(await snapshotStores(source)).to.deep.equal(original);
  });

  it('when the restored stores are backed up again, then the checksums equal the first backup', async function () {
    const again = await createBackup(source, testLogger(source), { dir: backupDir, now: new Date(Date.now() + 1_000) });
    expect(again.manifest.mariadb.tables).to.deep.equal(plain.manifest.mariadb.tables);
    expect(again.manifest.mongo.collections).to.deep.equal(plain.manifest.mongo.collections);
  });

  it('when the target is not empty, then restore refuses; with force, it replaces everything there', async function () {
    const target = namespace('drilltarget');
    await runMigrate(target, testLogger(target), 'up'); // seeds providers and settings: not empty
    const refused = await rejection(restoreBackup(target, testLogger(target), plain.archive));
    expect(refused).to.be.instanceOf(BackupError);
    expect(refused.message).to.match(/refusing to restore into non-empty stores .*use --force/);

    const report = await restoreBackup(target, testLogger(target), plain.archive, { force: true });
    expect(report.verified).to.equal(true);
    const restored = await snapshotStores(target);
    expect(restored).to.deep.equal(original);
  });

  it('when an encrypted archive is restored with the wrong key or none, then it fails cleanly and leaves the target untouched', async function () {
    const encrypted = await createBackup(withKey(source, 'correct horse battery staple'), testLogger(source), { dir: backupDir, now: new Date(Date.now() + 2_000) });
    expect(encrypted.archive).to.match(/\.tar\.gz\.enc$/);
    const bytes = readFileSync(encrypted.archive);
    expect(bytes.subarray(0, 8).toString()).to.equal('EDBKENC1');
    expect(bytes.includes(Buffer.from('drill_0')), 'no plaintext in the archive').to.equal(false);

    const target = namespace('drillenc');
    const wrong = await rejection(restoreBackup(withKey(target, 'wrong key'), testLogger(target), encrypted.archive));
    expect(wrong).to.be.instanceOf(BackupError);
    expect(wrong.message).to.equal('cannot decrypt the archive: wrong backup.encryptionKey or a corrupted file');
    const none = await rejection(restoreBackup(withKey(target, undefined), testLogger(target), encrypted.archive));
    expect(none.message).to.match(/the archive is encrypted: set backup\.encryptionKey/);
    expect(await listTables(mariaDbTarget(target.mariadb.url))).to.deep.equal([]);

    const report = await restoreBackup(withKey(target, 'correct horse battery staple'), testLogger(target), encrypted.archive);
    expect(report.verified).to.equal(true);
    expect(await snapshotStores(target)).to.deep.equal(original);
  });

  it('when an archive is damaged, then restore refuses before touching the stores', async function () {
    const damaged = path.join(backupDir, 'damaged.tar.gz');
    const bytes = readFileSync(plain.archive);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = bytes[middle]! ^ 0xff;
    writeFileSync(damaged, bytes);
    const target = namespace('drilldamaged');
    const err = await rejection(restoreBackup(target, testLogger(target), damaged));
    expect(err).to.be.instanceOf(BackupError);
    expect(err.message).to.match(/not a backup archive|damaged/);
    expect(await listTables(mariaDbTarget(target.mariadb.url))).to.deep.equal([]);
  });

  it('when the CLI restores with a wrong key, then it prints one line and exits 1; with the right key it prints the report', async function () {
    const key = 'cli key for the drill';
    const encrypted = await createBackup(withKey(source, key), testLogger(source), { dir: backupDir, now: new Date(Date.now() + 3_000) });
    const target = namespace('drillcli');
    const urls = serviceUrls();
    const cli = (args: string[], encryptionKey: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          APP_PROFILE: 'test',
          LOG_LEVEL: 'fatal',
          MARIADB_URL: target.mariadb.url,
          MONGO_URL: target.mongo.url,
          REDIS_URL: urls.REDIS_URL,
          KAFKA_BROKERS: urls.KAFKA_BROKERS,
          APP__BACKUP__ENCRYPTION_KEY: encryptionKey,
        },
      });
    const wrong = cli(['restore', encrypted.archive], 'not the key');
    expect(wrong.status).to.equal(1);
    expect(wrong.stderr.trim()).to.equal('restore failed: cannot decrypt the archive: wrong backup.encryptionKey or a corrupted file');
    const right = cli(['restore', encrypted.archive], key);
    expect(right.status, right.stderr).to.equal(0);
    const report = JSON.parse(right.stdout) as { verified: boolean; durationMs: number };
    expect(report.verified).to.equal(true);
  });
});
