import { expect } from 'chai';
import { QueryTypes, type Sequelize } from 'sequelize';
import type { AppConfig } from '../../../config/index.js';
import { createMigrator } from '../../../models/migrator.js';
import { runMigrate } from '../../../src/cli/migrate-command.js';
import { createSequelize } from '../../../kernel/clients/mariadb.js';
import { dropNamespace, testConfig, testLogger, uniqueNamespace } from '../../harness/test-app.js';

describe('MariaDB migrations', () => {
  let config: AppConfig;
  let sequelize: Sequelize;

  before(async () => {
    config = testConfig(uniqueNamespace('migrations'));
    await runMigrate(config, testLogger(config), 'up');
    sequelize = createSequelize(config);
  });

  after(async () => {
    await sequelize.close();
    await dropNamespace(config);
  });

  const tables = async () =>
    (await sequelize.query<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()', { type: QueryTypes.SELECT }))
      .map((r) => r.t)
      .sort();

  it('when migrated up, down to zero and up again, then every table of the design exists with its seeds', async () => {
    const migrator = createMigrator(sequelize);
    expect(await tables()).to.include.members(['users', 'auth_providers', 'user_authentications', 'settings_options', 'user_custom_settings', 'diaries', 'reports', 'diary_report_links', 'outbox_events', 'thought_records']);
    await migrator.down({ to: 0 });
    expect(await tables()).to.deep.equal(['schema_migrations']);
    await migrator.up();
    const providers = await sequelize.query<{ name: string }>('SELECT name FROM auth_providers ORDER BY id', { type: QueryTypes.SELECT });
    expect(providers.map((p) => p.name)).to.deep.equal(['server', 'google', 'kakao', 'naver']);
    const [row] = await sequelize.query<{ n: number }>('SELECT COUNT(*) AS n FROM settings_options', { type: QueryTypes.SELECT });
    expect(Number(row?.n)).to.be.greaterThan(5);
  });

  it('when migrated, then every unique key of the design is enforced by an index', async () => {
    const rows = await sequelize.query<{ t: string; i: string }>(
      "SELECT DISTINCT table_name AS t, index_name AS i FROM information_schema.statistics WHERE table_schema = DATABASE() AND non_unique = 0 AND index_name <> 'PRIMARY'",
      { type: QueryTypes.SELECT },
    );
    expect(rows.map((r) => `${r.t}.${r.i}`).sort()).to.deep.equal([
      'auth_providers.auth_providers_name_unique',
      'outbox_events.outbox_events_event_id_unique',
      'schema_migrations.name',
      'settings_options.settings_options_key_unique',
      'user_authentications.user_auth_provider_social_unique',
      'user_authentications.user_auth_user_provider_unique',
      'users.users_email_unique',
      'users.users_username_unique',
    ]);
  });

  it('when up runs twice, then the second run applies nothing', async () => {
    const result = await runMigrate(config, testLogger(config), 'up');
    expect(result.pending).to.deep.equal([]);
    expect(result.executed).to.have.length.greaterThan(4);
  });

  it('when a user is deleted, then their diaries, settings, authentications and report links go with them', async () => {
    const q = (sql: string, replacements: unknown[] = []) => sequelize.query(sql, { replacements });
    await q("INSERT INTO users (email, username, nickname, status) VALUES ('c@x.io', 'cascade', 'C', 'ACTIVE')");
    const [[user]] = (await q("SELECT id FROM users WHERE username = 'cascade'")) as [[{ id: string }], unknown];
    await q("INSERT INTO diaries (user_id, content) VALUES (?, 'text')", [user.id]);
    const [[diary]] = (await q('SELECT id FROM diaries WHERE user_id = ?', [user.id])) as [[{ id: string }], unknown];
    await q("INSERT INTO reports (user_id, period_start, period_end, summary) VALUES (?, NOW(), NOW(), '{}')", [user.id]);
    const [[report]] = (await q('SELECT id FROM reports WHERE user_id = ?', [user.id])) as [[{ id: string }], unknown];
    await q('INSERT INTO diary_report_links (report_id, diary_id) VALUES (?, ?)', [report.id, diary.id]);
    await q("INSERT INTO user_custom_settings (user_id, option_id, value) SELECT ?, id, 'dark' FROM settings_options WHERE `key` = 'theme'", [user.id]);
    await q("INSERT INTO user_authentications (user_id, provider_id, social_id) SELECT ?, id, 'g-1' FROM auth_providers WHERE name = 'google'", [user.id]);

    await q('DELETE FROM users WHERE id = ?', [user.id]);

    for (const [table, column] of [['diaries', 'user_id'], ['reports', 'user_id'], ['user_custom_settings', 'user_id'], ['user_authentications', 'user_id']] as const) {
      const [[row]] = (await q(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`, [user.id])) as [[{ n: number }], unknown];
      expect(Number(row.n), table).to.equal(0);
    }
    const [[links]] = (await q('SELECT COUNT(*) AS n FROM diary_report_links WHERE diary_id = ?', [diary.id])) as [[{ n: number }], unknown];
    expect(Number(links.n)).to.equal(0);
  });

  it('when a provider still has linked accounts, then deleting it is refused', async () => {
    const q = (sql: string, replacements: unknown[] = []) => sequelize.query(sql, { replacements });
    await q("INSERT INTO users (email, username, nickname) VALUES ('k@x.io', 'kakaouser', 'K')");
    await q("INSERT INTO user_authentications (user_id, provider_id, social_id) SELECT u.id, p.id, 'k-1' FROM users u, auth_providers p WHERE u.username = 'kakaouser' AND p.name = 'kakao'");
    let refused = false;
    try {
      await q("DELETE FROM auth_providers WHERE name = 'kakao'");
    } catch (err) {
      refused = /foreign key constraint fails/i.test(String((err as Error).message));
    }
    expect(refused).to.equal(true);
  });

  it('when two accounts claim the same email or the same provider identity, then the unique keys refuse the second', async () => {
    const q = (sql: string) => sequelize.query(sql);
    await q("INSERT INTO users (email, username, nickname) VALUES ('dup@x.io', 'dup1', 'D')");
    const duplicate = async (sql: string) => {
      try {
        await q(sql);
        return false;
      } catch (err) {
        return (err as Error).name === 'SequelizeUniqueConstraintError';
      }
    };
    expect(await duplicate("INSERT INTO users (email, username, nickname) VALUES ('dup@x.io', 'dup2', 'D')")).to.equal(true);
    expect(await duplicate("INSERT INTO users (email, username, nickname) VALUES ('other@x.io', 'dup1', 'D')")).to.equal(true);
  });
});
