import type { QueryInterface } from 'sequelize';

/**
 * A new entry and its analysis request as one statement: `CALL diary_create_with_outbox(...)`
 * runs the transaction (both inserts commit together or neither does) and answers the new row,
 * in one round trip and one socket write. On this class of machine every socket write costs
 * ~50 µs of the API's CPU, and the create was four of them (START TRANSACTION, two INSERTs, COMMIT).
 *
 * `p_payload` is the outbox JSON object without the diary id, which only the insert knows: the
 * procedure puts `"diaryId":"<id>"` first in it, so the object must have at least one member.
 * Any error rolls the whole transaction back and reaches the caller unchanged (RESIGNAL), so a
 * missing owner is still ER_NO_REFERENCED_ROW_2 (1452).
 */
const CREATE = `
CREATE PROCEDURE diary_create_with_outbox(
  IN p_user_id BIGINT UNSIGNED,
  IN p_title VARCHAR(255),
  IN p_content MEDIUMTEXT,
  IN p_event_id CHAR(36),
  IN p_topic VARCHAR(249),
  IN p_payload LONGTEXT,
  IN p_headers TEXT
)
MODIFIES SQL DATA
BEGIN
  DECLARE v_id BIGINT UNSIGNED;
  DECLARE EXIT HANDLER FOR SQLEXCEPTION
  BEGIN
    ROLLBACK;
    RESIGNAL;
  END;
  START TRANSACTION;
  INSERT INTO diaries (user_id, title, content) VALUES (p_user_id, p_title, p_content);
  SET v_id = LAST_INSERT_ID();
  INSERT INTO outbox_events (event_id, topic, message_key, payload, headers)
    VALUES (p_event_id, p_topic, v_id, CONCAT('{"diaryId":"', v_id, '",', SUBSTRING(p_payload, 2)), p_headers);
  COMMIT;
  SELECT id, user_id, title, revision, analysis_status, analyzed_revision, status_revision, emotion_status, is_negative,
         alternative_thought, analysis_updated_at, created_at, updated_at
    FROM diaries WHERE id = v_id;
END`;

export async function up(qi: QueryInterface): Promise<void> {
  await qi.sequelize.query('DROP PROCEDURE IF EXISTS diary_create_with_outbox');
  await qi.sequelize.query(CREATE);
}

export async function down(qi: QueryInterface): Promise<void> {
  await qi.sequelize.query('DROP PROCEDURE IF EXISTS diary_create_with_outbox');
}
