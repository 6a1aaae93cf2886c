import { createHash } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError, type FieldProblem } from '../../kernel/errors.js';
import type { ThoughtRecordChanged, ThoughtRecordInput, ThoughtRecordView } from '../../kernel/contracts/thought-records.js';
import type { ReadYourWrites } from '../../kernel/replica-reads.js';
import type { AnalysisRepository, AnalysisView } from '../analysis/analysis-repository.js';
import type { Diary, DiaryRepository } from '../diaries/diary-repository.js';
import type { StoredThought, ThoughtRecord, ThoughtRecordRepository, ThoughtRecordWrite } from './thought-record-repository.js';

/** What the thought-record domain tells the person's other devices. Implemented by the realtime layer. */
export interface ThoughtRecordEvents {
  changed(userId: string, e: ThoughtRecordChanged): void;
}

export const noThoughtRecordEvents: ThoughtRecordEvents = { changed: () => undefined };

export const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function view(diary: Diary, record: ThoughtRecord): ThoughtRecordView {
  return {
    diaryId: diary.id,
    version: record.version,
    analysisRevision: record.analysisRevision,
    currentAnalysisRevision: diary.analyzedRevision,
    // Edited since (a newer revision, analysed or not) or analysed again: the record is about an older analysis.
    stale: record.analysisRevision !== diary.analyzedRevision || diary.revision !== record.analysisRevision,
    thoughts: record.thoughts,
    ownThoughts: record.ownThoughts,
    emotionsBefore: record.emotionsBefore,
    emotionsAfter: record.emotionsAfter,
    evidenceFor: record.evidenceFor,
    evidenceAgainst: record.evidenceAgainst,
    balancedThought: record.balancedThought,
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
  };
}

/** An entry's analysis as an empty record: every automatic thought proposed, none decided yet. */
function blank(diary: Diary, analysis: AnalysisView): ThoughtRecordView {
  return {
    diaryId: diary.id,
    version: 0,
    analysisRevision: analysis.revision,
    currentAnalysisRevision: diary.analyzedRevision,
    stale: diary.revision !== analysis.revision,
    thoughts: analysis.automaticThoughts.map((t, index) => ({ index, original: originalOf(t), decision: null, text: null, distortion: null })),
    ownThoughts: [],
    emotionsBefore: [],
    emotionsAfter: [],
    evidenceFor: '',
    evidenceAgainst: '',
    balancedThought: '',
    createdAt: null,
    updatedAt: null,
  };
}

const originalOf = (t: AnalysisView['automaticThoughts'][number]) => ({ text: t.text, distortion: t.distortion, intensity: t.intensity, alternativeThought: t.alternativeThought });

/**
 * Thought records: for an analysed entry, the person accepts, edits or rejects each automatic
 * thought, adds their own, rates emotions before and after, and writes evidence and a balanced
 * thought. The analysis stays as the analyzer wrote it; the record keeps a copy of the thoughts it
 * decided on, the analysis revision they came from, and a hash of the entry text they were about.
 */
