import { analysisId, type MongoModels } from '../../models/mongo/index.js';
import type { EmotionStatus } from '../../kernel/contracts/statuses.js';

export interface AnalysisView {
  revision: number;
  analyzer: string;
  analyzerVersion: string;
  model: string | null;
  language: string;
  emotions: Array<{ name: string; score: number }>;
  emotionStatus: EmotionStatus;
  automaticThoughts: Array<{ text: string; distortion: string; intensity: number; alternativeThought: string }>;
  alternativeThoughts: string[];
  promptForChange: string;
  analyzedAt: Date;
}

const PROJECTION = {
  _id: 0,
  revision: 1,
  analyzer: 1,
  analyzerVersion: 1,
  model: 1,
  language: 1,
  emotions: 1,
  emotionStatus: 1,
  automaticThoughts: 1,
  alternativeThoughts: 1,
  promptForChange: 1,
  analyzedAt: 1,
} as const;

/** Reads and removes analysis documents. Every query is scoped by the owner's id. */
export function createAnalysisRepository(models: MongoModels) {
  const { DiaryAnalysis, AnalysisHead } = models;
  return {
    /** The analysis of a diary at a revision (the diary row says which revision was analysed), by `_id` and owner. */
    async forRevision(userId: string, diaryId: string, revision: number): Promise<AnalysisView | null> {
      const doc = await DiaryAnalysis.findOne({ _id: analysisId(diaryId, revision), userId }, PROJECTION).lean();
      return (doc as unknown as AnalysisView | null) ?? null;
    },

    /** Analyses of several diaries at their given revisions (for reports), fetched by id in chunks. */
    async forDiaries(userId: string, revisions: Array<{ diaryId: string; revision: number }>): Promise<Map<string, AnalysisView>> {
      const found = new Map<string, AnalysisView>();
      for (let i = 0; i < revisions.length; i += 500) {
        const ids = revisions.slice(i, i + 500).map((r) => analysisId(r.diaryId, r.revision));
        const docs = await DiaryAnalysis.find({ _id: { $in: ids }, userId }, { ...PROJECTION, diaryId: 1 }).lean();
        for (const doc of docs as unknown as Array<AnalysisView & { diaryId: string }>) {
          const { diaryId, ...view } = doc;
          found.set(diaryId, view);
        }
      }
      return found;
    },

    async deleteForDiary(userId: string, diaryId: string): Promise<void> {
      await DiaryAnalysis.deleteMany({ userId, diaryId });
      await AnalysisHead.deleteOne({ _id: diaryId, userId });
    },

    async deleteForUser(userId: string): Promise<void> {
      await DiaryAnalysis.deleteMany({ userId });
      await AnalysisHead.deleteMany({ userId });
    },
  };
}

export type AnalysisRepository = ReturnType<typeof createAnalysisRepository>;
