import type { DetectedLanguage } from '../analyzer.js';

/** Text plumbing shared by the scorer and the distortion detector: normalising, language, sentences, tokens. */

export type TokenKind = 'latin' | 'hangul' | 'symbol' | 'number' | 'punct';

export interface Token {
  /** Lower-cased, NFC, straight apostrophes. */
  text: string;
  kind: TokenKind;
}

/** Sentences longer than this are cut at a space, which bounds the cost of the cue patterns. */
const MAX_SENTENCE_CHARS = 400;

export function normalize(text: string): string {
  return text
    .normalize('NFC')
    .replace(/[\u2018\u2019\u02bc`]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u200b-\u200d\ufeff]/g, '');
}

/** The form cue patterns are matched against. */
export function matchForm(sentence: string): string {
  return normalize(sentence).toLowerCase();
}

/**
 * A cue pattern of the data files, matched against matchForm() text. That text is already lower
 * case, so the pattern is compiled without the `i` flag: case-insensitive Unicode matching made
 * the cue scan four times slower (bench: 73 → 21 µs per sentence for the 150 cue patterns). A
 * pattern must therefore spell its letters in lower case; an upper-case letter would never match.
 */
export function compileCue(source: string): RegExp {
  const literals = source.replace(/\\[pPu]\{[^}]*\}|\\./g, '');
  if (/\p{Lu}/u.test(literals)) throw new Error(`offline analyzer: cue pattern ${source} has upper-case letters; cues match lower-cased text`);
  return new RegExp(source, 'u');
}

const HANGUL_WORD = /[\uac00-\ud7a3]+/g;
const LATIN_WORD = /\p{Script=Latin}+/gu;

export interface LanguageInfo {
  language: DetectedLanguage;
  /** Share of words that are Korean, 0..1 (0 when there are no words). */
  koreanShare: number;
}

/** By words, not letters: one English loanword in a Korean sentence should not outweigh it. */
export function detectLanguage(text: string): LanguageInfo {
  const ko = text.match(HANGUL_WORD)?.length ?? 0;
  const en = text.match(LATIN_WORD)?.length ?? 0;
  const total = ko + en;
  if (total === 0) return { language: 'unknown', koreanShare: 0 };
  const koreanShare = ko / total;
  if (koreanShare >= 0.9) return { language: 'ko', koreanShare };
  if (koreanShare <= 0.1) return { language: 'en', koreanShare };
  return { language: 'mixed', koreanShare };
}

/**
 * Sentence ends: . ! ? … followed by space, line breaks, and — since Korean diaries often skip
 * punctuation — a declarative -다 or polite -요 ending followed by a space, and crying/laughing jamo.
 * Common nouns ending in 요 (필요, 중요) are not endings: only verb-final syllables before 요 count.
 */
const SENTENCE_BREAK =
  /(?<=[.!?…。]+["')\]]?)\s+|\n+|(?<=[\uac00-\ud7a3]다)\s+(?=\S)|(?<=[어아해예에네세게래지나까죠]요)\s+(?=\S)|(?<=[ㅠㅜㅋㅎ]{2,})\s+(?=\S)/u;

export function splitSentences(text: string): string[] {
  const out: string[] = [];
  for (const piece of normalize(text).split(SENTENCE_BREAK)) {
    const sentence = piece?.trim();
    if (!sentence) continue;
    out.push(...chunk(sentence));
  }
  return out;
}

function chunk(sentence: string): string[] {
  if (sentence.length <= MAX_SENTENCE_CHARS) return [sentence];
  const parts: string[] = [];
  let rest = sentence;
  while (rest.length > MAX_SENTENCE_CHARS) {
    const cut = rest.lastIndexOf(' ', MAX_SENTENCE_CHARS);
    const at = cut > MAX_SENTENCE_CHARS / 2 ? cut : MAX_SENTENCE_CHARS;
    parts.push(rest.slice(0, at).trim());
    rest = rest.slice(at).trim();
  }
  if (rest) parts.push(rest);
  return parts;
}

const TOKEN =
  /[:;]-?[()dp](?![a-z])|\p{Script=Latin}+(?:'\p{Script=Latin}+)*|[\uac00-\ud7a3]+|[\u3131-\u318e]+|\p{Extended_Pictographic}|[\u2665\u2639]|\d+(?:[.:,]\d+)*|[.,;:!?…]/gu;

/** `form` is the sentence's matchForm(). */
export function tokenize(form: string): Token[] {
  const tokens: Token[] = [];
  for (const match of form.matchAll(TOKEN)) {
    const text = match[0];
    tokens.push({ text, kind: kindOf(text) });
  }
  return tokens;
}

function kindOf(text: string): TokenKind {
  const first = text.codePointAt(0) ?? 0;
  if (first >= 0xac00 && first <= 0xd7a3) return 'hangul';
  if (first >= 0x61 && first <= 0x7a) return 'latin'; // a-z, the common case of the test below
  if (/^\p{Script=Latin}/u.test(text)) return 'latin';
  if (/^\d/.test(text)) return 'number';
  if (/^[.,;:!?…]$/.test(text)) return 'punct';
  return 'symbol';
}
