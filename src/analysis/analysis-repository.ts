import type { MongoModels } from '../../models/mongo/index.js';

export interface AnalysisView {
  revision: number;
  analyzer: string;
  analyzerVersion: string;
  model: string | null;
  language: string;
  emotions: Array<{ name: string; score: number }>;
  emotionStatus: 'POSITIVE' | 'NEGATIVE' | 'NEUTRAL';
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
  const { DiaryAnalysis } = models;
  return {
    /** The newest analysis of a diary at or below `maxRevision`. */
    async latestFor(userId: string, diaryId: string, maxRevision: number): Promise<AnalysisView | null> {
      const doc = await DiaryAnalysis.findOne({ userId, diaryId, revision: { $lte: maxRevision } }, PROJECTION).sort({ revision: -1 }).lean();
      return (doc as AnalysisView | null) ?? null;
    },

    /** Analyses of several diaries at their given revisions (for reports), fetched in chunks. */
    async forDiaries(userId: string, revisions: Array<{ diaryId: string; revision: number }>): Promise<Map<string, AnalysisView>> {
      const wanted = new Map(revisions.map((r) => [r.diaryId, r.revision]));
      const found = new Map<string, AnalysisView>();
      const ids = [...wanted.keys()];
      for (let i = 0; i < ids.length; i += 500) {
        const docs = await DiaryAnalysis.find({ userId, diaryId: { $in: ids.slice(i, i + 500) } }, { ...PROJECTION, diaryId: 1 }).lean();
        for (const doc of docs as unknown as Array<AnalysisView & { diaryId: string }>) {
          if (wanted.get(doc.diaryId) === doc.revision) {
            const { diaryId, ...view } = doc;
            found.set(diaryId, view);
          }
        }
      }
      return found;
    },

    async deleteForDiary(userId: string, diaryId: string): Promise<void> {
      await DiaryAnalysis.deleteMany({ userId, diaryId });
    },

    async deleteForUser(userId: string): Promise<void> {
      await DiaryAnalysis.deleteMany({ userId });
    },
  };
}

export type AnalysisRepository = ReturnType<typeof createAnalysisRepository>;
