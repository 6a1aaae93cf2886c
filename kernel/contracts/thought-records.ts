import { z } from 'zod';
import { DISTORTIONS, type DistortionCategory } from './statuses.js';

/**
 * The thought-record contract, shared by REST, the socket commands and the web app: what a person
 * decides about an analysis of one of their entries (CBT practice), and how it is shown back.
 *
 * The analyzer's output (diary_analyses in MongoDB) is never changed by it: a record keeps a copy
 * of the automatic thoughts it decided on and the revision of the analysis they came from.
 */

/** The cognitive distortions the analyzers name (kernel/contracts/statuses.ts). */
export const DISTORTION_CATEGORIES = DISTORTIONS;
export type Distortion = DistortionCategory;

export const THOUGHT_DECISIONS = ['accepted', 'edited', 'rejected'] as const;
export type ThoughtDecision = (typeof THOUGHT_DECISIONS)[number];

export const MAX_THOUGHT_CHARS = 1_000;
export const MAX_FREE_TEXT_CHARS = 4_000;
export const MAX_OWN_THOUGHTS = 20;
export const MAX_RATED_EMOTIONS = 16;
/** An analysis lists at most a few dozen automatic thoughts; more decisions than this are not a real request. */
export const MAX_DECISIONS = 100;

const distortion = z.enum(DISTORTION_CATEGORIES);
/** Same rules as the REST text fields (src/http/field-schemas.ts): length as sent, a non-space character, then trimmed. */
const requiredText = (max: number) => z.string().max(max).regex(/\S/, 'must not be empty').trim();
const freeText = z.string().max(MAX_FREE_TEXT_CHARS).trim().default('');

const emotionRating = z
  .object({
    /** Any emotion word the person uses ("anxious", "불안"); stats group by it lower-cased. */
    name: requiredText(40),
    rating: z.number().int().min(0).max(100),
  })
  .strict();

const uniqueNames = (list: Array<{ name: string }>) => new Set(list.map((e) => e.name.toLowerCase())).size === list.length;
const emotionRatings = z.array(emotionRating).max(MAX_RATED_EMOTIONS).default([]).refine(uniqueNames, 'each emotion at most once');

const thoughtDecision = z
  .object({
    /** Position of the thought in the analysis's `automaticThoughts`. */
    index: z.number().int().min(0).max(MAX_DECISIONS - 1),
    decision: z.enum(THOUGHT_DECISIONS),
    /** With `edited`: the thought in the person's own words (omit to keep the analyzer's text). */
    text: requiredText(MAX_THOUGHT_CHARS).optional(),
    /** With `edited`: the distortion the person sees instead (omit to keep the analyzer's). */
    distortion: distortion.optional(),
  })
  .strict()
  .refine((t) => t.decision === 'edited' || (t.text === undefined && t.distortion === undefined), {
    message: 'text and distortion are only given with decision "edited"',
    path: ['decision'],
  })
  .refine((t) => t.decision !== 'edited' || t.text !== undefined || t.distortion !== undefined, {
    message: 'an edited thought needs text or distortion',
    path: ['decision'],
  });

const ownThought = z.object({ text: requiredText(MAX_THOUGHT_CHARS), distortion: distortion.nullable().default(null) }).strict();

/** The whole record as the person saves it (PUT replaces what was saved before). */
export const thoughtRecordBodySchema = z
  .object({
    /** The analysis revision the decisions refer to: the entry's `analyzedRevision` the client was shown. */
    analysisRevision: z.number().int().min(1).max(2_147_483_647),
    /**
     * Optimistic concurrency: the `version` the client last read (0: none saved yet). When it is
     * not the stored one, nothing is written and the answer is 409 `version_conflict`. Omitted:
     * the save replaces whatever is stored (only a save landing between this one's read and write
     * still makes it 409: every write is conditional on the version read).
     */
    expectedVersion: z.number().int().min(0).max(2_147_483_647).optional(),
    thoughts: z
      .array(thoughtDecision)
      .max(MAX_DECISIONS)
      .default([])
      .refine((list) => new Set(list.map((t) => t.index)).size === list.length, 'each thought index at most once'),
    ownThoughts: z.array(ownThought).max(MAX_OWN_THOUGHTS).default([]),
    emotionsBefore: emotionRatings,
    emotionsAfter: emotionRatings,
    evidenceFor: freeText,
    evidenceAgainst: freeText,
    balancedThought: freeText,
  })
  .strict();
export type ThoughtRecordInput = z.output<typeof thoughtRecordBodySchema>;

const originalThought = z.object({ text: z.string(), distortion: z.string(), intensity: z.number(), alternativeThought: z.string() });

export const thoughtRecordViewSchema = z
  .object({
    diaryId: z.string(),
    /** 0 while nothing is saved; then 1, 2, ... one per save. */
    version: z.number().int(),
    /** The analysis revision the record's thoughts come from. */
    analysisRevision: z.number().int(),
    /** The entry's current analysis revision (null while it has none). */
    currentAnalysisRevision: z.number().int().nullable(),
    /**
     * True when the entry was analysed again (or edited) after the record was saved: the record
     * is kept as it was, about the older analysis; saving again against the current one renews it.
     */
    stale: z.boolean(),
    thoughts: z.array(
      z.object({
        index: z.number().int(),
        /** What the analyzer proposed, as it was when the record was saved. */
        original: originalThought,
        /** null: not decided yet. */
        decision: z.enum(THOUGHT_DECISIONS).nullable(),
        /** The person's wording (edited), else null. */
        text: z.string().nullable(),
        /** The distortion the person corrected it to (edited), else null. */
        distortion: z.enum(DISTORTION_CATEGORIES).nullable(),
      }),
    ),
    ownThoughts: z.array(z.object({ text: z.string(), distortion: z.enum(DISTORTION_CATEGORIES).nullable() })),
    emotionsBefore: z.array(z.object({ name: z.string(), rating: z.number().int() })),
    emotionsAfter: z.array(z.object({ name: z.string(), rating: z.number().int() })),
    evidenceFor: z.string(),
    evidenceAgainst: z.string(),
    balancedThought: z.string(),
    createdAt: z.iso.datetime().nullable(),
    updatedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'ThoughtRecord' });
export type ThoughtRecordView = z.infer<typeof thoughtRecordViewSchema>;

/**
 * To every device of the person (room `user:<id>`) after a record is saved or deleted. A plain
 * live event, not a durable notification: the record is state the device reads again
 * (`thought-record:get` or REST) when it opens the entry, not a message it must not miss.
 */
export const thoughtRecordChangedSchema = z.object({
  diaryId: z.string(),
  /** The version now stored; 0 when the record was deleted. */
  version: z.number().int(),
  analysisRevision: z.number().int().nullable(),
  updatedAt: z.iso.datetime(),
});
export type ThoughtRecordChanged = z.infer<typeof thoughtRecordChangedSchema>;
