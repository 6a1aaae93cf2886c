import { randomUUID } from 'node:crypto';
import type { Sequelize } from 'sequelize';
import type { AnalysisRequested, DiaryDeletedEvent, TopicNames } from '../../kernel/contracts/analysis-events.js';
import { newEventEnvelope } from '../../kernel/contracts/analysis-events.js';
import type { AnalysisRepository, AnalysisView } from '../analysis/analysis-repository.js';
import { NotFoundError, RateLimitedError, UnauthorizedError } from '../../kernel/errors.js';
import { transactionWithRetry } from '../../kernel/sql-transactions.js';
import type { Logger } from '../../kernel/logger.js';
import type { ReadYourWrites } from '../../kernel/replica-reads.js';
import type { RateLimiter, RateLimitRule } from '../../kernel/rate-limiter.js';
import type { OutboxMessage, OutboxRepository } from '../outbox/outbox-repository.js';
import type { SettingsService } from '../settings/settings-service.js';
import { decodeCursor, encodeCursor } from './diary-cursor.js';
import type { DiaryDeletionHook, DiaryEvents } from './diary-events.js';
import type { Diary, DiaryFilter, DiaryListRow, DiaryRepository } from './diary-repository.js';

export interface DiaryWithAnalysis extends Diary {
  analysis: AnalysisView | null;
}

export interface DiaryPage {
  items: DiaryListRow[];
  nextCursor: string | null;
}

const EXCERPT_CHARS = 200;

/**
 * Diary use cases. Every write that needs an analysis writes the diary and its outbox event in
 * one MariaDB transaction: either both exist or neither does, so no entry is ever left without
 * its analysis request, even when Kafka is down at write time.
 *
 * Every analysis request costs a Kafka message and possibly a paid LLM call, so each path is
 * bounded per user with Redis counters shared by all API instances: creates by the
 * `diary.maxPerDay` setting (per UTC day), edits and reanalyses by `analysisBudget`.
 */
