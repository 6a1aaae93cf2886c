import type { EmotionName } from '../analyzer.js';
import { data } from './data-files.js';
import { englishPhrases, lookupEnglish, lookupSymbol, matchKorean, type LexicalEntry } from './lexicon.js';
import { tokenize, type Token } from './text.js';

/**
 * Scores one sentence: finds lexicon hits, applies negation, intensifiers and contrast, and sums
 * them into a signed raw valence (AFINN scale) and an emotion profile.
 */

export type EmotionVector = Record<EmotionName, number>;

export interface SentenceScore {
  /** Signed sum of the hits' contributions (AFINN scale, unbounded). */
  raw: number;
  /** Sum of the positive contributions. */
  positive: number;
  /** Sum of the negative contributions, as a positive number. */
  negative: number;
  emotions: EmotionVector;
}

interface Hit {
  index: number;
  end: number;
  entry: LexicalEntry;
  negated: boolean;
  multiplier: number;
  weight: number;
  /** Korean: what follows the stem in its word (지 in 좋지, 가 in 재미가). */
  rest?: string;
}

/** A negated word keeps a weaker, opposite sense: "not bad" is mildly good, "not happy" fairly bad. */
const NEGATION_SCALAR = -0.6;
const EXCLAMATION_BOOST = 0.3;
/**
 * What a negated emotion word still says: "not happy" is sadness, "not afraid" and "not angry" lean
 * to trust, "not looking forward" to sadness. Plutchik's opposite pairs, except that fear and anger
 * are not each other's negation. Negated surprise says nothing.
 */
const NEGATED_AS: Record<EmotionName, EmotionName | undefined> = {
  joy: 'sadness',
  sadness: 'joy',
  trust: 'disgust',
  disgust: 'trust',
  fear: 'trust',
  anger: 'trust',
  surprise: undefined,
  anticipation: 'sadness',
};
const INABILITY: LexicalEntry = { valence: -1, emotions: ['sadness'], emotionWeight: 1 };

const en = data.modifiers.en;
const ko = data.modifiers.ko;
const enNegators = new Set(en.negators);
const enInability = new Set(en.inability);
const enAbsorbers = new Set(en.absorbers);
const enComparativeNegators = new Set(en.comparativeNegators);
const enComparativeMarkers = new Set(en.comparativeMarkers);
const enScopeBreakers = new Set(en.scopeBreakers);
const enMultipliers = new Map(Object.entries({ ...en.intensifiers, ...en.diminishers }));
const enContrast = new Set(en.contrast);
const ARTICLES = new Set(['a', 'an', 'the']);
const koPreNegators = new Set(ko.preNegators);
const koMultipliers = new Map(Object.entries({ ...ko.intensifiers, ...ko.diminishers }));
const koContrast = new Set(ko.contrast);
const PARTICLES = new Set(['', '이', '가', '은', '는', '도', '을', '를', '이란', '란']);

export function emptyEmotions(): EmotionVector {
  // EMOTIONS order, as a literal: one shape for every vector.
  return { joy: 0, sadness: 0, anger: 0, fear: 0, surprise: 0, disgust: 0, trust: 0, anticipation: 0 } satisfies Record<EmotionName, number>;
}

/** `form` is the sentence's matchForm(). */
export function scoreSentence(form: string): SentenceScore {
  const tokens = tokenize(form);
  const consumed = new Set<number>();
  const usedNegators = new Set<number>();
  const hits: Hit[] = [];
  const koreanWords = tokens.map((t) => (t.kind === 'hangul' ? t.text : ''));

  for (let i = 0; i < tokens.length; i++) {
    if (consumed.has(i)) continue;
    const hit = findHit(tokens, koreanWords, i, consumed);
    if (hit) hits.push(hit);
  }
  for (const hit of hits) {
    const kind = tokens[hit.index]?.kind;
    if (kind === 'latin') applyEnglishModifiers(tokens, hit, consumed, usedNegators);
    else if (kind === 'hangul') applyKoreanModifiers(tokens, hit);
  }
  hits.push(...inabilityHits(tokens, hits, consumed, usedNegators));
  applyContrast(tokens, hits);
  return sum(tokens, hits);
}

