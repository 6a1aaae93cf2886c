import { createCoalescedReads } from '../kernel/coalesced-reads.js';
import { createGroupCommit } from '../kernel/group-commit.js';
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

/** What storing a new analysis found: stored, already stored before (a redelivery), or older than the diary's newest analysis. */
export type InsertOutcome<Doc> = { kind: 'stored' } | { kind: 'done'; stored: Doc } | { kind: 'stale'; newest: number };

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
 * bulk inserts, whose duplicates fall back to the same updates. Batch calls made while one of
 * the same kind is in flight (a worker handling many partitions at once) go out together as the
 * next one (`kernel/coalesced-reads.ts`, `kernel/group-commit.ts`), so a wave of chunks costs about
 * two round trips per kind instead of one per chunk.
 */
/** The most ids one coalesced read asks for, and the most documents one grouped insert carries. */
const MAX_GROUPED = 2_000;

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

  /** The analysis documents of a batch, and the head each diary in it gets (its highest revision there). */
  function documentsOf(entries: AnalysisToSave[]) {
    const docs = entries.map((e) => ({ _id: analysisId(e.ref.diaryId, e.ref.revision), ...fieldsOf(e) }));
    const heads = new Map<string, StoredAnalysisRef>();
    for (const { ref } of entries) if ((heads.get(ref.diaryId)?.revision ?? 0) < ref.revision) heads.set(ref.diaryId, ref);
    const headRefs = [...heads.values()];
    const insertDocs = () => DiaryAnalysis.collection.insertMany(docs as never[], { ordered: false });
    const insertHeads = () => AnalysisHead.collection.insertMany(headRefs.map((r) => ({ _id: r.diaryId, userId: r.userId, revision: r.revision })) as never[], { ordered: false });
    return { docs, headRefs, insertDocs, insertHeads };
  }

  async function saveManyNow(entries: AnalysisToSave[]): Promise<void> {
    if (entries.length === 0) return;
    const { docs, headRefs, insertDocs, insertHeads } = documentsOf(entries);
    await Promise.all([
      insertManyOr(insertDocs, docs, ({ _id, ...fields }) => DiaryAnalysis.updateOne({ _id }, { $set: fields })),
      insertManyOr(insertHeads, headRefs, raiseHeadOnDuplicate),
    ]);
  }

  /**
   * Insert-first storage of fresh analyses, which is also their stale and redelivery check: one
   * unordered insert per collection; only the refused ones are read. An analysis already there is
   * kept and answered `done` (the redelivery of a request whose outcome went out); a request older
   * than its diary's stored head is `stale`, and the analysis it just inserted is removed again
   * (the head is read after the inserts, so a deletion racing this either finds the document or
   * leaves no head, and then the gateway's orphan check cleans up).
   */
  async function insertNewNow(entries: AnalysisToSave[]) {
    const { docs, headRefs, insertDocs, insertHeads } = documentsOf(entries);
    const refused = (insert: () => Promise<unknown>) => insert().then((): number[] => [], duplicatesOf);
    const [docsThere, headsThere] = await Promise.all([refused(insertDocs), refused(insertHeads)]);
    const doneIds = docsThere.map((i) => docs[i]!._id);
    const [storedBefore, storedHeads] = await Promise.all([
      doneIds.length > 0 ? DiaryAnalysis.find({ _id: { $in: doneIds } }).lean() : Promise.resolve([]),
      headsThere.length > 0 ? AnalysisHead.find({ _id: { $in: headsThere.map((i) => headRefs[i]!.diaryId) } }, { revision: 1 }).lean() : Promise.resolve([]),
    ]);
    const done = new Map(storedBefore.map((d) => [d._id, d]));
    const newest = new Map(storedHeads.map((h) => [String(h._id), h.revision]));
    const outcomes = entries.map((e, i): InsertOutcome<(typeof storedBefore)[number]> => {
      const head = newest.get(e.ref.diaryId);
      if (head !== undefined && head > e.ref.revision) return { kind: 'stale', newest: head };
      const stored = done.get(docs[i]!._id);
      return stored ? { kind: 'done', stored } : { kind: 'stored' };
    });
    const raise = headsThere.map((i) => headRefs[i]!).filter((r) => (newest.get(r.diaryId) ?? 0) < r.revision);
    const staleInserted = entries.flatMap((e, i) => (outcomes[i]!.kind === 'stale' && !done.has(docs[i]!._id) ? [docs[i]!._id] : []));
    await Promise.all([
      ...raise.map((r) => AnalysisHead.updateOne({ _id: r.diaryId }, { $max: { revision: r.revision } })),
      staleInserted.length > 0 ? DiaryAnalysis.deleteMany({ _id: { $in: staleInserted } }) : Promise.resolve(),
    ]);
    return outcomes;
  }
  const inserts = createGroupCommit(async (groups: AnalysisToSave[][]) => {
    const outcomes = await insertNewNow(groups.flat());
    let next = 0;
    return groups.map((entries) => outcomes.slice(next, (next += entries.length)));
  }, { maxWeight: MAX_GROUPED, weight: (entries) => entries.length });

  const headReads = createCoalescedReads(async (diaryIds: string[]) => {
    const heads = await AnalysisHead.find({ _id: { $in: diaryIds } }, { revision: 1 }).lean();
    return new Map(heads.map((h) => [String(h._id), h.revision]));
  }, { maxKeys: MAX_GROUPED });
  const analysisReads = createCoalescedReads(async (ids: string[]) => {
    const docs = await DiaryAnalysis.find({ _id: { $in: ids } }).lean();
    return new Map(docs.map((d) => [d._id, d]));
  }, { maxKeys: MAX_GROUPED });
  const saves = createGroupCommit(async (groups: AnalysisToSave[][]) => {
    await saveManyNow(groups.flat());
    return groups.map(() => undefined);
  }, { maxWeight: MAX_GROUPED, weight: (entries) => entries.length });

  return {
    /** The highest revision already analysed for a diary, or 0. */
    async newestRevision(diaryId: string): Promise<number> {
      return (await AnalysisHead.findById(diaryId, { revision: 1 }).lean())?.revision ?? 0;
    },

    /** The highest revision already analysed per diary; diaries without one are absent. */
    async newestRevisions(diaryIds: string[]): Promise<Map<string, number>> {
      return headReads.loadMany(diaryIds);
    },

    async find(diaryId: string, revision: number) {
      return DiaryAnalysis.findById(analysisId(diaryId, revision)).lean();
    },

    /** The stored analyses of these requests, by `analysisId`; those not stored are absent. */
    async findMany(refs: Array<Pick<StoredAnalysisRef, 'diaryId' | 'revision'>>) {
      return analysisReads.loadMany(refs.map((r) => analysisId(r.diaryId, r.revision)));
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
      if (entries.length > 0) await saves.submit(entries);
    },

    /**
     * Stores fresh analyses and tells, per entry, whether it was new, already stored (`done`, with
     * the stored document) or `stale` (nothing kept): see `insertNewNow`. At most one entry per
     * diary and revision.
     */
    insertNew(entries: AnalysisToSave[]) {
      return entries.length > 0 ? inserts.submit(entries) : Promise.resolve([]);
    },
  };
}

export type AnalysisStore = ReturnType<typeof createAnalysisStore>;
