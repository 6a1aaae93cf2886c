import type { QueryInterface } from 'sequelize';

/**
 * Thought records: what a person decided about the analysis of one of their entries. Kept in
 * MariaDB beside the entry, apart from the analyzer's output in MongoDB: one row per entry (the
 * entry's id is the key), deleted with the entry and with its owner by the foreign keys, and its
 * `version` makes a conditional UPDATE the optimistic-concurrency check (the MongoDB-wire store
 * has no atomic update). The decisions, ratings and the copy of the analyzer's thoughts are JSON
 * documents of the row: they are always read and written whole.
 *
 * Also the opt-in setting that lets the person's corrections be exported as training data.
 */
const CREATE = `
CREATE TABLE thought_records (
  diary_id BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  user_id BIGINT UNSIGNED NOT NULL,
  version INT UNSIGNED NOT NULL DEFAULT 1,
  analysis_revision INT UNSIGNED NOT NULL,
  analyzer VARCHAR(64) NOT NULL,
  analyzer_version VARCHAR(64) NOT NULL,
  analyzer_model VARCHAR(128) NULL,
  language VARCHAR(16) NOT NULL,
  content_sha256 CHAR(64) NOT NULL,
  thoughts LONGTEXT NOT NULL CHECK (JSON_VALID(thoughts)),
  own_thoughts LONGTEXT NOT NULL CHECK (JSON_VALID(own_thoughts)),
  emotions_before TEXT NOT NULL CHECK (JSON_VALID(emotions_before)),
  emotions_after TEXT NOT NULL CHECK (JSON_VALID(emotions_after)),
  evidence_for TEXT NOT NULL,
  evidence_against TEXT NOT NULL,
  balanced_thought TEXT NOT NULL,
  created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  updated_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  KEY thought_records_user_idx (user_id, diary_id),
  CONSTRAINT thought_records_diary_fk FOREIGN KEY (diary_id) REFERENCES diaries (id) ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT thought_records_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE ON UPDATE CASCADE
) ENGINE=InnoDB`;

export const TRAINING_CONSENT_KEY = 'training.shareCorrections';

export async function up(qi: QueryInterface): Promise<void> {
  await qi.sequelize.query(CREATE);
  await qi.sequelize.query(
    'INSERT IGNORE INTO settings_options (`key`, default_value, data_type, description, user_editable) VALUES (?, ?, ?, ?, ?)',
    {
      replacements: [
        TRAINING_CONSENT_KEY,
        'false',
        'BOOLEAN',
        'Share my thought-record corrections, with the entry text they are about, as training data for the analyzer (off unless you turn it on)',
        true,
      ],
    },
  );
}

export async function down(qi: QueryInterface): Promise<void> {
  await qi.sequelize.query('DELETE FROM settings_options WHERE `key` = ?', { replacements: [TRAINING_CONSENT_KEY] });
  await qi.dropTable('thought_records');
}
