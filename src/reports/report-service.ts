import type { ReadYourWrites } from '../../kernel/replica-reads.js';
import type { AnalysisRepository } from '../analysis/analysis-repository.js';
import { NotFoundError } from '../../kernel/errors.js';
import type { SettingsService } from '../settings/settings-service.js';
import type { Report, ReportRepository } from './report-repository.js';
import { summarizeEntries } from './report-summary.js';

/** Generates, stores and reads period reports over a user's entries and their analyses. */
export function createReportService(deps: { reports: ReportRepository; analyses: AnalysisRepository; settings: SettingsService; readYourWrites: ReadYourWrites }) {
  const { reports, analyses, settings, readYourWrites } = deps;
  return {
    async generate(userId: string, period: { from: Date; to: Date; timezone?: string }): Promise<Report> {
      const timezone = period.timezone ?? String((await settings.valueOf(userId, 'timezone')) ?? 'UTC');
      const diaries = await reports.diariesInPeriod(userId, period.from, period.to);
      const analysed = await analyses.forDiaries(
        userId,
        diaries.filter((d) => d.analyzedRevision !== null).map((d) => ({ diaryId: d.id, revision: d.analyzedRevision! })),
      );
      const summary = summarizeEntries(
        diaries.map((d) => ({ diaryId: d.id, createdAt: d.createdAt, emotionStatus: d.emotionStatus, analysis: analysed.get(d.id) ?? null })),
        timezone,
      );
      const report = await reports.create(userId, { periodStart: period.from, periodEnd: period.to, summary, diaryIds: diaries.map((d) => d.id) });
      // The owner's report list (stale-tolerant) must show it from now on.
      await readYourWrites.wrote(userId);
      return report;
    },

    async get(userId: string, id: string): Promise<Report> {
      const report = await reports.findOwned(userId, id);
      if (!report) throw new NotFoundError('Report');
      return report;
    },

    async list(userId: string, page: { limit: number; cursor?: string }): Promise<{ items: Report[]; nextCursor: string | null }> {
      const rows = await reports.list(userId, { limit: page.limit + 1, beforeId: page.cursor });
      const items = rows.slice(0, page.limit);
      return { items, nextCursor: rows.length > page.limit ? (items.at(-1)?.id ?? null) : null };
    },

    async remove(userId: string, id: string): Promise<void> {
      if (!(await reports.deleteOwned(userId, id))) throw new NotFoundError('Report');
      await readYourWrites.wrote(userId);
    },
  };
}

export type ReportService = ReturnType<typeof createReportService>;
