import { analysisId, isDuplicateKeyError, type MongoModels } from '../models/mongo/index.js';
import type { Analyzer, AnalysisResult } from './analyzers/analyzer.js';

export interface StoredAnalysisRef {
  diaryId: string;
  userId: string;
  revision: number;
}

/**
 * The worker's view of diary_analyses. Every call is an `_id` lookup or write (the fastest path on
 * MongoDB and the only indexed one on FerretDB/SQLite): results are upserted at
 * `<diaryId>:<revision>`, so a redelivered request rewrites the same document, and the newest
 * revision per diary lives in `analysis_heads`, raised with `$max` (never lowered).
 */
export function createAnalysisStore(models: MongoModels) {
  const { DiaryAnalysis, AnalysisHead } = models;

  async function raiseHead(ref: StoredAnalysisRef): Promise<void> {
    try {
      await AnalysisHead.updateOne({ _id: ref.diaryId }, { $max: { revision: ref.revision }, $setOnInsert: { userId: ref.userId } }, { upsert: true });
    } catch (err) {
      // Two first writers raced on the insert; the loser's $max now applies to the existing head.
      if (!isDuplicateKeyError(err)) throw err;
      await AnalysisHead.updateOne({ _id: ref.diaryId }, { $max: { revision: ref.revision } });
    }
  }

  return {
    /** The highest revision already analysed for a diary, or 0. */
    async newestRevision(diaryId: string): Promise<number> {
      return (await AnalysisHead.findById(diaryId, { revision: 1 }).lean())?.revision ?? 0;
    },

    async find(diaryId: string, revision: number) {
      return DiaryAnalysis.findById(analysisId(diaryId, revision)).lean();
    },

    async save(ref: StoredAnalysisRef, analyzer: Pick<Analyzer, 'name' | 'version' | 'model'>, result: AnalysisResult, requestedAt: Date | null): Promise<void> {
      await DiaryAnalysis.updateOne(
        { _id: analysisId(ref.diaryId, ref.revision) },
        {
          $set: {
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
          },
        },
        { upsert: true },
      );
      await raiseHead(ref);
    },
  };
}

export type AnalysisStore = ReturnType<typeof createAnalysisStore>;
