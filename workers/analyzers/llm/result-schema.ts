import { z } from 'zod';
import { DISTORTIONS, EMOTIONS, type AnalysisResult } from '../analyzer.js';
import { EMOTION_STATUSES } from '../../../kernel/contracts/statuses.js';

/**
 * The part of AnalysisResult a model is asked for, as one zod schema: it validates the answer and,
 * through z.toJSONSchema, is the JSON Schema sent in response_format.
 */

const text = (max: number) => z.string().trim().min(1).max(max);

export const llmResultSchema = z.object({
  language: z.enum(['en', 'ko', 'mixed', 'unknown']).describe('Language of the entry'),
  emotions: z
    .array(
      z.object({
        name: z.enum(EMOTIONS),
        score: z.number().min(0).max(1).describe('0..1'),
      }),
    )
    .min(1)
    .max(EMOTIONS.length)
    .describe('Each of the eight emotions once, with a score 0..1, highest first'),
  emotionStatus: z.enum(EMOTION_STATUSES),
  valence: z.number().min(-1).max(1).describe('Overall valence, -1..1'),
  automaticThoughts: z
    .array(
      z.object({
        text: text(2_000).describe('The sentence of the entry that carries the thought, verbatim'),
        distortion: z.enum(DISTORTIONS),
        intensity: z.number().min(0).max(1).describe('0..1'),
        alternativeThought: text(1_000).describe('A balanced reframe of this thought'),
      }),
    )
    .max(20),
  alternativeThoughts: z.array(text(1_000)).max(10).describe('Reframes for the entry as a whole'),
  promptForChange: text(1_000).describe('A short question inviting a change of perspective'),
});

export type LlmResult = z.infer<typeof llmResultSchema>;

/**
 * Keywords left out of the schema we send: OpenAI's strict mode has rejected several of them, and
 * other OpenAI-compatible servers support them unevenly. Validation with zod still enforces them.
 */
const NON_PORTABLE_KEYWORDS = new Set([
  '$schema',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'pattern',
  'format',
]);

function portable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(portable);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => !NON_PORTABLE_KEYWORDS.has(key))
      .map(([key, value]) => [key, key === 'properties' ? mapValues(value, portable) : portable(value)]),
  );
}

function mapValues(obj: unknown, fn: (v: unknown) => unknown): unknown {
  return Object.fromEntries(Object.entries(obj as Record<string, unknown>).map(([k, v]) => [k, fn(v)]));
}

export const llmResultJsonSchema = portable(z.toJSONSchema(llmResultSchema)) as Record<string, unknown>;

/**
 * Brings a validated answer to the AnalysisResult invariants the schema cannot express: every
 * emotion exactly once (missing ones at 0, duplicates merged by their highest score), sorted by
 * score; at least one entry-level alternative when there are automatic thoughts.
 */
/** Whitespace collapsed, so a quote that differs from the entry only in line breaks still matches. */
const squash = (text: string) => text.replace(/\s+/g, ' ').trim();

/**
 * The model's answer as an analysis result: every emotion scored and sorted, and only automatic
 * thoughts that quote `entry` (a model may paraphrase or invent one; a thought record must quote
 * what the person wrote).
 */
export function toAnalysisResult(answer: LlmResult, entry: string): AnalysisResult {
  const written = squash(entry);
  const automaticThoughts = answer.automaticThoughts.filter((t) => squash(t.text) !== '' && written.includes(squash(t.text)));
  const scores = new Map<string, number>();
  for (const { name, score } of answer.emotions) scores.set(name, Math.max(score, scores.get(name) ?? 0));
  const emotions = EMOTIONS.map((name, index) => ({ name, index, score: scores.get(name) ?? 0 }))
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .map(({ name, score }) => ({ name, score }));
  const alternativeThoughts =
    answer.alternativeThoughts.length === 0 && automaticThoughts.length > 0 ? automaticThoughts.slice(0, 3).map((t) => t.alternativeThought) : answer.alternativeThoughts;
  return { ...answer, emotions, automaticThoughts, alternativeThoughts };
}
