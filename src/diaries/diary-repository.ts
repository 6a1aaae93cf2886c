import type { Connection, SqlError } from 'mariadb';
import { ConnectionError, type Sequelize, type Transaction } from 'sequelize';
import { primaryReads, type StaleTolerantReads } from '../../kernel/replica-reads.js';
import { connectionOf } from '../../kernel/sql-transactions.js';
import type { AnalysisStatus, DiaryRow, EmotionStatus, SqlModels } from '../../models/sql/index.js';
import type { OutboxMessage } from '../outbox/outbox-repository.js';
import type { DiaryCursor } from './diary-cursor.js';

export interface Diary {
  id: string;
  userId: string;
  title: string | null;
  content: string;
  revision: number;
  analysisStatus: AnalysisStatus;
  analyzedRevision: number | null;
  statusRevision: number;
  emotionStatus: EmotionStatus | null;
  isNegative: boolean | null;
  alternativeThought: string | null;
  analysisUpdatedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface DiaryFilter {
  from?: Date;
  to?: Date;
  emotionStatus?: EmotionStatus;
  analysisStatus?: AnalysisStatus;
  /** Case-insensitive substring of title or content (works for Korean too). */
  text?: string;
}

const toDiary = (row: DiaryRow): Diary => {
  const d = row.get({ plain: true }) as Diary;
  return { ...d, id: String(d.id), userId: String(d.userId), isNegative: d.isNegative === null ? null : Boolean(d.isNegative) };
};

/** A `diaries` row as the driver returns it (snake_case; BIGINT ids as strings, see createSequelize). */
interface DiarySqlRow {
  id: string | number;
  user_id: string | number;
  title: string | null;
  content: string;
  revision: number;
  analysis_status: AnalysisStatus;
  analyzed_revision: number | null;
  status_revision: number;
  emotion_status: EmotionStatus | null;
  is_negative: number | boolean | null;
  alternative_thought: string | null;
  /** Dates as Sequelize's typeCast gives them, or as strings with PLAIN. */
  analysis_updated_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

/**
 * Query options for many-row results: the driver's own decoders instead of Sequelize's `typeCast`
 * (called for every value of every row; its DATETIME parser goes through moment-timezone), and
 * DATETIMEs as the strings the session renders, in UTC (Sequelize sets `time_zone = '+00:00'`).
 * Not for one-row results: per-query options make the driver copy its whole option object per
 * query (about 30 µs here), more than typeCast costs for one row.
 */
const PLAIN = { typeCast: undefined, dateStrings: true };
const toDate = (value: Date | string) => (typeof value === 'string' ? new Date(`${value.replace(' ', 'T')}Z`) : value);

const fromSqlRow = (r: DiarySqlRow): Diary => ({
  id: String(r.id),
  userId: String(r.user_id),
  title: r.title,
  content: r.content,
  revision: r.revision,
  analysisStatus: r.analysis_status,
  analyzedRevision: r.analyzed_revision,
  statusRevision: r.status_revision,
  emotionStatus: r.emotion_status,
  isNegative: r.is_negative === null ? null : Boolean(r.is_negative),
  alternativeThought: r.alternative_thought,
  analysisUpdatedAt: r.analysis_updated_at === null ? null : toDate(r.analysis_updated_at),
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

/** A row of a list: the entry without its text, with the text's first characters instead. */
export type DiaryListRow = Omit<Diary, 'content'> & { excerpt: string };

/**
 * fromSqlRow for a list row whose `content` is already cut to its excerpt, in one object. A copy
 * of fromSqlRow's fields on purpose: built as `{ ...fields(r), excerpt }` instead, the list (the
 * hottest read) measured about 10% more server CPU per request (bench/rest-diaries.ts, 2 runs each).
 */
const fromSqlListRow = (r: DiarySqlRow, excerptChars: number): DiaryListRow => ({
  id: String(r.id),
  userId: String(r.user_id),
  title: r.title,
  excerpt: r.content.slice(0, excerptChars),
  revision: r.revision,
  analysisStatus: r.analysis_status,
  analyzedRevision: r.analyzed_revision,
  statusRevision: r.status_revision,
  emotionStatus: r.emotion_status,
  isNegative: r.is_negative === null ? null : Boolean(r.is_negative),
  alternativeThought: r.alternative_thought,
  analysisUpdatedAt: r.analysis_updated_at === null ? null : toDate(r.analysis_updated_at),
  createdAt: toDate(r.created_at),
  updatedAt: toDate(r.updated_at),
});

/** Every column but `content`, which the callers of these queries already have or only excerpt. */
const COLUMNS_BUT_CONTENT =
  'id, user_id, title, revision, analysis_status, analyzed_revision, status_revision, emotion_status, is_negative, alternative_thought, analysis_updated_at, created_at, updated_at';

/** MariaDB's "a foreign key constraint fails" on insert: here, the owner no longer exists. */
const ER_NO_REFERENCED_ROW_2 = 1452;

/**
 * Runs `work` on a connection of Sequelize's own pool (same size and acquire timeout), for the hot
 * paths where the ORM's per-query cost (query building, instance building, lodash clones) was most
 * of the API's CPU. A connection whose state is unknown after a failure is destroyed, never
 * handed back: the next borrower must not find itself inside someone else's transaction.
 */
async function withConnection<T>(sequelize: Sequelize, work: (conn: Connection) => Promise<T>, transaction?: Transaction): Promise<T> {
  // Inside a transaction its connection is the one to use; the transaction gives it back.
  if (transaction) return work(connectionOf<Connection>(transaction));
  const manager = sequelize.connectionManager;
  const conn = (await manager.getConnection({ type: 'write' })) as Connection;
  let healthy = true;
  try {
    return await work(conn);
  } catch (err) {
    // A dead socket is "MariaDB unavailable" (503 with Retry-After), as on the Sequelize paths.
    if ((err as SqlError).fatal) {
      healthy = false;
      throw new ConnectionError(err as Error);
    }
    throw err;
  } finally {
    if (healthy) manager.releaseConnection(conn);
    else await manager.destroyConnection(conn).catch(() => undefined);
  }
}

/** `%` and `_` are wildcards in LIKE; a user searching for "100%" means the character. */
const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Diaries in MariaDB. Every method takes the owner's id and filters by it: another user's diary
 * is indistinguishable from a missing one. Only `list` may be answered by the replica (`reads`);
 * the point read `findOwned` is what a client does right after its write, and the writes' own
 * reads run in their transactions: both stay on the primary.
 */
export function createDiaryRepository(sequelize: Sequelize, models: SqlModels, reads: StaleTolerantReads<SqlModels> = primaryReads({ sequelize, models })) {
  const { Diary: DiaryModel } = models;

  return {
    /**
     * Writes a new entry and its outbox row in one transaction, as one statement and one round trip
     * (`diary_create_with_outbox`, migration 008): no START TRANSACTION / COMMIT round trips, and
     * the row comes back with the defaults the database filled in (revision, status, timestamps).
     * `outbox.payload` is the event without `diaryId`, which the procedure adds once the insert
     * knows it. Returns null when the owner no longer exists (nothing written).
     */
    async createWithOutbox(
      userId: string,
      input: { title: string | null; content: string },
      outbox: Omit<OutboxMessage, 'key' | 'payload'> & { payload: object },
    ): Promise<Diary | null> {
      const payload = JSON.stringify(outbox.payload);
      if (!payload.startsWith('{"')) throw new Error('an outbox payload must be a non-empty JSON object');
      let result: [DiarySqlRow[], unknown];
      try {
        result = (await withConnection(sequelize, (conn) =>
          conn.query('CALL diary_create_with_outbox(?, ?, ?, ?, ?, ?, ?)', [
            userId,
            input.title,
            input.content,
            outbox.eventId,
            outbox.topic,
            payload,
            JSON.stringify(outbox.headers),
          ]),
        )) as [DiarySqlRow[], unknown];
      } catch (err) {
        if ((err as SqlError).errno === ER_NO_REFERENCED_ROW_2) return null;
        throw err;
      }
      return fromSqlRow({ ...result[0][0]!, content: input.content });
    },

    async findOwned(userId: string, id: string, options: { transaction?: Transaction; lock?: boolean } = {}): Promise<Diary | null> {
      const row = await DiaryModel.findOne({
        where: { id, userId },
        transaction: options.transaction,
        lock: options.lock ? options.transaction?.LOCK.UPDATE : undefined,
      });
      return row ? toDiary(row) : null;
    },

    /**
     * One page, newest first, on the (user_id, created_at, id) index (the filters narrow within the
     * user). Plain rows, not model instances, and only the first `excerptChars` characters of each
     * content (an entry may hold 20,000): the driver and the GC never see the rest. May be read
     * from the replica: the owner's own writes are always in it, others' may come a moment later.
     */
    /** A page of the user's entries, newest first, each with the first `excerptChars` characters of its text (cut in SQL, and again to as many UTF-16 units). */
    async list(userId: string, filter: DiaryFilter, page: { limit: number; after?: DiaryCursor; excerptChars: number }): Promise<DiaryListRow[]> {
      const where = ['user_id = ?'];
      const values: unknown[] = [page.excerptChars, userId];
      const and = (clause: string, ...params: unknown[]) => {
        where.push(clause);
        values.push(...params);
      };
      if (filter.from) and('created_at >= ?', filter.from);
      if (filter.to) and('created_at < ?', filter.to);
      if (filter.emotionStatus) and('emotion_status = ?', filter.emotionStatus);
      if (filter.analysisStatus) and('analysis_status = ?', filter.analysisStatus);
      if (filter.text) {
        const pattern = `%${likeEscape(filter.text)}%`;
        and('(title LIKE ? OR content LIKE ?)', pattern, pattern);
      }
      if (page.after) {
        const { createdAt, id } = page.after;
        and('(created_at < ? OR (created_at = ? AND id < ?))', createdAt, createdAt, id);
      }
      values.push(page.limit);
      const sql = `SELECT ${COLUMNS_BUT_CONTENT}, LEFT(content, ?) AS content FROM diaries WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`;
      const rows = (await reads.read(userId, (db) => withConnection(db.sequelize, (conn) => conn.query({ ...PLAIN, sql }, values), db.transaction))) as DiarySqlRow[];
      return rows.map((r) => fromSqlListRow(r, page.excerptChars));
    },

    /**
     * Starts a new revision (content change or reanalysis): revision + 1, status PENDING for it.
     * The row lock serialises concurrent writers, so revisions are strictly increasing.
     */
    async bumpRevision(userId: string, id: string, changes: { title?: string | null; content?: string }, transaction: Transaction): Promise<Diary | null> {
      const current = await this.findOwned(userId, id, { transaction, lock: true });
      if (!current) return null;
      const revision = current.revision + 1;
      await DiaryModel.update(
        { ...changes, revision, statusRevision: revision, analysisStatus: 'PENDING' },
        { where: { id, userId }, transaction },
      );
      return this.findOwned(userId, id, { transaction });
    },

    async deleteOwned(userId: string, id: string, transaction?: Transaction): Promise<boolean> {
      return (await DiaryModel.destroy({ where: { id, userId }, transaction })) > 0;
    },

    /** Whether the user still has this entry (cheaper than reading it; asked once per diary of every status batch, so on the driver). */
    async exists(userId: string, id: string): Promise<boolean> {
      const rows = (await withConnection(sequelize, (conn) => conn.query('SELECT 1 FROM diaries WHERE id = ? AND user_id = ? LIMIT 1', [id, userId]))) as unknown[];
      return rows.length > 0;
    },

    /**
     * Applies an analysis status event unless it is stale. Only the revision the row is waiting
     * for can change it, COMPLETED is final for that revision, and repeating the current status
     * changes nothing (redelivered events). Returns whether the row changed.
     */
    async applyAnalysisStatus(
      userId: string,
      id: string,
      event: { revision: number; status: AnalysisStatus; emotionStatus?: EmotionStatus; alternativeThought?: string | null },
    ): Promise<boolean> {
      const completed = event.status === 'COMPLETED';
      // Once per status event: on the driver, not through Sequelize's query building.
      const ok = (await withConnection(sequelize, (conn) =>
        conn.query(
          `UPDATE diaries SET
             analysis_status = ?,
             analysis_updated_at = NOW(3),
             analyzed_revision = IF(?, ?, analyzed_revision),
             emotion_status = IF(?, ?, emotion_status),
             is_negative = IF(?, ? = 'NEGATIVE', is_negative),
             alternative_thought = IF(?, ?, alternative_thought)
           WHERE id = ? AND user_id = ? AND status_revision = ?
             AND analysis_status <> 'COMPLETED' AND analysis_status <> ?`,
          [
            event.status,
            completed,
            event.revision,
            completed,
            event.emotionStatus ?? null,
            completed,
            event.emotionStatus ?? null,
            completed,
            event.alternativeThought ?? null,
            id,
            userId,
            event.revision,
            event.status,
          ],
        ),
      )) as { affectedRows?: number };
      return Number(ok.affectedRows ?? 0) > 0;
    },
  };
}

export type DiaryRepository = ReturnType<typeof createDiaryRepository>;
