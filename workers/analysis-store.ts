import type { MongoModels } from '../models/mongo/index.js';
import type { Analyzer, AnalysisResult } from './analyzers/analyzer.js';

export interface StoredAnalysisRef {
  diaryId: string;
  userId: string;
  revision: number;
}

/**
 * The worker's view of diary_analyses. Writes are upserts keyed by diaryId+revision (unique
 * index), so a redelivered request rewrites the same document instead of adding one.
 */
export function createAnalysisStore(models: MongoModels) {
  const { DiaryAnalysis } = models;
  return {
    /** The highest revision already analysed for a diary, or 0. */
    async newestRevision(diaryId: string): Promise<number> {
      const doc = await DiaryAnalysis.findOne({ diaryId }, { revision: 1, _id: 0 }).sort({ revision: -1 }).lean();
      return doc?.revision ?? 0;
    },

    async exists(diaryId: string, revision: number): Promise<boolean> {
      return (await DiaryAnalysis.countDocuments({ diaryId, revision })) > 0;
    },

    async find(diaryId: string, revision: number) {
      return DiaryAnalysis.findOne({ diaryId, revision }).lean();
    },

    async save(ref: StoredAnalysisRef, analyzer: Pick<Analyzer, 'name' | 'version' | 'model'>, result: AnalysisResult, requestedAt: Date | null): Promise<void> {
      await DiaryAnalysis.updateOne(
        { diaryId: ref.diaryId, revision: ref.revision },
        {
          $set: {
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
    },
  };
}

export type AnalysisStore = ReturnType<typeof createAnalysisStore>;
