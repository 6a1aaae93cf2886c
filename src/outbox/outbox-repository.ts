import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { SqlModels } from '../../models/sql/index.js';

export interface OutboxMessage {
  eventId: string;
  topic: string;
  key: string;
  payload: object;
  headers: Record<string, string>;
}

export interface ClaimedOutboxRow {
  id: string;
  eventId: string;
  topic: string;
  key: string;
  value: string;
  headers: Record<string, string>;
  attempts: number;
}

interface OutboxRowRecord {
  id: string;
  event_id: string;
  topic: string;
  message_key: string;
  payload: string;
  headers: string;
  attempts: number;
}

/**
 * The transactional outbox table. `append` must run inside the caller's transaction, so an
 * event exists if and only if the write that caused it committed.
 */
export function createOutboxRepository(sequelize: Sequelize, models: SqlModels) {
  return {
    async append(message: OutboxMessage, transaction: Transaction): Promise<void> {
      await models.OutboxEvent.create(
        {
          eventId: message.eventId,
          topic: message.topic,
          messageKey: message.key,
          payload: JSON.stringify(message.payload),
          headers: JSON.stringify(message.headers),
        },
        { transaction },
      );
    },

    /** Removes every row of a message key (an entry being deleted: its requests carry its text). */
    async deleteForKey(key: string, transaction: Transaction): Promise<number> {
      return models.OutboxEvent.destroy({ where: { messageKey: key }, transaction });
    },

    /**
     * Locks up to `limit` due rows for this transaction. SKIP LOCKED lets every API instance run
     * a relay: each claims rows the others are not publishing.
     */
    async claimDue(limit: number, transaction: Transaction): Promise<ClaimedOutboxRow[]> {
      const rows = await sequelize.query<OutboxRowRecord>(
        `SELECT id, event_id, topic, message_key, payload, headers, attempts FROM outbox_events
         WHERE status = 'PENDING' AND available_at <= NOW(3) ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED`,
        { replacements: { limit }, type: QueryTypes.SELECT, transaction },
      );
      return rows.map((r) => ({
        id: String(r.id),
        eventId: r.event_id,
        topic: r.topic,
        key: r.message_key,
        value: r.payload,
        headers: JSON.parse(r.headers) as Record<string, string>,
        attempts: Number(r.attempts),
      }));
    },

    async markSent(ids: string[], transaction: Transaction): Promise<void> {
      await sequelize.query(`UPDATE outbox_events SET status = 'SENT', sent_at = NOW(3), attempts = attempts + 1 WHERE id IN (:ids)`, {
        replacements: { ids },
        transaction,
      });
    },

    /** Pushes failed rows back with a per-row exponential delay, so a poison batch cannot spin. */
    async markFailed(ids: string[], error: string, baseMs: number, maxMs: number, transaction: Transaction): Promise<void> {
      await sequelize.query(
        `UPDATE outbox_events SET attempts = attempts + 1, last_error = :error,
           available_at = DATE_ADD(NOW(3), INTERVAL LEAST(:maxMs, :baseMs * POW(2, LEAST(attempts, 20))) * 1000 MICROSECOND)
         WHERE id IN (:ids)`,
        { replacements: { ids, error: error.slice(0, 500), baseMs, maxMs }, transaction },
      );
    },

    async backlog(): Promise<{ pending: number; oldestAgeSec: number }> {
      const [row] = await sequelize.query<{ pending: number; oldest: number | null }>(
        `SELECT COUNT(*) AS pending, TIMESTAMPDIFF(MICROSECOND, MIN(created_at), NOW(3)) / 1e6 AS oldest FROM outbox_events WHERE status = 'PENDING'`,
        { type: QueryTypes.SELECT },
      );
      return { pending: Number(row?.pending ?? 0), oldestAgeSec: Number(row?.oldest ?? 0) };
    },

    /** Sent rows hold diary text; keep them only as long as they help debugging. */
    async purgeSent(olderThanSec: number): Promise<number> {
      const [, meta] = await sequelize.query(`DELETE FROM outbox_events WHERE status = 'SENT' AND sent_at < NOW(3) - INTERVAL :sec SECOND LIMIT 1000`, {
        replacements: { sec: olderThanSec },
      });
      return Number((meta as { affectedRows?: number } | undefined)?.affectedRows ?? 0);
    },
  };
}

export type OutboxRepository = ReturnType<typeof createOutboxRepository>;
