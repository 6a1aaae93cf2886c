import type { Sequelize, Transaction } from 'sequelize';
import type { AnalysisRequested, TopicNames } from '../../kernel/contracts/analysis-events.js';
import { newEventEnvelope } from '../../kernel/contracts/analysis-events.js';
import type { AnalysisRepository, AnalysisView } from '../analysis/analysis-repository.js';
import { NotFoundError, RateLimitedError, UnauthorizedError } from '../../kernel/errors.js';
import type { Logger } from '../../kernel/logger.js';
import type { RateLimiter, RateLimitRule } from '../../kernel/rate-limiter.js';
import type { OutboxRepository } from '../outbox/outbox-repository.js';
import type { SettingsService } from '../settings/settings-service.js';
import { decodeCursor, encodeCursor } from './diary-cursor.js';
import type { DiaryDeletionHook, DiaryEvents } from './diary-events.js';
import type { Diary, DiaryFilter, DiaryRepository } from './diary-repository.js';

export interface DiaryWithAnalysis extends Diary {
  analysis: AnalysisView | null;
}

export interface DiaryPage {
  items: Array<Omit<Diary, 'content'> & { excerpt: string }>;
  nextCursor: string | null;
}

const EXCERPT_CHARS = 200;

/**
 * Diary use cases. Every write that needs an analysis writes the diary and its outbox event in
 * one MariaDB transaction: either both exist or neither does, so no entry is ever left without
 * its analysis request, even when Kafka is down at write time.
 *
 * Every analysis request costs a Kafka message and possibly a paid LLM call, so each path is
 * bounded per user: creates by the `diary.maxPerDay` setting, edits and reanalyses by
 * `analysisBudget` (a Redis window shared by all API instances).
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
  log: Logger;
}) {
  const { sequelize, diaries, analyses, outbox, settings, topics, events } = deps;

  const languageOf = async (userId: string) => ((await settings.valueOf(userId, 'language')) === 'ko' ? 'ko' : 'en');

  async function requestAnalysis(diary: Diary, language: 'en' | 'ko', requestId: string, transaction: Transaction): Promise<void> {
    const event: AnalysisRequested = {
      ...newEventEnvelope({ diaryId: diary.id, userId: diary.userId, revision: diary.revision }),
      type: 'analysis.requested',
      title: diary.title,
      content: diary.content,
      language,
    };
    await outbox.append({ eventId: event.eventId, topic: topics.analysisRequested, key: diary.id, payload: event, headers: { requestId } }, transaction);
  }

  /**
   * Must run first in the create transaction. The lock on the user row makes parallel creates of
   * one user take turns, so each counts the entries the previous one committed.
   */
  async function enforceDailyLimit(userId: string, max: number, transaction: Transaction): Promise<void> {
    if (!(await diaries.lockOwner(userId, transaction))) throw new UnauthorizedError();
    if (!Number.isFinite(max) || max <= 0) return;
    const startOfDay = new Date();
    startOfDay.setUTCHours(0, 0, 0, 0);
    if ((await diaries.countCreatedSince(userId, startOfDay, transaction)) >= max) {
      const secondsLeft = (startOfDay.getTime() + 86_400_000 - Date.now()) / 1000;
      throw new RateLimitedError(secondsLeft, `At most ${max} entries a day`);
    }
  }

  async function newRevision(userId: string, id: string, changes: { title?: string | null; content?: string }, requestId: string, kind: 'updated' | 'reanalyze') {
    const language = await languageOf(userId);
    // Every edit, title-only ones included, is a new revision with its own analysis request, so
    // every one is charged. The Redis script counts atomically across instances; a refused
    // request throws here, before anything is written.
    const budgetKey = `diary-analysis:${userId}`;
    await deps.limiter.consume(budgetKey, deps.analysisBudget, 'Too many analysis requests; try again later');
    let diary: Diary;
    try {
      diary = await sequelize.transaction(async (transaction) => {
        const updated = await diaries.bumpRevision(userId, id, changes, transaction);
        if (!updated) throw new NotFoundError('Diary');
        await requestAnalysis(updated, language, requestId, transaction);
        return updated;
      });
    } catch (err) {
      // Nothing was requested (missing entry, failed write): give the slot back.
      await deps.limiter.undo(budgetKey).catch((undoErr: unknown) => deps.log.warn({ err: undoErr }, 'returning an analysis budget slot failed'));
      throw err;
    }
    deps.onOutboxWritten();
    events.diaryWritten({ userId, diaryId: id, revision: diary.revision, kind });
    return diary;
  }

  return {
    async create(userId: string, input: { title: string | null; content: string }, requestId: string): Promise<DiaryWithAnalysis> {
      const maxPerDay = Number(await settings.valueOf(userId, 'diary.maxPerDay'));
      const language = await languageOf(userId);
      const diary = await sequelize.transaction(async (transaction) => {
        await enforceDailyLimit(userId, maxPerDay, transaction);
        const created = await diaries.create(userId, input, transaction);
        await requestAnalysis(created, language, requestId, transaction);
        return created;
      });
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
      const rows = await diaries.list(userId, filter, { limit: page.limit + 1, after });
      const items = rows.slice(0, page.limit);
      const last = items.at(-1);
      return {
        items: items.map(({ content, ...rest }) => ({ ...rest, excerpt: content.slice(0, EXCERPT_CHARS) })),
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
     * never sent; a sent one no longer keeps the text). Then the hooks clear the analyses and
     * the notifications. A status event still on its way finds the entry gone and clears what it
     * would have left (the gateway checks again after storing its notification).
     */
    async remove(userId: string, id: string): Promise<void> {
      const deleted = await sequelize.transaction(async (transaction) => {
        if (!(await diaries.deleteOwned(userId, id, transaction))) return false;
        await outbox.deleteForKey(id, transaction);
        return true;
      });
      if (!deleted) throw new NotFoundError('Diary');
      events.diaryDeleted({ userId, diaryId: id });
      for (const hook of deps.onDeleted) {
        await hook(userId, id).catch((err: unknown) => deps.log.error({ err, diaryId: id }, 'diary deletion hook failed'));
      }
    },
  };
}

export type DiaryService = ReturnType<typeof createDiaryService>;