function findHit(tokens: Token[], koreanWords: string[], i: number, consumed: Set<number>): Hit | undefined {
  const token = tokens[i];
  if (!token) return undefined;
  const base = { index: i, end: i, negated: false, multiplier: 1, weight: 1 };
  if (token.kind === 'latin') {
    for (const phrase of englishPhrases.get(token.text) ?? []) {
      if (phrase.tokens.every((t, k) => tokens[i + k]?.text === t)) {
        for (let k = 0; k < phrase.tokens.length; k++) consumed.add(i + k);
        return { ...base, end: i + phrase.tokens.length - 1, entry: phrase };
      }
    }
    const entry = lookupEnglish(token.text);
    return entry ? { ...base, entry } : undefined;
  }
  if (token.kind === 'hangul') {
    let match = matchKorean(koreanWords, i);
    let negated = false;
    const prefix = /^(안|못)/.exec(token.text)?.[0];
    if (!match && prefix && token.text.length > 1) {
      match = matchKorean(koreanWords, i, prefix.length);
      negated = match !== undefined;
    }
    if (!match) return undefined;
    for (let k = 1; k < match.span; k++) consumed.add(i + k);
    return { ...base, end: i + match.span - 1, entry: match.entry, negated, rest: match.rest };
  }
  if (token.kind === 'symbol') {
    const entry = lookupSymbol(token.text);
    return entry ? { ...base, entry } : undefined;
  }
  return undefined;
}

function applyEnglishModifiers(tokens: Token[], hit: Hit, consumed: Set<number>, usedNegators: Set<number>): void {
  for (let k = hit.index - 1, steps = 0; k >= 0 && steps < 3; k--, steps++) {
    const t = tokens[k];
    if (!t || t.kind === 'punct' || consumed.has(k)) break;
    if (enAbsorbers.has(t.text)) {
      // "can't stop smiling": the negator is spent on "stop".
      if (enNegators.has(tokens[k - 1]?.text ?? '')) usedNegators.add(k - 1);
      break;
    }
    if (enNegators.has(t.text)) {
      usedNegators.add(k);
      const between = tokens.slice(k + 1, hit.index);
      if (enComparativeNegators.has(t.text) && between.some((b) => enComparativeMarkers.has(b.text))) {
        hit.multiplier *= 1.25;
      } else {
        hit.negated = true;
      }
      break;
    }
    if (enScopeBreakers.has(t.text)) break;
  }
  for (let k = hit.index - 1, steps = 0; k >= 0 && steps < 3; k--, steps++) {
    const t = tokens[k];
    if (!t || consumed.has(k)) break;
    const m = enMultipliers.get(t.text);
    if (m !== undefined) hit.multiplier *= m;
    else if (!ARTICLES.has(t.text) && !enNegators.has(t.text)) break;
  }
}

function applyKoreanModifiers(tokens: Token[], hit: Hit): void {
  const rest = hit.rest ?? '';
  const prev = tokens[hit.index - 1]?.text ?? '';
  const next = tokens[hit.end + 1]?.text ?? '';
  const after = tokens[hit.end + 2]?.text ?? '';
  const last = tokens[hit.end]?.text ?? '';
  const startsWithAny = (word: string, list: string[]) => list.some((p) => word.startsWith(p));

  const negations = [
    koPreNegators.has(prev),
    hit.entry.adverb === true && koPreNegators.has(next),
    // 좋지않아 (spacing omitted) and 좋지 않아
    /(지|진)(는|도|가|를)?(않|안 ?되|못|말)/.test(rest),
    ko.negatingSuffixes.some((s) => last.endsWith(s)) && startsWithAny(next, ko.postNegators),
    // 행복한 게 아니야, 행복한게 아니야
    ko.nominalizers.includes(next) && after.startsWith('아니'),
    /(게|건|거)$/.test(rest) && next.startsWith('아니'),
    // 걱정 없이, 재미가 없어, 걱정없이
    /^(이|가|은|는|도)?없/.test(rest),
    PARTICLES.has(rest) && startsWithAny(next, ko.absence),
    // 믿을 수가 없어
    ko.possibility.includes(next) && startsWithAny(after, ko.absence),
  ];
  // A second negation (안좋지 않아) cancels the first.
  if (negations.some(Boolean)) hit.negated = !hit.negated;

  for (let k = hit.index - 1, steps = 0; k >= 0 && steps < 3; k--, steps++) {
    const t = tokens[k];
    if (!t) break;
    const m = koMultipliers.get(t.text);
    if (m !== undefined) hit.multiplier *= m;
    else if (!koPreNegators.has(t.text)) break;
  }
}

