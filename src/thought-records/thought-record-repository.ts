import { ForeignKeyConstraintError, QueryTypes, UniqueConstraintError, type Sequelize } from 'sequelize';
import type { Distortion, ThoughtDecision } from '../../kernel/contracts/thought-records.js';
import { primaryReads, type StaleTolerantReads } from '../../kernel/replica-reads.js';

/** One automatic thought of the analysis as the record keeps it: the analyzer's proposal and the person's decision. */
export interface StoredThought {
  index: number;
  original: { text: string; distortion: string; intensity: number; alternativeThought: string };
  decision: ThoughtDecision | null;
  text: string | null;
  distortion: Distortion | null;
}

export interface EmotionRating {
  name: string;
  rating: number;
}

export interface ThoughtRecord {
  diaryId: string;
  userId: string;
  version: number;
  analysisRevision: number;
  analyzer: string;
  analyzerVersion: string;
  analyzerModel: string | null;
  language: string;
  /** SHA-256 of the entry's content when the record was saved (the text the analysis was of). */
  contentSha256: string;
  thoughts: StoredThought[];
  ownThoughts: Array<{ text: string; distortion: Distortion | null }>;
  emotionsBefore: EmotionRating[];
  emotionsAfter: EmotionRating[];
  evidenceFor: string;
  evidenceAgainst: string;
  balancedThought: string;
  createdAt: Date;
  updatedAt: Date;
}

export type ThoughtRecordWrite = Omit<ThoughtRecord, 'userId' | 'diaryId' | 'version' | 'createdAt' | 'updatedAt'>;

interface Row {
  diary_id: string | number;
  user_id: string | number;
  version: number;
  analysis_revision: number;
  analyzer: string;
  analyzer_version: string;
  analyzer_model: string | null;
  language: string;
  content_sha256: string;
  thoughts: string | unknown[];
  own_thoughts: string | unknown[];
  emotions_before: string | unknown[];
  emotions_after: string | unknown[];
  evidence_for: string;
  evidence_against: string;
  balanced_thought: string;
  created_at: Date | string;
  updated_at: Date | string;
}

const json = <T>(value: string | unknown): T => (typeof value === 'string' ? (JSON.parse(value) as T) : (value as T));
const date = (value: Date | string) => (value instanceof Date ? value : new Date(`${value.replace(' ', 'T')}Z`));

export const fromRow = (r: Row): ThoughtRecord => ({
  diaryId: String(r.diary_id),
  userId: String(r.user_id),
  version: Number(r.version),
  analysisRevision: Number(r.analysis_revision),
  analyzer: r.analyzer,
  analyzerVersion: r.analyzer_version,
  analyzerModel: r.analyzer_model,
  language: r.language,
  contentSha256: r.content_sha256,
  thoughts: json(r.thoughts),
  ownThoughts: json(r.own_thoughts),
  emotionsBefore: json(r.emotions_before),
  emotionsAfter: json(r.emotions_after),
  evidenceFor: r.evidence_for,
  evidenceAgainst: r.evidence_against,
  balancedThought: r.balanced_thought,
  createdAt: date(r.created_at),
  updatedAt: date(r.updated_at),
});

const columns = (w: ThoughtRecordWrite) => ({
  analysisRevision: w.analysisRevision,
  analyzer: w.analyzer,
  analyzerVersion: w.analyzerVersion,
  analyzerModel: w.analyzerModel,
  language: w.language,
  contentSha256: w.contentSha256,
  thoughts: JSON.stringify(w.thoughts),
  ownThoughts: JSON.stringify(w.ownThoughts),
  emotionsBefore: JSON.stringify(w.emotionsBefore),
  emotionsAfter: JSON.stringify(w.emotionsAfter),
  evidenceFor: w.evidenceFor,
  evidenceAgainst: w.evidenceAgainst,
  balancedThought: w.balancedThought,
});

/**
 * Thought records in MariaDB. Every query takes the owner's id and filters by it. Writes are
 * conditional: an insert the primary key (one record per entry) refuses, or an update of the
 * version read, so two devices saving at once cannot silently overwrite each other.
 */
