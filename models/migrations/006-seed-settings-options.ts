import type { QueryInterface } from 'sequelize';

export const SEEDED_SETTINGS = [
  { key: 'language', defaultValue: 'en', dataType: 'STRING', userEditable: true, description: 'Language of analysis texts and mail: en or ko' },
  { key: 'timezone', defaultValue: 'UTC', dataType: 'STRING', userEditable: true, description: 'IANA time zone used for daily statistics and reports' },
  { key: 'theme', defaultValue: 'system', dataType: 'STRING', userEditable: true, description: 'Client theme: light, dark or system' },
  { key: 'notifications.analysis', defaultValue: 'true', dataType: 'BOOLEAN', userEditable: true, description: 'Receive a notification when an analysis finishes' },
  { key: 'notifications.announcements', defaultValue: 'true', dataType: 'BOOLEAN', userEditable: true, description: 'Receive announcements' },
  { key: 'reminder.daily', defaultValue: '{"enabled":false,"time":"21:00"}', dataType: 'JSON', userEditable: true, description: 'Daily writing reminder' },
  { key: 'diary.maxPerDay', defaultValue: '50', dataType: 'NUMBER', userEditable: false, description: 'Entries a user may write per day' },
] as const;

export async function up(qi: QueryInterface): Promise<void> {
  for (const s of SEEDED_SETTINGS) {
    await qi.sequelize.query(
      'INSERT IGNORE INTO settings_options (`key`, default_value, data_type, description, user_editable) VALUES (?, ?, ?, ?, ?)',
      { replacements: [s.key, s.defaultValue, s.dataType, s.description, s.userEditable] },
    );
  }
}

export async function down(qi: QueryInterface): Promise<void> {
  await qi.sequelize.query('DELETE FROM settings_options WHERE `key` IN (?)', { replacements: [SEEDED_SETTINGS.map((s) => s.key)] });
}
