import { analysisId, isDuplicateKeyError, type MongoModels } from '../models/mongo/index.js';
import type { Analyzer, AnalysisResult } from './analyzers/analyzer.js';

export interface StoredAnalysisRef {
  diaryId: string;
  userId: string;
  revision: number;
}

/**
 * The worker's view of diary_analyses. Every call is by `_id`: results live at
 * `<diaryId>:<revision>`, so a redelivered request rewrites the same document, and the newest
 * revision per diary lives in `analysis_heads`, raised with `$max` (atomic on MongoDB; FerretDB
 * applies it read-then-write, so under concurrent writers of one diary, which per-partition order
 * makes rare, the head may lag: an old request is then analysed again instead of skipped, and the
 * gateway's stale check against the diary row discards its status).
 *
 * Writes are insert-first: the usual case (a new revision of a new diary) is two inserts sent
 * together, and an update happens only on redelivery or when a diary's head moves up.
 */
export function createAnalysisStore(models: MongoModels) {
  const { DiaryAnalysis, AnalysisHead } = models;

  async function insertOr(insert: () => Promise<unknown>, onDuplicate: () => Promise<unknown>): Promise<void> {
    try {
      await insert();
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      await onDuplicate();
    }
  }

  const raiseHead = (ref: StoredAnalysisRef) =>
    insertOr(
      () => AnalysisHead.collection.insertOne({ _id: ref.diaryId, userId: ref.userId, revision: ref.revision } as never),
      async () => {
        const head = await AnalysisHead.findById(ref.diaryId, { revision: 1 }).lean();
        if (!head || head.revision < ref.revision) await AnalysisHead.updateOne({ _id: ref.diaryId }, { $max: { revision: ref.revision } });
      },
    );

  return {
    /** The highest revision already analysed for a diary, or 0. */
    async newestRevision(diaryId: string): Promise<number> {
      return (await AnalysisHead.findById(diaryId, { revision: 1 }).lean())?.revision ?? 0;
    },

    async find(diaryId: string, revision: number) {
      return DiaryAnalysis.findById(analysisId(diaryId, revision)).lean();
    },

    async save(ref: StoredAnalysisRef, analyzer: Pick<Analyzer, 'name' | 'version' | 'model'>, result: AnalysisResult, requestedAt: Date | null): Promise<void> {
      const _id = analysisId(ref.diaryId, ref.revision);
      const fields = {
        diaryId: ref.diaryId,
        revision: ref.revision,
        userId: ref.userId,
        analyzer: analyzer.name,
        analyzerVersion: analyzer.version,
        model: analyzer.model ?? null,
        language: result.language,
        emotions: result.emotions,
        emotionStatus: result.emotionStatus,
        automaticThoughts: result.automaticThoughts,
        alternativeThoughts: result.alternativeThoughts,
        promptForChange: result.promptForChange,
        requestedAt,
        analyzedAt: new Date(),
      };
      await Promise.all([
        insertOr(
          () => DiaryAnalysis.collection.insertOne({ _id, ...fields } as never),
          () => DiaryAnalysis.updateOne({ _id }, { $set: fields }),
        ),
        raiseHead(ref),
      ]);
    },
  };
}

export type AnalysisStore = ReturnType<typeof createAnalysisStore>;
