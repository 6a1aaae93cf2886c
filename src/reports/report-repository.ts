import { Op, type Sequelize } from 'sequelize';
import { primaryReads, type ReadTarget, type StaleTolerantReads } from '../../kernel/replica-reads.js';
import type { SqlModels } from '../../models/sql/index.js';
import type { ReportSummary } from './report-summary.js';
import type { EmotionStatus } from '../../kernel/contracts/statuses.js';

export interface Report {
  id: string;
  periodStart: Date;
  periodEnd: Date;
  summary: ReportSummary;
  diaryIds: string[];
  createdAt: Date;
}

export interface PeriodDiary {
  id: string;
  createdAt: Date;
  emotionStatus: EmotionStatus | null;
  analyzedRevision: number | null;
}

/**
 * Reports and their diary links. Every query takes the owner's id. Only `list` may be answered by
 * the replica; the entries a report is made of are read from the primary, since a stored report
 * keeps whatever it was made from.
 */
export function createReportRepository(sequelize: Sequelize, models: SqlModels, reads: StaleTolerantReads<SqlModels> = primaryReads({ sequelize, models })) {
  const { Report, DiaryReportLink, Diary } = models;
  const primary: ReadTarget<SqlModels> = { sequelize, models };

  async function linksOf(reportIds: string[], db: ReadTarget<SqlModels> = primary): Promise<Map<string, string[]>> {
    const links = reportIds.length ? await db.models.DiaryReportLink.findAll({ where: { reportId: reportIds }, raw: true, transaction: db.transaction }) : [];
    const map = new Map<string, string[]>();
    for (const l of links) map.set(String(l.reportId), [...(map.get(String(l.reportId)) ?? []), String(l.diaryId)]);
    return map;
  }

  const toReport = (row: { id: string; periodStart: Date; periodEnd: Date; summary: string; createdAt: Date }, diaryIds: string[]): Report => ({
    id: String(row.id),
    periodStart: row.periodStart,
    periodEnd: row.periodEnd,
    summary: JSON.parse(row.summary) as ReportSummary,
    diaryIds: diaryIds.sort((a, b) => Number(a) - Number(b)),
    createdAt: row.createdAt,
  });

  return {
    async diariesInPeriod(userId: string, from: Date, to: Date): Promise<PeriodDiary[]> {
      const rows = await Diary.findAll({
        attributes: ['id', 'createdAt', 'emotionStatus', 'analyzedRevision'],
        where: { userId, createdAt: { [Op.gte]: from, [Op.lt]: to } },
        order: [['createdAt', 'ASC']],
        raw: true,
      });
      return rows.map((r) => ({ id: String(r.id), createdAt: r.createdAt, emotionStatus: r.emotionStatus ?? null, analyzedRevision: r.analyzedRevision ?? null }));
    },

    async create(userId: string, input: { periodStart: Date; periodEnd: Date; summary: ReportSummary; diaryIds: string[] }): Promise<Report> {
      return sequelize.transaction(async (transaction) => {
        const row = await Report.create({ userId, periodStart: input.periodStart, periodEnd: input.periodEnd, summary: JSON.stringify(input.summary) }, { transaction });
        if (input.diaryIds.length) {
          await DiaryReportLink.bulkCreate(input.diaryIds.map((diaryId) => ({ reportId: String(row.id), diaryId })), { transaction });
        }
        const stored = await Report.findOne({ where: { id: row.id, userId }, transaction, raw: true });
        return toReport(stored!, input.diaryIds);
      });
    },

    async findOwned(userId: string, id: string): Promise<Report | null> {
      const row = await Report.findOne({ where: { id, userId }, raw: true });
      return row ? toReport(row, (await linksOf([String(row.id)])).get(String(row.id)) ?? []) : null;
    },

    async list(userId: string, page: { limit: number; beforeId?: string }): Promise<Report[]> {
      return reads.read(userId, async (db) => {
        const rows = await db.models.Report.findAll({
          where: { userId, ...(page.beforeId ? { id: { [Op.lt]: page.beforeId } } : {}) },
          order: [['id', 'DESC']],
          limit: page.limit,
          raw: true,
          transaction: db.transaction,
        });
        const links = await linksOf(
          rows.map((r) => String(r.id)),
          db,
        );
        return rows.map((r) => toReport(r, links.get(String(r.id)) ?? []));
      });
    },

    async deleteOwned(userId: string, id: string): Promise<boolean> {
      return (await Report.destroy({ where: { id, userId } })) > 0;
    },
  };
}

export type ReportRepository = ReturnType<typeof createReportRepository>;
