import { z } from 'zod';
import { bothInstants, instantSchema, queryInt } from '../http/field-schemas.js';
import { defineRoute, type RouteSpec } from '../http/route.js';
import { timeZoneSchema } from '../settings/setting-values.js';
import type { ReportService } from './report-service.js';

const MAX_PERIOD_DAYS = 366;
const reportIdParams = z.object({ id: z.string().regex(/^\d{1,20}$/, 'must be a report id') }).strict();

const generateBody = z
  .object({
    from: instantSchema,
    to: instantSchema,
    timezone: timeZoneSchema.optional(),
  })
  .strict()
  .refine((b) => !bothInstants(b) || b.from < b.to, { message: 'from must be before to', path: ['from'] })
  .refine((b) => !bothInstants(b) || b.to.getTime() - b.from.getTime() <= MAX_PERIOD_DAYS * 86_400_000, { message: `period must be at most ${MAX_PERIOD_DAYS} days`, path: ['to'] });

const reportSchema = z
  .object({
    id: z.string(),
    periodStart: z.iso.datetime(),
    periodEnd: z.iso.datetime(),
    createdAt: z.iso.datetime(),
    diaryIds: z.array(z.string()),
    summary: z.object({
      timezone: z.string(),
      totals: z.object({
        entries: z.number().int(),
        analyzed: z.number().int(),
        positive: z.number().int(),
        negative: z.number().int(),
        neutral: z.number().int(),
        unanalyzed: z.number().int(),
      }),
      dominantEmotions: z.array(z.object({ name: z.string(), averageScore: z.number() })),
      negativeStreak: z.object({ longestDays: z.number().int(), from: z.string().nullable(), to: z.string().nullable() }),
      distortions: z.array(z.object({ category: z.string(), count: z.number().int() })),
      alternativeThoughts: z.array(z.string()),
    }),
  })
  .meta({ id: 'Report' });

const listQuery = z
  .object({ limit: queryInt(1, 100).default(20), cursor: z.string().regex(/^\d{1,20}$/).optional() })
  .strict();

export function reportRoutes(reports: ReportService): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/reports',
      operationId: 'generateReport',
      summary: 'Generate a report for a period: entries per emotion status, dominant emotions, negative streaks, distortions, alternative thoughts',
      tags: ['reports'],
      access: 'user',
      body: generateBody,
      responses: { 201: reportSchema },
      handler: async ({ principal, body }) => {
        const report = await reports.generate(principal!.userId, body);
        return { status: 201, body: report, headers: { Location: `/api/v1/reports/${report.id}` } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/reports',
      operationId: 'listReports',
      summary: 'List own reports, newest first',
      tags: ['reports'],
      access: 'user',
      query: listQuery,
      responses: { 200: z.object({ items: z.array(reportSchema), nextCursor: z.string().nullable() }) },
      handler: async ({ principal, query }) => ({ status: 200, body: await reports.list(principal!.userId, query) }),
    }),
    defineRoute({
      method: 'get',
      path: '/reports/:id',
      operationId: 'getReport',
      summary: 'Get one report',
      tags: ['reports'],
      access: 'user',
      params: reportIdParams,
      responses: { 200: reportSchema },
      errors: [404],
      handler: async ({ principal, params }) => ({ status: 200, body: await reports.get(principal!.userId, params.id) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/reports/:id',
      operationId: 'deleteReport',
      summary: 'Delete a report (its entries stay)',
      tags: ['reports'],
      access: 'user',
      params: reportIdParams,
      responses: { 204: null },
      errors: [404],
      handler: async ({ principal, params }) => {
        await reports.remove(principal!.userId, params.id);
        return { status: 204 };
      },
    }),
  ];
}
