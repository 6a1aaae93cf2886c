import { EMOTIONS } from '../analyzer.js';
import { data } from './data-files.js';
import type { EmotionVector } from './sentence-scorer.js';
import { compileCue } from './text.js';

/**
 * The entry as a whole, beyond its sentences one by one: where the writer turns ("But…", "그래도…"),
 * where they land (the last sentences), relief after a scare, an explicit balance ("evens out"),
 * hypotheticals, laughter and tears, mock praise, implicit loss and achievement. Each entry becomes
 * a short vector of named features, the same for every language, plus its words (entryWords); the
 * linear heads of discourse-model.ts, fitted on the corpus's train split, turn both into the status
 * and the dominant emotion. The dense features carry over to any text; the words add what the
 * lexicons miss.
 */
/** One sentence as the scorer and the distortion detector read it. */
export interface SentenceReading {
  text: string;
  /** matchForm(text): what the cue patterns and the distortion model read. */
  form: string;
  isTitle: boolean;
  /** Normalised valence in -1..1, already pulled down when the sentence carries an automatic thought. */
  valence: number;
  positive: number;
  negative: number;
  emotions: EmotionVector;
  thoughts: number;
  /** What the distortion model reads of the sentence (empty for titles). */
  distortionFeatures: string[];
}

type CueName = keyof typeof data.discourse.cues;
const CUE_NAMES = Object.keys(data.discourse.cues) as CueName[];
const compiledCues = Object.fromEntries(
  CUE_NAMES.map((name) => [name, data.discourse.cues[name].map(compileCue)]),
) as Record<CueName, RegExp[]>;

/** `form` is the sentence's matchForm(). */
export function sentenceCues(form: string): Record<CueName, boolean> {
  return Object.fromEntries(CUE_NAMES.map((name) => [name, compiledCues[name].some((re) => re.test(form))])) as Record<CueName, boolean>;
}

const EMOTION_FEATURES = EMOTIONS.map((e) => `emotion_${e}`);
const LAST_EMOTION_FEATURES = EMOTIONS.map((e) => `last_emotion_${e}`);

/** The names of entryFeatures' values, in order (the model file lists the same names). */
export const FEATURE_NAMES = [
  'mean_valence',
  'last_valence',
  'last2_valence',
  'first_valence',
  'turn',
  'after_turn_valence',
  'before_turn_valence',
  'max_valence',
  'min_valence',
  'positive_mass',
  'negative_mass',
  'polar_share',
  'thoughts',
  'sentences',
  ...CUE_NAMES.map((c) => `cue_${c}`),
  ...CUE_NAMES.map((c) => `late_cue_${c}`),
  'exclamations',
  'questions',
  'korean',
  'emotion_total',
  ...EMOTION_FEATURES,
  ...LAST_EMOTION_FEATURES,
] as const;

/**
 * The entry's feature vector. `koreanShare` is the share of Korean words (0..1). Values are kept
 * in about -1..1 (log-scaled masses, shares), so one learning rate and one L2 weight suit all.
 */
export function entryFeatures(readings: SentenceReading[], koreanShare: number): number[] {
  const content = readings.filter((r) => !r.isTitle);
  const units = content.length > 0 ? content : readings;
  const n = units.length;
  const v = units.map((r) => r.valence);
  const cues = units.map((r) => sentenceCues(r.form));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
  const weightedMean = () => {
    let num = 0;
    let den = 0;
    readings.forEach((r) => {
      const w = (0.25 + Math.abs(r.valence)) * (r.isTitle ? 0.5 : 1);
      num += r.valence * w;
      den += w;
    });
    return den > 0 ? num / den : 0;
  };
  // The last sentence that opens with a turn ("But", "Still", "그래도", "결국") splits the entry.
  let turnAt = -1;
  cues.forEach((c, i) => {
    if (i > 0 && c.turn) turnAt = i;
  });
  const late = (i: number) => n <= 2 || i >= Math.floor(n / 2);
  const cueFeatures = CUE_NAMES.map((name) => (cues.some((c) => c[name]) ? 1 : 0));
  const lateCueFeatures = CUE_NAMES.map((name) => (cues.some((c, i) => c[name] && late(i)) ? 1 : 0));
  const totals = sumEmotions(units.map((r) => r.emotions));
  const total = EMOTIONS.reduce((s, e) => s + totals[e], 0);
  const last = units[n - 1]?.emotions;
  const lastTotal = last ? EMOTIONS.reduce((s, e) => s + last[e], 0) : 0;
  const text = units.map((r) => r.text).join(' ');
  return [
    weightedMean(),
    v[n - 1] ?? 0,
    mean(v.slice(-2)),
    v[0] ?? 0,
    turnAt > 0 ? 1 : 0,
    turnAt > 0 ? mean(v.slice(turnAt)) : 0,
    turnAt > 0 ? mean(v.slice(0, turnAt)) : 0,
    Math.max(0, ...v),
    Math.min(0, ...v),
    Math.log1p(units.reduce((s, r) => s + r.positive, 0)) / 3,
    Math.log1p(units.reduce((s, r) => s + r.negative, 0)) / 3,
    n ? v.filter((x) => Math.abs(x) >= 0.15).length / n : 0,
    Math.log1p(units.reduce((s, r) => s + r.thoughts, 0)),
    Math.log1p(n) / 2,
    ...cueFeatures,
    ...lateCueFeatures,
    Math.min(3, (text.match(/!/g) ?? []).length) / 3,
    n ? units.filter((r) => r.text.includes('?')).length / n : 0,
    koreanShare,
    Math.log1p(total) / 3,
    ...EMOTIONS.map((e) => (total > 0 ? totals[e] / total : 0)),
    ...EMOTIONS.map((e) => (last && lastTotal > 0 ? last[e] / lastTotal : 0)),
  ];
}

function sumEmotions(vectors: EmotionVector[]): EmotionVector {
  const out = Object.fromEntries(EMOTIONS.map((e) => [e, 0])) as EmotionVector;
  for (const v of vectors) for (const e of EMOTIONS) out[e] += v[e];
  return out;
}

/**
 * The entry's words for the status head's lexical weights: the sentences' words and word pairs
 * (Korean: syllable n-grams and endings), and those of the last sentence once more, marked, since
 * where the writer lands weighs most.
 */
export function entryWords(readings: SentenceReading[]): string[] {
  const content = readings.filter((r) => !r.isTitle);
  const out = new Set<string>();
  for (const r of content) for (const f of r.distortionFeatures) if (lexical(f)) out.add(f);
  for (const f of content.at(-1)?.distortionFeatures ?? []) if (lexical(f)) out.add(`last:${f}`);
  return [...out];
}

/** w: b: k: k2: k3: ke: (the same test as /^(w|b|k|k2|k3|ke):/, without a regex per feature). */
function lexical(f: string): boolean {
  const first = f.charCodeAt(0);
  if (first === 0x77 /* w */ || first === 0x62 /* b */) return f.charCodeAt(1) === 0x3a;
  if (first !== 0x6b /* k */) return false;
  const second = f.charCodeAt(1);
  if (second === 0x3a) return true;
  return (second === 0x32 || second === 0x33 || second === 0x65) /* 2 3 e */ && f.charCodeAt(2) === 0x3a;
}
