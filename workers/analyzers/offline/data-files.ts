import { z } from 'zod';
import { DISTORTIONS, EMOTIONS } from '../analyzer.js';
import discourseJson from './data/discourse.json' with { type: 'json' };
import discourseModelJson from './data/discourse-model.json' with { type: 'json' };
import distortionCuesJson from './data/distortion-cues.json' with { type: 'json' };
import distortionModelJson from './data/distortion-model.json' with { type: 'json' };
import enEmotionsJson from './data/en-emotions.json' with { type: 'json' };
import enPhrasesJson from './data/en-phrases.json' with { type: 'json' };
import enValenceJson from './data/en-valence.json' with { type: 'json' };
import koLexiconJson from './data/ko-lexicon.json' with { type: 'json' };
import modifiersJson from './data/modifiers.json' with { type: 'json' };
import reframesJson from './data/reframes.json' with { type: 'json' };
import symbolsJson from './data/symbols.json' with { type: 'json' };

/**
 * The word lists, cue patterns and templates of the offline analyzer live in JSON under data/.
 * They are validated once at load, so a bad edit fails at start-up with the path of the value,
 * not later with a wrong score.
 */

const emotion = z.enum(EMOTIONS);
const emotionList = z.array(emotion).min(1);
const valence = z.number().min(-5).max(5);
const words = z.array(z.string().min(1));
const multipliers = z.record(z.string(), z.number().positive());
const status = <T extends z.ZodType>(item: T) => z.object({ NEGATIVE: item, POSITIVE: item, NEUTRAL: item });
const byDistortion = <T extends z.ZodType>(item: T) =>
  z.object(Object.fromEntries(DISTORTIONS.map((d) => [d, item])) as Record<(typeof DISTORTIONS)[number], T>);

const cue = z.object({
  re: z.string().min(1),
  w: z.number().min(0).max(1),
  gate: z.enum(['none', 'nonpos', 'neg', 'pos']),
});

const reframeTexts = z.object({
  alternatives: byDistortion(words.min(1)),
  general: status(words.min(1)),
  prompts: status(z.string().min(1)).extend({ distortion: z.string().min(1) }),
});

const linearModel = <C extends readonly [string, ...string[]]>(classes: C) =>
  z
    .object({
      classes: z.array(z.enum(classes)).refine((cs) => cs.join() === classes.join(), `classes must be ${classes.join(', ')}`),
      weights: z.array(z.array(z.number())),
      bias: z.array(z.number()),
    })
    .refine((m) => m.weights.length === classes.length && m.bias.length === classes.length, 'one row of weights and one bias per class');

const schemas = {
  discourse: z.object({ cues: z.record(z.string(), words.min(1)) }),
  distortionModel: z.object({
    categories: byDistortion(z.object({ bias: z.number(), threshold: z.number().min(0).max(1), weights: z.record(z.string(), z.number()) })),
    trainedOn: z.string(),
  }),
  discourseModel: z.object({
    features: words.min(1),
    status: linearModel(['POSITIVE', 'NEGATIVE', 'NEUTRAL'] as const).and(
      z.object({ lexical: z.record(z.string(), z.array(z.number()).length(3)) }),
    ),
    emotion: linearModel(EMOTIONS).and(z.object({ lexical: z.record(z.string(), z.array(z.number()).length(EMOTIONS.length)) })),
    trainedOn: z.string(),
  }),
  enEmotions: z.object(Object.fromEntries(EMOTIONS.map((e) => [e, words])) as Record<(typeof EMOTIONS)[number], typeof words>),
  enValence: z.object({
    overrides: z.record(z.string(), valence),
    categoryDefaults: z.record(emotion, valence),
    neutralCategoryWords: words,
  }),
  enPhrases: z.object({ phrases: z.array(z.object({ phrase: z.string().min(3), valence, emotions: z.array(emotion) })) }),
  koLexicon: z.object({
    entries: z.array(
      z.object({ stems: words.min(1), valence, emotions: emotionList, adverb: z.boolean().optional() }),
    ),
  }),
  modifiers: z.object({
    en: z.object({
      negators: words,
      inability: words,
      absorbers: words,
      comparativeNegators: words,
      comparativeMarkers: words,
      scopeBreakers: words,
      intensifiers: multipliers,
      diminishers: multipliers,
      contrast: words,
    }),
    ko: z.object({
      preNegators: words,
      postNegators: words,
      negatingSuffixes: words,
      nominalizers: words,
      absence: words,
      possibility: words,
      inability: words,
      intensifiers: multipliers,
      diminishers: multipliers,
      contrast: words,
      contrastSuffixes: words,
    }),
  }),
  symbols: z.object({
    symbols: z.record(z.string(), z.object({ valence, emotions: emotionList })),
    runs: z.array(z.object({ pattern: z.string(), valence, emotions: emotionList })),
  }),
  distortionCues: z.object({
    categories: byDistortion(
      z.object({ emotions: z.partialRecord(emotion, z.number().min(0).max(1)), en: z.array(cue), ko: z.array(cue) }),
    ),
  }),
  reframes: z.object({ en: reframeTexts, ko: reframeTexts }),
};

function load<T extends z.ZodType>(file: string, schema: T, json: unknown): z.infer<T> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`offline analyzer data ${file}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export const data = {
  discourse: load('discourse.json', schemas.discourse, discourseJson) as {
    cues: Record<keyof (typeof discourseJson)['cues'], string[]>;
  },
  discourseModel: load('discourse-model.json', schemas.discourseModel, discourseModelJson),
  distortionModel: load('distortion-model.json', schemas.distortionModel, distortionModelJson),
  enEmotions: load('en-emotions.json', schemas.enEmotions, enEmotionsJson),
  enValence: load('en-valence.json', schemas.enValence, enValenceJson),
  enPhrases: load('en-phrases.json', schemas.enPhrases, enPhrasesJson).phrases,
  koLexicon: load('ko-lexicon.json', schemas.koLexicon, koLexiconJson).entries,
  modifiers: load('modifiers.json', schemas.modifiers, modifiersJson),
  symbols: load('symbols.json', schemas.symbols, symbolsJson),
  distortionCues: load('distortion-cues.json', schemas.distortionCues, distortionCuesJson).categories,
  reframes: load('reframes.json', schemas.reframes, reframesJson),
};

export type DistortionCue = z.infer<typeof cue>;
export type ReframeTexts = (typeof data.reframes)['en'];
