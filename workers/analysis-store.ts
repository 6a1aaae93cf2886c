import { analysisId, isDuplicateKeyError, DUPLICATE_KEY, type MongoModels } from '../models/mongo/index.js';
import type { Analyzer, AnalysisResult } from './analyzers/analyzer.js';

export interface StoredAnalysisRef {
  diaryId: string;
  userId: string;
  revision: number;
}

/** One analysis to store: which request, which analyzer answered, its result. */
export interface AnalysisToSave {
  ref: StoredAnalysisRef;
  analyzer: Pick<Analyzer, 'name' | 'version' | 'model'>;
  result: AnalysisResult;
  requestedAt: Date | null;
}

/** Indexes (in the batch) of the documents an unordered bulk insert refused as duplicates; anything else is thrown. */
function duplicatesOf(err: unknown): number[] {
  const writeErrors = (err as { writeErrors?: Array<{ index: number; code: number }> | { index: number; code: number } }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  if (list.length === 0 || list.some((e) => e.code !== DUPLICATE_KEY)) throw err;
  return list.map((e) => e.index);
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
 * together, and an update happens only on redelivery or when a diary's head moves up. The batch
 * forms (`newestRevisions`, `findMany`, `saveMany`) do the same for many requests in one round
 * trip per collection: `_id: { $in }` reads (the primary btree on FerretDB too) and unordered
 * bulk inserts, whose duplicates fall back to the same updates.
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

  const raiseHeadOnDuplicate = async (ref: StoredAnalysisRef) => {
    const head = await AnalysisHead.findById(ref.diaryId, { revision: 1 }).lean();
    if (!head || head.revision < ref.revision) await AnalysisHead.updateOne({ _id: ref.diaryId }, { $max: { revision: ref.revision } });
  };

  const raiseHead = (ref: StoredAnalysisRef) =>
    insertOr(
      () => AnalysisHead.collection.insertOne({ _id: ref.diaryId, userId: ref.userId, revision: ref.revision } as never),
      () => raiseHeadOnDuplicate(ref),
    );

  const fieldsOf = ({ ref, analyzer, result, requestedAt }: AnalysisToSave) => ({
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
  });

  async function insertManyOr<T>(insert: () => Promise<unknown>, items: T[], onDuplicate: (item: T) => Promise<unknown>): Promise<void> {
    try {
      await insert();
    } catch (err) {
      await Promise.all(duplicatesOf(err).map((i) => onDuplicate(items[i]!)));
    }
  }

  return {
    /** The highest revision already analysed for a diary, or 0. */
    async newestRevision(diaryId: string): Promise<number> {
      return (await AnalysisHead.findById(diaryId, { revision: 1 }).lean())?.revision ?? 0;
    },

    /** The highest revision already analysed per diary; diaries without one are absent. */
    async newestRevisions(diaryIds: string[]): Promise<Map<string, number>> {
      if (diaryIds.length === 0) return new Map();
      const heads = await AnalysisHead.find({ _id: { $in: diaryIds } }, { revision: 1 }).lean();
      return new Map(heads.map((h) => [String(h._id), h.revision]));
    },

    async find(diaryId: string, revision: number) {
      return DiaryAnalysis.findById(analysisId(diaryId, revision)).lean();
    },

    /** The stored analyses of these requests, by `analysisId`; those not stored are absent. */
    async findMany(refs: Array<Pick<StoredAnalysisRef, 'diaryId' | 'revision'>>) {
      if (refs.length === 0) return new Map();
      const docs = await DiaryAnalysis.find({ _id: { $in: refs.map((r) => analysisId(r.diaryId, r.revision)) } }).lean();
      return new Map(docs.map((d) => [d._id, d]));
    },

    async save(ref: StoredAnalysisRef, analyzer: Pick<Analyzer, 'name' | 'version' | 'model'>, result: AnalysisResult, requestedAt: Date | null): Promise<void> {
      const _id = analysisId(ref.diaryId, ref.revision);
      const fields = fieldsOf({ ref, analyzer, result, requestedAt });
      await Promise.all([
        insertOr(
          () => DiaryAnalysis.collection.insertOne({ _id, ...fields } as never),
          () => DiaryAnalysis.updateOne({ _id }, { $set: fields }),
        ),
        raiseHead(ref),
      ]);
    },

    /**
     * `save` for many analyses at once: one unordered insert per collection. At most one entry per
     * diary and revision; a diary may appear with several revisions (its head gets the highest).
     */
    async saveMany(entries: AnalysisToSave[]): Promise<void> {
      if (entries.length === 0) return;
      const docs = entries.map((e) => ({ _id: analysisId(e.ref.diaryId, e.ref.revision), ...fieldsOf(e) }));
      const heads = new Map<string, StoredAnalysisRef>();
      for (const { ref } of entries) if ((heads.get(ref.diaryId)?.revision ?? 0) < ref.revision) heads.set(ref.diaryId, ref);
      const headRefs = [...heads.values()];
      await Promise.all([
        insertManyOr(
          () => DiaryAnalysis.collection.insertMany(docs as never[], { ordered: false }),
          docs,
          ({ _id, ...fields }) => DiaryAnalysis.updateOne({ _id }, { $set: fields }),
        ),
        insertManyOr(
          () => AnalysisHead.collection.insertMany(headRefs.map((r) => ({ _id: r.diaryId, userId: r.userId, revision: r.revision })) as never[], { ordered: false }),
          headRefs,
          raiseHeadOnDuplicate,
        ),
      ]);
    },
  };
}

export type AnalysisStore = ReturnType<typeof createAnalysisStore>;