export function createThoughtRecordRepository(sequelize: Sequelize, reads: StaleTolerantReads<unknown> = primaryReads({ sequelize, models: undefined })) {
  return {
    async find(userId: string, diaryId: string): Promise<ThoughtRecord | null> {
      const [row] = await sequelize.query<Row>('SELECT * FROM thought_records WHERE diary_id = :diaryId AND user_id = :userId', {
        replacements: { diaryId, userId },
        type: QueryTypes.SELECT,
      });
      return row ? fromRow(row) : null;
    },

    /** Inserts version 1: `exists` when the entry already has a record (someone saved first), `missing` when the entry is gone. */
    async insert(userId: string, diaryId: string, record: ThoughtRecordWrite): Promise<'inserted' | 'exists' | 'missing'> {
      try {
        await sequelize.query(
          `INSERT INTO thought_records (diary_id, user_id, version, analysis_revision, analyzer, analyzer_version, analyzer_model, language,
             content_sha256, thoughts, own_thoughts, emotions_before, emotions_after, evidence_for, evidence_against, balanced_thought)
           VALUES (:diaryId, :userId, 1, :analysisRevision, :analyzer, :analyzerVersion, :analyzerModel, :language,
             :contentSha256, :thoughts, :ownThoughts, :emotionsBefore, :emotionsAfter, :evidenceFor, :evidenceAgainst, :balancedThought)`,
          { replacements: { diaryId, userId, ...columns(record) } },
        );
        return 'inserted';
      } catch (err) {
        if (err instanceof UniqueConstraintError) return 'exists';
        // The entry was deleted since the caller read it.
        if (err instanceof ForeignKeyConstraintError) return 'missing';
        throw err;
      }
    },

    /** Replaces the record if it is still at `version`; false when another save came first. */
    async update(userId: string, diaryId: string, version: number, record: ThoughtRecordWrite): Promise<boolean> {
      const [result] = await sequelize.query(
        `UPDATE thought_records SET version = version + 1, analysis_revision = :analysisRevision, analyzer = :analyzer,
           analyzer_version = :analyzerVersion, analyzer_model = :analyzerModel, language = :language, content_sha256 = :contentSha256,
           thoughts = :thoughts, own_thoughts = :ownThoughts, emotions_before = :emotionsBefore, emotions_after = :emotionsAfter,
           evidence_for = :evidenceFor, evidence_against = :evidenceAgainst, balanced_thought = :balancedThought, updated_at = NOW(3)
         WHERE diary_id = :diaryId AND user_id = :userId AND version = :version`,
        { replacements: { diaryId, userId, version, ...columns(record) } },
      );
      return Number((result as { affectedRows?: number }).affectedRows ?? 0) > 0;
    },

    async remove(userId: string, diaryId: string): Promise<boolean> {
      const [result] = await sequelize.query('DELETE FROM thought_records WHERE diary_id = :diaryId AND user_id = :userId', { replacements: { diaryId, userId } });
      return Number((result as { affectedRows?: number }).affectedRows ?? 0) > 0;
    },

    /**
     * The owner's records whose entries were written in [from, to), with the entry's creation
     * time (stats bucket by the day of the entry). Walks the entry index of the user
     * (diaries_user_created_idx), then the record by its key. For stats: may be read from the
     * replica, with the owner's own saves in it.
     */
    async listForEntriesIn(userId: string, range: { from: Date; to: Date }): Promise<Array<ThoughtRecord & { entryCreatedAt: Date }>> {
      const rows = await reads.read(userId, (db) =>
        db.sequelize.query<Row & { entry_created_at: Date | string }>(
          `SELECT tr.*, d.created_at AS entry_created_at FROM diaries d JOIN thought_records tr ON tr.diary_id = d.id AND tr.user_id = d.user_id
           WHERE d.user_id = :userId AND d.created_at >= :from AND d.created_at < :to`,
          { replacements: { userId, from: range.from, to: range.to }, type: QueryTypes.SELECT, transaction: db.transaction },
        ),
      );
      return rows.map((r) => ({ ...fromRow(r), entryCreatedAt: date(r.entry_created_at) }));
    },
  };
}

export type ThoughtRecordRepository = ReturnType<typeof createThoughtRecordRepository>;
