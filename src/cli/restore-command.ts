import { parseArgs } from 'node:util';
import type { AppConfig } from '../../config/index.js';
import { BackupError } from '../backup/manifest.js';
import { restoreBackup } from '../backup/restore-backup.js';
import type { Logger } from '../../kernel/logger.js';

/**
 * `emotion-diary restore <archive> [--force]`: restores into the configured databases, which must be
 * empty unless --force, verifies counts and checksums, and prints the report (with timings) as JSON.
 * Operational failures (wrong key, non-empty target, damaged archive) print one line and exit 1.
 */
export async function runRestoreCommand(config: AppConfig, log: Logger, args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { force: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  const archive = positionals[0];
  if (!archive || positionals.length > 1) {
    process.stderr.write('usage: emotion-diary restore <archive> [--force]\n');
    process.exitCode = 2;
    return;
  }
  try {
    const report = await restoreBackup(config, log, archive, { force: values.force });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } catch (err) {
    if (!(err instanceof BackupError)) throw err;
    process.stderr.write(`restore failed: ${err.message}\n`);
    process.exitCode = 1;
  }
}
