import { Op, type Sequelize, type Transaction, type WhereOptions } from 'sequelize';
import type { AnalysisStatus, DiaryRow, EmotionStatus, SqlModels } from '../../models/sql/index.js';
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

/** `%` and `_` are wildcards in LIKE; a user searching for "100%" means the character. */
const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * Diaries in MariaDB. Every method takes the owner's id and filters by it: another user's diary
 * is indistinguishable from a missing one.
 */
export function createDiaryRepository(sequelize: Sequelize, models: SqlModels) {
  const { Diary: DiaryModel, User: UserModel } = models;

  return {
    async create(userId: string, input: { title: string | null; content: string }, transaction: Transaction): Promise<Diary> {
      const row = await DiaryModel.create({ userId, title: input.title, content: input.content }, { transaction });
      // Defaults (revision, status, timestamps) are filled by the database: read the row back.
      const created = await DiaryModel.findOne({ where: { id: row.id, userId }, transaction });
      return toDiary(created!);
    },

    async findOwned(userId: string, id: string, options: { transaction?: Transaction; lock?: boolean } = {}): Promise<Diary | null> {
      const row = await DiaryModel.findOne({
        where: { id, userId },
        transaction: options.transaction,
        lock: options.lock ? options.transaction?.LOCK.UPDATE : undefined,
      });
      return row ? toDiary(row) : null;
    },

    async list(userId: string, filter: DiaryFilter, page: { limit: number; after?: DiaryCursor }): Promise<Diary[]> {
      const and: WhereOptions[] = [{ userId }];
      if (filter.from) and.push({ createdAt: { [Op.gte]: filter.from } });
      if (filter.to) and.push({ createdAt: { [Op.lt]: filter.to } });
      if (filter.emotionStatus) and.push({ emotionStatus: filter.emotionStatus });
      if (filter.analysisStatus) and.push({ analysisStatus: filter.analysisStatus });
      if (filter.text) {
        const pattern = `%${likeEscape(filter.text)}%`;
        and.push({ [Op.or]: [{ title: { [Op.like]: pattern } }, { content: { [Op.like]: pattern } }] });
      }
      if (page.after) {
        const { createdAt, id } = page.after;
        and.push({ [Op.or]: [{ createdAt: { [Op.lt]: createdAt } }, { createdAt, id: { [Op.lt]: id } }] });
      }
      const rows = await DiaryModel.findAll({
        where: { [Op.and]: and },
        order: [
          ['createdAt', 'DESC'],
          ['id', 'DESC'],
        ],
        limit: page.limit,
      });
      return rows.map(toDiary);
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

    /** Whether the user still has this entry (cheaper than reading it). */
    async exists(userId: string, id: string): Promise<boolean> {
      return (await DiaryModel.count({ where: { id, userId } })) > 0;
    },

    async countCreatedSince(userId: string, since: Date, transaction?: Transaction): Promise<number> {
      return DiaryModel.count({ where: { userId, createdAt: { [Op.gte]: since } }, transaction });
    },

    /**
     * Locks the owner's users row until `transaction` ends, serialising that user's creates so a
     * count-then-insert limit holds. Call it before any other read in the transaction: InnoDB takes
     * the REPEATABLE READ snapshot at the first plain read, which must see the creates committed
     * by whoever held the lock before. Returns false when the user no longer exists.
     */
    async lockOwner(userId: string, transaction: Transaction): Promise<boolean> {
      const row = await UserModel.findOne({ where: { id: userId }, attributes: ['id'], transaction, lock: transaction.LOCK.UPDATE });
      return row !== null;
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
      const [ok] = await sequelize.query(
        `UPDATE diaries SET
           analysis_status = :status,
           analysis_updated_at = NOW(3),
           analyzed_revision = IF(:completed, :revision, analyzed_revision),
           emotion_status = IF(:completed, :emotionStatus, emotion_status),
           is_negative = IF(:completed, :emotionStatus = 'NEGATIVE', is_negative),
           alternative_thought = IF(:completed, :alternativeThought, alternative_thought)
         WHERE id = :id AND user_id = :userId AND status_revision = :revision
           AND analysis_status <> 'COMPLETED' AND analysis_status <> :status`,
        {
          replacements: {
            id,
            userId,
            status: event.status,
            revision: event.revision,
            completed,
            emotionStatus: event.emotionStatus ?? null,
            alternativeThought: event.alternativeThought ?? null,
          },
        },
      );
      return Number((ok as { affectedRows?: number }).affectedRows ?? 0) > 0;
    },
  };
}

export type DiaryRepository = ReturnType<typeof createDiaryRepository>;