/** "못 잤다", "그러지 못했다", "I couldn't go": inability without an emotion word still reads as a small loss. */
function inabilityHits(tokens: Token[], hits: Hit[], consumed: Set<number>, usedNegators: Set<number>): Hit[] {
  const covered = new Set(hits.flatMap((h) => [h.index, h.end]));
  const out: Hit[] = [];
  const make = (index: number): Hit => ({ index, end: index, entry: INABILITY, negated: false, multiplier: 1, weight: 1 });
  tokens.forEach((t, k) => {
    if (consumed.has(k) || usedNegators.has(k)) return;
    if (t.kind === 'latin' && enInability.has(t.text)) out.push(make(k));
    if (t.kind === 'hangul' && t.text === '못' && !covered.has(k + 1)) out.push(make(k));
    const prev = tokens[k - 1];
    if (
      t.kind === 'hangul' &&
      ko.inability.some((p) => p !== '못' && t.text.startsWith(p)) &&
      prev?.text.endsWith('지') &&
      !covered.has(k - 1)
    ) {
      out.push(make(k));
    }
  });
  return out;
}

/** After "but" / 하지만 / -지만 the second clause carries the point: weigh it up and the first down. */
function applyContrast(tokens: Token[], hits: Hit[]): void {
  let boundary = -1;
  tokens.forEach((t, k) => {
    if (enContrast.has(t.text) || koContrast.has(t.text)) boundary = k;
    else if (t.kind === 'hangul' && ko.contrastSuffixes.some((s) => t.text.endsWith(s))) boundary = k + 0.5;
  });
  if (boundary < 0 || !hits.some((h) => h.index > boundary && h.entry.valence !== 0)) return;
  for (const hit of hits) hit.weight = hit.index > boundary ? 1.5 : 0.5;
}

function sum(tokens: Token[], hits: Hit[]): SentenceScore {
  const emotions = emptyEmotions();
  let positive = 0;
  let negative = 0;
  for (const hit of hits) {
    const scale = hit.multiplier * hit.weight;
    const value = hit.entry.valence * scale * (hit.negated ? NEGATION_SCALAR : 1);
    if (value > 0) positive += value;
    else negative -= value;
    const strength = (Math.abs(hit.entry.valence) || hit.entry.emotionWeight) * scale;
    for (const e of hit.entry.emotions) {
      const target = hit.negated ? NEGATED_AS[e] : e;
      if (target) emotions[target] += hit.negated ? strength * 0.5 : strength;
    }
  }
  let raw = positive - negative;
  const exclamations = Math.min(3, tokens.filter((t) => t.text === '!').length);
  if (raw !== 0 && exclamations > 0) {
    const boost = EXCLAMATION_BOOST * exclamations;
    if (raw > 0) positive += boost;
    else negative += boost;
    raw = positive - negative;
  }
  // Valence without an emotion word of that sign (a negated "good") still shows in the profile.
  const negativeEmotion = emotions.sadness + emotions.anger + emotions.fear + emotions.disgust;
  const positiveEmotion = emotions.joy + emotions.trust;
  if (raw < 0 && negativeEmotion === 0) emotions.sadness += -raw * 0.5;
  if (raw > 0 && positiveEmotion === 0) emotions.joy += raw * 0.5;
  return { raw, positive, negative, emotions };
}
