import type { AppConfig } from '../../config/index.js';
import { createMigrator } from '../../models/migrator.js';
import { defineMongoModels, syncMongoIndexes } from '../../models/mongo/index.js';
import { reshapeLegacyDocuments } from '../../models/mongo/reshape-legacy.js';
import type { Logger } from '../../kernel/logger.js';
import { createSequelize, ensureDatabase } from '../../kernel/clients/mariadb.js';
import { connectMongo } from '../../kernel/clients/mongo.js';

export type MigrateAction = 'up' | 'down' | 'status';

/**
 * Applies (or reverts one step of, or reports) the MariaDB migrations and seeds, and creates the
 * MongoDB collections and indexes (and reshapes documents of earlier versions). Idempotent: running `up` twice changes nothing the second time.
 */
export async function runMigrate(config: AppConfig, log: Logger, action: MigrateAction): Promise<{ executed: string[]; pending: string[] }> {
  await ensureDatabase(config.mariadb.url);
  const sequelize = createSequelize(config, log);
  try {
    const migrator = createMigrator(sequelize, log);
    if (action === 'up') {
      const applied = await migrator.up();
      const mongo = await connectMongo(config);
      try {
        const models = defineMongoModels(mongo);
        await syncMongoIndexes(models);
        const reshaped = await reshapeLegacyDocuments(models);
        if (reshaped.notifications + reshaped.announcementAcks > 0) log.info(reshaped, 'documents of an earlier version reshaped');
      } finally {
        await mongo.close();
      }
      log.info({ applied: applied.map((m) => m.name) }, 'migrations applied');
    } else if (action === 'down') {
      const reverted = await migrator.down();
      log.info({ reverted: reverted.map((m) => m.name) }, 'migration reverted');
    }
    const executed = (await migrator.executed()).map((m) => m.name);
    const pending = (await migrator.pending()).map((m) => m.name);
    return { executed, pending };
  } finally {
    await sequelize.close();
  }
}
