import { z } from 'zod';
import { thoughtRecordBodySchema, thoughtRecordViewSchema } from '../../kernel/contracts/thought-records.js';
import { diaryIdParams } from '../diaries/diary-schemas.js';
import { bothInstants, instantSchema } from '../http/field-schemas.js';
import { defineRoute, type RouteSpec } from '../http/route.js';
import { timeZoneSchema } from '../settings/setting-values.js';
import type { ThoughtRecordService } from './thought-record-service.js';
import type { ThoughtRecordStatsService } from './thought-record-stats.js';

const MAX_RANGE_DAYS = 366;

const statsQuery = z
  .object({
    from: instantSchema,
    to: instantSchema,
    granularity: z.enum(['day', 'week']).default('week'),
    timezone: timeZoneSchema.optional(),
  })
  .strict()
  .refine((q) => !bothInstants(q) || q.from < q.to, { message: 'from must be before to', path: ['from'] })
  .refine((q) => !bothInstants(q) || q.to.getTime() - q.from.getTime() <= MAX_RANGE_DAYS * 86_400_000, { message: `range must be at most ${MAX_RANGE_DAYS} days`, path: ['to'] });

const nullableNumber = z.number().nullable();
const ratingChange = { rated: z.number().int(), averageBefore: nullableNumber, averageAfter: nullableNumber, averageChange: nullableNumber };
const statsSchema = z.object({
  granularity: z.enum(['day', 'week']),
  timezone: z.string(),
  utcOffset: z.string(),
  totals: z.object({
    records: z.number().int(),
    decided: z.number().int(),
    accepted: z.number().int(),
    edited: z.number().int(),
    rejected: z.number().int(),
    acceptanceRate: nullableNumber,
    keptRate: nullableNumber,
    rejectionRate: nullableNumber,
    ownThoughts: z.number().int(),
  }),
  ratings: z.object(ratingChange),
  buckets: z.array(z.object({ start: z.iso.date(), records: z.number().int(), ...ratingChange })),
  emotions: z.array(z.object({ name: z.string(), ...ratingChange })),
  distortions: z.array(z.object({ category: z.string(), count: z.number().int(), fromAnalyzer: z.number().int(), ownThoughts: z.number().int() })),
  analyzerGuesses: z.array(
    z.object({ category: z.string(), proposed: z.number().int(), accepted: z.number().int(), edited: z.number().int(), rejected: z.number().int(), recategorized: z.number().int() }),
  ),
});

export function thoughtRecordRoutes(records: ThoughtRecordService, stats: ThoughtRecordStatsService): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/diaries/:id/thought-record',
      operationId: 'getThoughtRecord',
      summary: "The entry's thought record; before the first save, the analysis's automatic thoughts undecided (version 0)",
      tags: ['thought-records'],
      access: 'user',
      params: diaryIdParams,
      responses: { 200: thoughtRecordViewSchema },
      errors: [404, 409],
      handler: async ({ principal, params }) => ({ status: 200, body: await records.get(principal!.userId, params.id) }),
    }),
    defineRoute({
      method: 'put',
      path: '/diaries/:id/thought-record',
      operationId: 'saveThoughtRecord',
      summary:
        'Save the thought record of an analysed entry (replaces the saved one): a decision per automatic thought, own thoughts, emotion ratings before and after, evidence, balanced thought',
      tags: ['thought-records'],
      access: 'user',
      params: diaryIdParams,
      body: thoughtRecordBodySchema,
      responses: { 200: thoughtRecordViewSchema, 201: thoughtRecordViewSchema },
      errors: [404, 409],
      handler: async ({ principal, params, body }) => {
        const { created, record } = await records.save(principal!.userId, params.id, body);
        return created
          ? { status: 201, body: record, headers: { Location: `/api/v1/diaries/${params.id}/thought-record` } }
          : { status: 200, body: record };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/diaries/:id/thought-record',
      operationId: 'deleteThoughtRecord',
      summary: "Delete the entry's thought record, if it has one (idempotent; the entry and its analysis stay)",
      tags: ['thought-records'],
      access: 'user',
      params: diaryIdParams,
      responses: { 204: null },
      errors: [404],
      handler: async ({ principal, params }) => {
        await records.remove(principal!.userId, params.id);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/thought-records/stats',
      operationId: 'thoughtRecordStats',
      summary:
        "Thought records of the entries written in a range: emotion ratings before and after per day or week, recurring distortions as the person confirmed them, how the analyzer's guesses were decided",
      tags: ['thought-records', 'stats'],
      access: 'user',
      query: statsQuery,
      responses: { 200: statsSchema },
      handler: async ({ principal, query }) => ({ status: 200, body: await stats.summary(principal!.userId, query) }),
    }),
  ];
}