export function createDiaryService(deps: {
  sequelize: Sequelize;
  diaries: DiaryRepository;
  analyses: AnalysisRepository;
  outbox: OutboxRepository;
  settings: SettingsService;
  topics: TopicNames;
  events: DiaryEvents;
  onDeleted: DiaryDeletionHook[];
  /** Called after a write commits, so the relay publishes without waiting for its next poll. */
  onOutboxWritten: () => void;
  limiter: RateLimiter;
  /** Analysis requests a user may cause by editing or reanalysing entries per window. */
  analysisBudget: RateLimitRule;
  /** Told after every committed write: the owner's list and stats (stale-tolerant reads) show it at once. */
  readYourWrites: ReadYourWrites;
  log: Logger;
}) {
  const { sequelize, diaries, analyses, outbox, settings, topics, events } = deps;

  const languageOf = async (userId: string) => ((await settings.valueOf(userId, 'language')) === 'ko' ? 'ko' : 'en');

  function analysisRequest(diary: Diary, language: 'en' | 'ko', requestId: string): OutboxMessage {
    const event: AnalysisRequested = {
      ...newEventEnvelope({ diaryId: diary.id, userId: diary.userId, revision: diary.revision }),
      type: 'analysis.requested',
      title: diary.title,
      content: diary.content,
      language,
    };
    return { eventId: event.eventId, topic: topics.analysisRequested, key: diary.id, payload: event, headers: { requestId } };
  }

  /**
   * Counts a create against the user's `diary.maxPerDay` (UTC day) in Redis, atomically across
   * instances, before anything is written; a refused create is taken back at once, so the count
   * stays the number of entries written today. Returns the counter key to undo when the write fails.
   * Unlike the former count of today's rows, deleting an entry does not give its slot back: the
   * limit bounds analysis requests, and a deleted entry's request was made.
   */
  async function countCreate(userId: string, max: number): Promise<string | undefined> {
    if (!Number.isFinite(max) || max <= 0) return undefined;
    const now = new Date();
    const key = `diary-creates:${userId}:${now.toISOString().slice(0, 10)}`;
    const endOfDay = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
    // The window is the rest of the UTC day (the key carries the date; the TTL only cleans up).
    const windowSec = Math.max(1, Math.ceil((endOfDay - now.getTime()) / 1000));
    const state = await deps.limiter.hit(key, { limit: max, windowSec });
    if (!state.allowed) {
      await undoCount(key);
      throw new RateLimitedError(windowSec, `At most ${max} entries a day`);
    }
    return key;
  }

  const undoCount = (key: string) => deps.limiter.undo(key).catch((err: unknown) => deps.log.warn({ err }, 'returning a rate-limit slot failed'));

  async function newRevision(userId: string, id: string, changes: { title?: string | null; content?: string }, requestId: string, kind: 'updated' | 'reanalyze') {
    const language = await languageOf(userId);
    // Every edit, title-only ones included, is a new revision with its own analysis request, so
    // every one is charged. The Redis script counts atomically across instances; a refused
    // request throws here, before anything is written.
    const budgetKey = `diary-analysis:${userId}`;
    await deps.limiter.consume(budgetKey, deps.analysisBudget, 'Too many analysis requests; try again later');
    let diary: Diary;
    try {
      diary = await transactionWithRetry(sequelize, async (transaction) => {
        const updated = await diaries.bumpRevision(userId, id, changes, transaction);
        if (!updated) throw new NotFoundError('Diary');
        await outbox.append(analysisRequest(updated, language, requestId), transaction);
        return updated;
      });
    } catch (err) {
      // Nothing was requested (missing entry, failed write): give the slot back.
      await deps.limiter.undo(budgetKey).catch((undoErr: unknown) => deps.log.warn({ err: undoErr }, 'returning an analysis budget slot failed'));
      throw err;
    }
    await deps.readYourWrites.wrote(userId);
    deps.onOutboxWritten();
    events.diaryWritten({ userId, diaryId: id, revision: diary.revision, kind });
    return diary;
  }

  return {
    async create(userId: string, input: { title: string | null; content: string }, requestId: string): Promise<DiaryWithAnalysis> {
      const effective = await settings.effective(userId);
      const valueOf = (key: string) => effective.find((s) => s.key === key)?.value;
      const language = valueOf('language') === 'ko' ? 'ko' : 'en';
      const counted = await countCreate(userId, Number(valueOf('diary.maxPerDay')));
      // The entry's id is not known before the insert; the repository adds it to the payload.
      const { diaryId: _notYetKnown, ...payload } = {
        ...newEventEnvelope({ diaryId: '', userId, revision: 1 }),
        type: 'analysis.requested',
        title: input.title,
        content: input.content,
        language,
      } satisfies AnalysisRequested;
      let diary: Diary | null = null;
      try {
        diary = await diaries.createWithOutbox(userId, input, { eventId: payload.eventId, topic: topics.analysisRequested, payload, headers: { requestId } });
      } finally {
        // Nothing was written (failed write, owner gone): give the day's slot back.
        if (!diary && counted) await undoCount(counted);
      }
      if (!diary) throw new UnauthorizedError();
      await deps.readYourWrites.wrote(userId);
      deps.onOutboxWritten();
      events.diaryWritten({ userId, diaryId: diary.id, revision: diary.revision, kind: 'created' });
      return { ...diary, analysis: null };
    },

    async get(userId: string, id: string): Promise<DiaryWithAnalysis> {
      const diary = await diaries.findOwned(userId, id);
      if (!diary) throw new NotFoundError('Diary');
      const analysis = diary.analyzedRevision ? await analyses.forRevision(userId, id, diary.analyzedRevision) : null;
      return { ...diary, analysis };
    },

    async list(userId: string, filter: DiaryFilter, page: { limit: number; cursor?: string }): Promise<DiaryPage> {
      const after = page.cursor ? decodeCursor(page.cursor) : undefined;
      // One extra row tells whether another page exists without a COUNT query.
      const rows = await diaries.list(userId, filter, { limit: page.limit + 1, after, excerptChars: EXCERPT_CHARS });
      const items = rows.slice(0, page.limit);
      const last = items.at(-1);
      return {
        items,
        nextCursor: rows.length > page.limit && last ? encodeCursor({ createdAt: last.createdAt, id: last.id }) : null,
      };
    },

    async update(userId: string, id: string, changes: { title?: string | null; content?: string }, requestId: string): Promise<DiaryWithAnalysis> {
      const diary = await newRevision(userId, id, changes, requestId, 'updated');
      return this.get(userId, diary.id);
    },

    async reanalyze(userId: string, id: string, requestId: string): Promise<DiaryWithAnalysis> {
      const diary = await newRevision(userId, id, {}, requestId, 'reanalyze');
      return this.get(userId, diary.id);
    },

    /**
     * Deletes the entry and, in the same transaction, its outbox rows (a request not yet sent is
     * never sent; a sent one no longer keeps the text) and a `diary.deleted` event. The hooks then
     * clear the analyses and the notifications at once; the event makes the gateway do it again,
     * retried until the store takes it, so a store that is away (or an instance that dies) right
     * after the delete leaves nothing behind. A status event still on its way finds the entry gone
     * and clears what it would have left (the gateway checks again after storing its notification).
     */
    async remove(userId: string, id: string): Promise<void> {
      const deletion: DiaryDeletedEvent = { eventId: randomUUID(), occurredAt: new Date().toISOString(), diaryId: id, userId, type: 'diary.deleted' };
      const deleted = await transactionWithRetry(sequelize, async (transaction) => {
        if (!(await diaries.deleteOwned(userId, id, transaction))) return false;
        await outbox.deleteForKey(id, transaction);
        await outbox.append({ eventId: deletion.eventId, topic: topics.analysisStatus, key: userId, payload: deletion, headers: {} }, transaction);
        return true;
      });
      if (!deleted) throw new NotFoundError('Diary');
      await deps.readYourWrites.wrote(userId);
      deps.onOutboxWritten();
      events.diaryDeleted({ userId, diaryId: id });
      for (const hook of deps.onDeleted) {
        await hook(userId, id).catch((err: unknown) => deps.log.error({ err, diaryId: id }, 'diary deletion hook failed'));
      }
    },
  };
}

export type DiaryService = ReturnType<typeof createDiaryService>;
