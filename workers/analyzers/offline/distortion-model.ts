import { DISTORTIONS, type DistortionCategory } from '../analyzer.js';
import { sigmoid } from '../numeric.js';
import { data } from './data-files.js';
import type { DetectedDistortion } from './distortions.js';

/**
 * Which distortions a sentence voices, learned: one logistic regression per category over the
 * sentence's words and word pairs (English), its words' syllable n-grams and endings (Korean, where
 * one word carries stem and ending: 생각했을 거다, 분명하다), and the cue detector's scores, fitted
 * on the sentences of the corpus's train split (scripts/analyzers/train-offline.ts). A category
 * fires when its probability reaches its own threshold (chosen on out-of-fold train and dev
 * probabilities), or when one of its specific cue patterns matched (a strong cue).
 */

const model = data.distortionModel;
/** Feature → its weight in each category (DISTORTIONS order): one lookup per feature. */
const weights = new Map<string, Float64Array>();
DISTORTIONS.forEach((d, c) => {
  for (const [feature, w] of Object.entries(model.categories[d].weights)) {
    let row = weights.get(feature);
    if (!row) weights.set(feature, (row = new Float64Array(DISTORTIONS.length)));
    row[c] = w;
  }
});
const biases = DISTORTIONS.map((d) => model.categories[d].bias);
const thresholds = DISTORTIONS.map((d) => model.categories[d].threshold);

/** A cue this strong is a feature of its own (one specific pattern, not generic absolutist words). */
const STRONG_CUE = 0.8;
/** |raw valence| from which a sentence counts as positive or negative. */
const POLAR = 1;
const WORD = /\p{Script=Latin}+(?:'\p{Script=Latin}+)*|[\uac00-\ud7a3]+/gu;

/**
 * The sparse features of one sentence (`form`: its matchForm()); `cues` are the cue detector's findings for it, `raw` its
 * lexicon valence. Words are also counted with the sentence's polarity ("+always" in "I always
 * have fun", "-always" in "I always ruin it"): the same absolutist word is a thought only in a
 * negative sentence, and a linear model needs the pair to learn that.
 */
export function sentenceFeatures(form: string, cues: DetectedDistortion[], raw: number): string[] {
  const out = new Set<string>();
  const words = form.match(WORD) ?? [];
  const polarity = raw >= POLAR ? '+' : raw <= -POLAR ? '-' : '0';
  out.add(`polarity:${polarity}`);
  let previous = '^';
  for (const word of words) {
    out.add(polarity + word);
    const first = word.charCodeAt(0);
    if (first >= 0xac00 && first <= 0xd7a3) {
      // Hangul syllables are single UTF-16 units (the WORD pattern keeps Korean words to them).
      out.add(`k:${word}`);
      const n = word.length;
      for (let i = 0; i + 1 < n; i++) out.add(`k2:${word.slice(i, i + 2)}`);
      for (let i = 0; i + 2 < n; i++) out.add(`k3:${word.slice(i, i + 3)}`);
      if (n > 2) out.add(`ke:${word.slice(n - 2)}`);
    } else {
      out.add(`w:${word}`);
      out.add(`b:${previous} ${word}`);
    }
    previous = word;
  }
  for (const cue of cues) {
    out.add(`cue:${cue.category}`);
    if (cue.score >= STRONG_CUE) out.add(`cue+:${cue.category}`);
  }
  return [...out];
}

/**
 * Every category whose probability reaches its threshold, strongest first; score is the probability.
 * A plainly positive sentence that no cue flagged voices no distortion other than discounting the
 * positive ("I always have fun with my sister"): the learned weights of "always" or "everyone" would
 * otherwise fire on good news.
 */
export function vetoed(features: string[], category: DistortionCategory): boolean {
  return category !== 'discounting_positive' && positiveWithoutCue(features);
}

function positiveWithoutCue(features: string[]): boolean {
  return features.includes('polarity:+') && !features.some((f) => f.startsWith('cue:'));
}

export function predictDistortions(features: string[]): DetectedDistortion[] {
  const z = Float64Array.from(biases);
  let positive = false;
  let cued = false;
  let strong: Set<string> | undefined;
  for (const f of features) {
    const row = weights.get(f);
    if (row) for (let c = 0; c < z.length; c++) z[c]! += row[c]!;
    // 'c' and 'p' open only the cue and polarity features: the rest are words and n-grams.
    const first = f.charCodeAt(0);
    if (first === 0x70 /* p */) {
      if (f === 'polarity:+') positive = true;
    } else if (first === 0x63 /* c */) {
      if (f.startsWith('cue:')) cued = true;
      else if (f.startsWith('cue+:')) (strong ??= new Set()).add(f.slice('cue+:'.length));
    }
  }
  const vetoAllButDiscounting = positive && !cued;
  const found: DetectedDistortion[] = [];
  for (let c = 0; c < DISTORTIONS.length; c++) {
    const category = DISTORTIONS[c]!;
    if (vetoAllButDiscounting && category !== 'discounting_positive') continue;
    const threshold = thresholds[c]!;
    const p = sigmoid(z[c]!);
    // One specific cue pattern is enough on its own, as it was before the model.
    if (p >= threshold || strong?.has(category)) found.push({ category, score: Math.max(p, threshold) });
  }
  return found.length > 1 ? found.sort((a, b) => b.score - a.score) : found;
}