export function createThoughtRecordService(deps: {
  records: ThoughtRecordRepository;
  diaries: Pick<DiaryRepository, 'findOwned'>;
  analyses: Pick<AnalysisRepository, 'forRevision'>;
  events: ThoughtRecordEvents;
  /** Told after each save and removal, so the owner's stats never miss their own record. */
  readYourWrites: ReadYourWrites;
}) {
  const { records, diaries, analyses, events, readYourWrites } = deps;

  async function ownedDiary(userId: string, diaryId: string): Promise<Diary> {
    const diary = await diaries.findOwned(userId, diaryId);
    if (!diary) throw new NotFoundError('Diary');
    return diary;
  }

  async function currentAnalysis(userId: string, diary: Diary): Promise<AnalysisView> {
    const analysis = diary.analyzedRevision ? await analyses.forRevision(userId, diary.id, diary.analyzedRevision) : null;
    if (!analysis) throw new ConflictError('The entry has no analysis yet; a thought record needs one', 'not_analyzed');
    return analysis;
  }

  function toWrite(diary: Diary, analysis: AnalysisView, input: ThoughtRecordInput): ThoughtRecordWrite {
    const problems: FieldProblem[] = [];
    const decided = new Map(input.thoughts.map((t, i) => [t.index, { t, i }]));
    for (const [index, { i }] of decided) {
      if (index >= analysis.automaticThoughts.length) {
        problems.push({ path: `body.thoughts.${i}.index`, message: `the analysis has ${analysis.automaticThoughts.length} automatic thought(s)` });
      }
    }
    if (problems.length) throw new ValidationError('Request validation failed', problems);
    const thoughts: StoredThought[] = analysis.automaticThoughts.map((original, index) => {
      const d = decided.get(index)?.t;
      return {
        index,
        original: originalOf(original),
        decision: d?.decision ?? null,
        text: d?.decision === 'edited' ? (d.text ?? null) : null,
        distortion: d?.decision === 'edited' ? (d.distortion ?? null) : null,
      };
    });
    return {
      analysisRevision: analysis.revision,
      analyzer: analysis.analyzer,
      analyzerVersion: analysis.analyzerVersion,
      analyzerModel: analysis.model,
      language: analysis.language,
      contentSha256: sha256(diary.content),
      thoughts,
      ownThoughts: input.ownThoughts,
      emotionsBefore: input.emotionsBefore,
      emotionsAfter: input.emotionsAfter,
      evidenceFor: input.evidenceFor,
      evidenceAgainst: input.evidenceAgainst,
      balancedThought: input.balancedThought,
    };
  }

  const versionConflict = (current: number) => new ConflictError(`The thought record was saved meanwhile (now version ${current}); read it again`, 'version_conflict');

  return {
    /** The saved record, or, when none is saved yet, the current analysis's thoughts undecided (version 0). */
    async get(userId: string, diaryId: string): Promise<ThoughtRecordView> {
      const diary = await ownedDiary(userId, diaryId);
      const record = await records.find(userId, diaryId);
      if (record) return view(diary, record);
      return blank(diary, await currentAnalysis(userId, diary));
    },

    /**
     * Saves the whole record against the entry's current analysis. Refused with 409 when the entry
     * has no analysis (`not_analyzed`), when it was edited or re-analysed since the client read it
     * (`analysis_pending`: a newer revision is being analysed; `analysis_changed`: the decisions
     * refer to another analysis), or when `expectedVersion` is not the stored version.
     */
    async save(userId: string, diaryId: string, input: ThoughtRecordInput): Promise<{ created: boolean; record: ThoughtRecordView }> {
      const diary = await ownedDiary(userId, diaryId);
      if (diary.analyzedRevision === null) throw new ConflictError('The entry has no analysis yet; a thought record needs one', 'not_analyzed');
      if (diary.revision !== diary.analyzedRevision) {
        throw new ConflictError(`The entry changed since its last analysis (revision ${diary.revision} is not analysed yet); save once it is`, 'analysis_pending');
      }
      if (input.analysisRevision !== diary.analyzedRevision) {
        throw new ConflictError(`The decisions refer to analysis ${input.analysisRevision}; the entry's analysis is now ${diary.analyzedRevision}`, 'analysis_changed');
      }
      const analysis = await currentAnalysis(userId, diary);
      const write = toWrite(diary, analysis, input);
      const existing = await records.find(userId, diaryId);
      const storedVersion = existing?.version ?? 0;
      if (input.expectedVersion !== undefined && input.expectedVersion !== storedVersion) throw versionConflict(storedVersion);

      let created = false;
      if (!existing) {
        const outcome = await records.insert(userId, diaryId, write);
        if (outcome === 'missing') throw new NotFoundError('Diary');
        if (outcome === 'exists') throw versionConflict((await records.find(userId, diaryId))?.version ?? 0);
        created = true;
      } else if (!(await records.update(userId, diaryId, existing.version, write))) {
        throw versionConflict((await records.find(userId, diaryId))?.version ?? 0);
      }
      await readYourWrites.wrote(userId);
      const saved = await records.find(userId, diaryId);
      if (!saved) throw new NotFoundError('Diary');
      events.changed(userId, { diaryId, version: saved.version, analysisRevision: saved.analysisRevision, updatedAt: saved.updatedAt.toISOString() });
      return { created, record: view(diary, saved) };
    },

    /**
     * Idempotent: afterwards the entry has no record, whether or not it had one (only a missing or
     * another user's entry is 404). The other devices hear of it only when there was one.
     */
    async remove(userId: string, diaryId: string): Promise<void> {
      await ownedDiary(userId, diaryId);
      if (!(await records.remove(userId, diaryId))) return;
      await readYourWrites.wrote(userId);
      events.changed(userId, { diaryId, version: 0, analysisRevision: null, updatedAt: new Date().toISOString() });
    },
  };
}

export type ThoughtRecordService = ReturnType<typeof createThoughtRecordService>;
