import { z } from 'zod';
import { bothInstants, instantSchema } from '../http/field-schemas.js';
import { defineRoute, type RouteSpec } from '../http/route.js';
import { timeZoneSchema } from '../settings/setting-values.js';
import type { EmotionStats } from './emotion-stats.js';

const MAX_RANGE_DAYS = 366;

const trendQuery = z
  .object({
    from: instantSchema,
    to: instantSchema,
    granularity: z.enum(['day', 'week']).default('day'),
    timezone: timeZoneSchema.optional(),
  })
  .strict()
  .refine((q) => !bothInstants(q) || q.from < q.to, { message: 'from must be before to', path: ['from'] })
  .refine((q) => !bothInstants(q) || q.to.getTime() - q.from.getTime() <= MAX_RANGE_DAYS * 86_400_000, { message: `range must be at most ${MAX_RANGE_DAYS} days`, path: ['to'] });

const trendSchema = z.object({
  granularity: z.enum(['day', 'week']),
  timezone: z.string(),
  utcOffset: z.string(),
  buckets: z.array(
    z.object({ start: z.iso.date(), positive: z.number().int(), negative: z.number().int(), neutral: z.number().int(), unanalyzed: z.number().int(), total: z.number().int() }),
  ),
});

export function statsRoutes(stats: EmotionStats): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/stats/emotions',
      operationId: 'emotionTrend',
      summary: "Emotion trend per day or week over a range, in the caller's time zone (aggregated by the database)",
      tags: ['stats'],
      access: 'user',
      query: trendQuery,
      responses: { 200: trendSchema },
      handler: async ({ principal, query }) => ({ status: 200, body: await stats.trend(principal!.userId, query) }),
    }),
  ];
}
