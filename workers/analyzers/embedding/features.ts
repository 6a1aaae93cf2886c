import { DISTORTIONS, EMOTIONS, type AnalysisInput, type AnalysisResult } from '../analyzer.js';
import { analyzeOffline } from '../offline/offline-analyzer.js';
import { splitSentences } from '../offline/text.js';

/**
 * What the heads read, computed by the same code when they are fitted
 * (scripts/analyzers/train-embedding-heads.ts) and when they run: per entry the embedding of the
 * whole entry, of its last sentence (where the writer lands) and the mean of its sentences'; per
 * sentence its own embedding beside the entry's and where it stands. The `ensemble` variant adds
 * the rules analyzer's view of the same text (its valence, status, emotion profile and the
 * distortions it finds), computed by calling it, so the heads follow when the rules change.
 */

export type VariantName = 'embedding' | 'ensemble';
export const VARIANTS: readonly VariantName[] = ['embedding', 'ensemble'];

/** The entry text embedded is its end when it is longer (the landing weighs most; e5 reads 512 tokens). */
export const MAX_ENTRY_CHARS = 2_000;
/** Sentences embedded per entry; in a longer entry the others are read by the rules alone. */
export const MAX_SENTENCES = 24;

export interface EntryTexts {
  /** Title and content, as embedded for the entry as a whole. */
  entry: string;
  /** The content's sentences, split as the rules analyzer splits them. */
  sentences: string[];
  /** Indexes into `sentences` of those embedded: all, or the first MAX_SENTENCES - 1 and the last. */
  embedded: number[];
}

export function entryTexts(input: AnalysisInput): EntryTexts {
  const whole = [input.title ?? '', input.content ?? ''].filter((t) => t.trim() !== '').join('\n');
  const cut = whole.length > MAX_ENTRY_CHARS ? whole.slice(whole.length - MAX_ENTRY_CHARS) : whole;
  const sentences = splitSentences(input.content ?? '');
  const embedded =
    sentences.length <= MAX_SENTENCES
      ? sentences.map((_, i) => i)
      : [...Array.from({ length: MAX_SENTENCES - 1 }, (_, i) => i), sentences.length - 1];
  // e5 needs some text; an empty entry is embedded as a bare full stop.
  return { entry: cut.trim() === '' ? '.' : cut, sentences, embedded };
}

/** The texts one analysis sends to the sidecar, in order: the entry, then its embedded sentences. */
export function textsToEmbed(texts: EntryTexts): string[] {
  return [texts.entry, ...texts.embedded.map((i) => texts.sentences[i]!)];
}

/** The rules analyzer's reading of the entry and of each embedded sentence on its own. */
export interface RulesView {
  entry: AnalysisResult;
  sentences: AnalysisResult[];
}

export function rulesView(input: AnalysisInput, texts: EntryTexts): RulesView {
  return {
    entry: analyzeOffline({ title: input.title, content: input.content }),
    sentences: texts.embedded.map((i) => analyzeOffline({ title: null, content: texts.sentences[i]! })),
  };
}

const ENTRY_RULES_WIDTH = 1 + 3 + EMOTIONS.length + DISTORTIONS.length;
const SENTENCE_RULES_WIDTH = 1 + DISTORTIONS.length;
const POSITION_WIDTH = 2;

export function featureWidths(dimensions: number, variant: VariantName): { entry: number; sentence: number } {
  const rules = variant === 'ensemble';
  return {
    entry: 3 * dimensions + (rules ? ENTRY_RULES_WIDTH : 0),
    sentence: 2 * dimensions + POSITION_WIDTH + (rules ? SENTENCE_RULES_WIDTH : 0),
  };
}

/** The vectors of textsToEmbed split back: the entry's and one per embedded sentence. */
export interface EntryVectors {
  entry: Float32Array;
  sentences: Float32Array[];
}

export function splitVectors(vectors: Float32Array[]): EntryVectors {
  return { entry: vectors[0]!, sentences: vectors.slice(1) };
}

export function entryFeatures(variant: VariantName, v: EntryVectors, rules: RulesView | undefined): Float64Array {
  const d = v.entry.length;
  const last = v.sentences.at(-1) ?? v.entry;
  const mean = new Float64Array(d);
  const parts = v.sentences.length > 0 ? v.sentences : [v.entry];
  for (const s of parts) for (let j = 0; j < d; j++) mean[j]! += s[j]! / parts.length;
  const out: number[] = [...v.entry, ...last, ...mean];
  if (variant === 'ensemble') {
    const r = need(rules).entry;
    out.push(r.valence, r.emotionStatus === 'POSITIVE' ? 1 : 0, r.emotionStatus === 'NEGATIVE' ? 1 : 0, r.emotionStatus === 'NEUTRAL' ? 1 : 0);
    const scores = new Map(r.emotions.map((e) => [e.name, e.score]));
    for (const e of EMOTIONS) out.push(scores.get(e) ?? 0);
    for (const d of DISTORTIONS) out.push(Math.max(0, ...r.automaticThoughts.filter((t) => t.distortion === d).map((t) => t.intensity)));
  }
  return Float64Array.from(out);
}

/** Features of the `k`-th embedded sentence. */
export function sentenceFeatures(variant: VariantName, v: EntryVectors, k: number, rules: RulesView | undefined): Float64Array {
  const n = v.sentences.length;
  const out: number[] = [...v.sentences[k]!, ...v.entry, n > 1 ? k / (n - 1) : 1, k === n - 1 ? 1 : 0];
  if (variant === 'ensemble') {
    const r = need(rules).sentences[k]!;
    out.push(r.valence);
    for (const d of DISTORTIONS) out.push(Math.max(0, ...r.automaticThoughts.filter((t) => t.distortion === d).map((t) => t.intensity)));
  }
  return Float64Array.from(out);
}

function need(rules: RulesView | undefined): RulesView {
  if (!rules) throw new Error('the ensemble variant needs the rules view');
  return rules;
}
