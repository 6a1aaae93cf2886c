import { parseArgs } from 'node:util';
import type { AppConfig } from '../../config/index.js';
import { createBackup } from '../backup/create-backup.js';
import { BackupError } from '../backup/manifest.js';
import type { Logger } from '../../kernel/logger.js';

/**
 * `emotion-diary backup [--dir DIR]`: writes an archive and prints a JSON summary on stdout.
 * Operational failures print one line on stderr and set exit code 1.
 */
export async function runBackupCommand(config: AppConfig, log: Logger, args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { dir: { type: 'string' } }, strict: true });
  try {
    const result = await createBackup(config, log, { dir: values.dir });
    const summary = {
      archive: result.archive,
      encrypted: result.encrypted,
      bytes: result.bytes,
      durationMs: result.durationMs,
      tables: Object.keys(result.manifest.mariadb.tables).length,
      collections: Object.keys(result.manifest.mongo.collections).length,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } catch (err) {
    if (!(err instanceof BackupError)) throw err;
    process.stderr.write(`backup failed: ${err.message}\n`);
    process.exitCode = 1;
  }
}
