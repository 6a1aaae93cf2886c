import { z } from 'zod';
import { instantSchema, optionalText, queryInt, requiredText } from '../http/field-schemas.js';
import { DIARY_CURSOR_PATTERN } from './diary-cursor.js';
import { ANALYSIS_STATUSES, EMOTION_STATUSES } from '../../kernel/contracts/statuses.js';

export const diaryIdParams = z.object({ id: z.string().regex(/^\d{1,20}$/, 'must be a diary id') }).strict();

const title = optionalText(255).nullable();
const emotionStatus = z.enum(EMOTION_STATUSES);
const analysisStatus = z.enum(ANALYSIS_STATUSES);

/** The content limit is configurable, so the body schemas are built from it. */
export function diaryBodySchemas(contentMaxChars: number) {
  const content = z
    .string()
    .max(contentMaxChars, `must be at most ${contentMaxChars} characters`)
    .regex(/\S/, 'must not be empty');
  return {
    create: z.object({ title: title.optional().default(null), content }).strict(),
    patch: z
      .object({ title: title.optional(), content: content.optional() })
      .strict()
      .refine((b) => b.title !== undefined || b.content !== undefined, 'title or content is required')
      .meta({ minProperties: 1 }),
  };
}

export const listDiariesQuery = z
  .object({
    from: instantSchema.optional(),
    to: instantSchema.optional(),
    emotion: emotionStatus.optional(),
    analysisStatus: analysisStatus.optional(),
    q: requiredText(100).optional(),
    limit: queryInt(1, 100).default(20),
    /** The previous page's `nextCursor`: `<created at, ms since the epoch>_<diary id>`. */
    cursor: z.string().regex(DIARY_CURSOR_PATTERN, 'must be a nextCursor of this list').optional(),
  })
  // from at or after to is an empty range: an empty page, not an error.
  .strict();

export const analysisViewSchema = z.object({
  revision: z.number().int(),
  analyzer: z.string(),
  analyzerVersion: z.string(),
  model: z.string().nullable(),
  language: z.string(),
  emotions: z.array(z.object({ name: z.string(), score: z.number() })),
  emotionStatus,
  automaticThoughts: z.array(z.object({ text: z.string(), distortion: z.string(), intensity: z.number(), alternativeThought: z.string() })),
  alternativeThoughts: z.array(z.string()),
  promptForChange: z.string(),
  analyzedAt: z.iso.datetime(),
});

const diaryFields = {
  id: z.string(),
  title: z.string().nullable(),
  revision: z.number().int(),
  analysisStatus,
  analyzedRevision: z.number().int().nullable(),
  emotionStatus: emotionStatus.nullable(),
  isNegative: z.boolean().nullable(),
  alternativeThought: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
};

export const diarySchema = z.object({ ...diaryFields, content: z.string(), analysis: analysisViewSchema.nullable() }).meta({ id: 'Diary' });
export const diarySummarySchema = z.object({ ...diaryFields, excerpt: z.string() });
export const diaryListSchema = z.object({ items: z.array(diarySummarySchema), nextCursor: z.string().nullable() });
