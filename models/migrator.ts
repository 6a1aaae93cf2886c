import type { QueryInterface, Sequelize } from 'sequelize';
import { SequelizeStorage, Umzug, type MigrationParams } from 'umzug';
import * as accounts from './migrations/001-accounts.js';
import * as settings from './migrations/002-settings.js';
import * as diaries from './migrations/003-diaries.js';
import * as outbox from './migrations/004-outbox.js';
import * as seedProviders from './migrations/005-seed-auth-providers.js';
import * as seedSettings from './migrations/006-seed-settings-options.js';
import * as outboxKeyIndex from './migrations/007-outbox-key-index.js';
import * as diaryCreateProcedure from './migrations/008-diary-create-procedure.js';
import * as thoughtRecords from './migrations/009-thought-records.js';

interface MigrationModule {
  up(qi: QueryInterface): Promise<void>;
  down(qi: QueryInterface): Promise<void>;
}

/** Ordered list of schema changes. Adding a migration means adding a file and a line here. */
const MIGRATIONS: Array<[string, MigrationModule]> = [
  ['001-accounts', accounts],
  ['002-settings', settings],
  ['003-diaries', diaries],
  ['004-outbox', outbox],
  ['005-seed-auth-providers', seedProviders],
  ['006-seed-settings-options', seedSettings],
  ['007-outbox-key-index', outboxKeyIndex],
  ['008-diary-create-procedure', diaryCreateProcedure],
  ['009-thought-records', thoughtRecords],
];

export interface MigrationLog {
  info(fields: object, msg?: string): void;
}

export function createMigrator(sequelize: Sequelize, log?: MigrationLog) {
  return new Umzug<QueryInterface>({
    migrations: MIGRATIONS.map(([name, mod]) => ({
      name,
      up: ({ context }: MigrationParams<QueryInterface>) => mod.up(context),
      down: ({ context }: MigrationParams<QueryInterface>) => mod.down(context),
    })),
    context: sequelize.getQueryInterface(),
    storage: new SequelizeStorage({ sequelize, tableName: 'schema_migrations' }),
    logger: log ? { info: (m) => log.info(m), warn: (m) => log.info(m), error: (m) => log.info(m), debug: () => undefined } : undefined,
  });
}

export type Migrator = ReturnType<typeof createMigrator>;
