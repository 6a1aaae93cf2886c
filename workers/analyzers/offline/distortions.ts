import { DISTORTIONS, type DistortionCategory, type EmotionName } from '../analyzer.js';
import { data, type DistortionCue } from './data-files.js';
import { compileCue } from './text.js';

/**
 * Cognitive-distortion detection: each category has cue patterns (data/distortion-cues.json);
 * a cue counts only when its gate agrees with the sentence's valence, so "I always enjoy Sundays"
 * is not all-or-nothing thinking while "I always ruin everything" is.
 */

export interface SentenceContext {
  /** Raw valence of the sentence before any distortion adjustment. */
  raw: number;
  /** Whether the sentence has a positive contribution (what discounting discounts). */
  hasPositive: boolean;
}

export interface DetectedDistortion {
  category: DistortionCategory;
  /** 0..1: the strength of the best cue, plus a little for every further cue of the same category. */
  score: number;
}

/** A category fires at this score: one specific cue, or two generic absolutist words. */
export const DETECTION_THRESHOLD = 0.55;
const EXTRA_CUE_BONUS = 0.05;

/** Any Hangul syllable whose final consonant is ㄹ: the future/adnominal -ㄹ (될, 떨어질, 할). */
const RIEUL_FINAL = (() => {
  let chars = '';
  for (let code = 0xac00 + 8; code <= 0xd7a3; code += 28) chars += String.fromCodePoint(code);
  return `[${chars}]`;
})();

interface CompiledCue {
  re: RegExp;
  w: number;
  gate: DistortionCue['gate'];
}

const compiled = DISTORTIONS.map((category) => {
  const spec = data.distortionCues[category];
  const compile = (cues: DistortionCue[]): CompiledCue[] =>
    cues.map((c) => ({ re: compileCue(c.re.replaceAll('{L}', RIEUL_FINAL)), w: c.w, gate: c.gate }));
  return { category, en: compile(spec.en), ko: compile(spec.ko) };
});

export const distortionEmotions: Record<DistortionCategory, Partial<Record<EmotionName, number>>> = Object.fromEntries(
  DISTORTIONS.map((d) => [d, data.distortionCues[d].emotions]),
) as Record<DistortionCategory, Partial<Record<EmotionName, number>>>;

function gateOpen(gate: DistortionCue['gate'], ctx: SentenceContext): boolean {
  switch (gate) {
    case 'none':
      return true;
    case 'nonpos':
      return ctx.raw <= 0;
    case 'neg':
      return ctx.raw < 0;
    case 'pos':
      return ctx.hasPositive;
  }
}

/**
 * Every category whose cues reach the threshold in `text` (the sentence's matchForm()), strongest
 * first (ties in category order): one sentence can voice two distortions ("It's going to be awful,
 * it always is" is fortune telling and overgeneralization).
 */
export function detectDistortions(text: string, ctx: SentenceContext): DetectedDistortion[] {
  const hasLatin = /\p{Script=Latin}/u.test(text);
  const hasHangul = /[\uac00-\ud7a3]/.test(text);
  const found: DetectedDistortion[] = [];
  for (const { category, en, ko } of compiled) {
    let top = 0;
    let count = 0;
    const scan = (cues: CompiledCue[]) => {
      for (const cue of cues) {
        if (!gateOpen(cue.gate, ctx) || !cue.re.test(text)) continue;
        count++;
        top = Math.max(top, cue.w);
      }
    };
    if (hasLatin) scan(en);
    if (hasHangul) scan(ko);
    if (count === 0) continue;
    const score = Math.min(1, top + EXTRA_CUE_BONUS * (count - 1));
    if (score >= DETECTION_THRESHOLD) found.push({ category, score });
  }
  return found.sort((a, b) => b.score - a.score);
}
