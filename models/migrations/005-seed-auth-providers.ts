import type { QueryInterface } from 'sequelize';

export const AUTH_PROVIDERS = ['server', 'google', 'kakao', 'naver'] as const;

export async function up(qi: QueryInterface): Promise<void> {
  for (const name of AUTH_PROVIDERS) {
    await qi.sequelize.query('INSERT IGNORE INTO auth_providers (name) VALUES (?)', { replacements: [name] });
  }
}

export async function down(qi: QueryInterface): Promise<void> {
  await qi.sequelize.query('DELETE FROM auth_providers WHERE name IN (?)', { replacements: [AUTH_PROVIDERS] });
}
