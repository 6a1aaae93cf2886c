import { DISTORTIONS, type DistortionCategory, type EmotionName, type EmotionStatus } from '../../workers/analyzers/analyzer.js';
import { EMOTION_STATUSES } from '../../kernel/contracts/statuses.js';

/** Scores of predictions against corpus labels: status macro-F1 with its confusion matrix, emotion accuracy, multi-label distortion F1. */

export interface Prf {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export function prf(tp: number, fp: number, fn: number): Prf {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, support: tp + fn };
}

export interface StatusScore {
  macroF1: number;
  accuracy: number;
  perClass: Record<EmotionStatus, Prf>;
  /** confusion[gold][predicted] */
  confusion: Record<EmotionStatus, Record<EmotionStatus, number>>;
  n: number;
}

export function scoreStatus(pairs: Array<{ gold: EmotionStatus; pred: EmotionStatus }>): StatusScore {
  const confusion = Object.fromEntries(
    EMOTION_STATUSES.map((g) => [g, Object.fromEntries(EMOTION_STATUSES.map((p) => [p, 0]))]),
  ) as StatusScore['confusion'];
  for (const { gold, pred } of pairs) confusion[gold][pred]++;
  const perClass = Object.fromEntries(
    EMOTION_STATUSES.map((c) => {
      const tp = confusion[c][c];
      const fp = EMOTION_STATUSES.reduce((s, g) => s + (g === c ? 0 : confusion[g][c]), 0);
      const fn = EMOTION_STATUSES.reduce((s, p) => s + (p === c ? 0 : confusion[c][p]), 0);
      return [c, prf(tp, fp, fn)];
    }),
  ) as Record<EmotionStatus, Prf>;
  const correct = EMOTION_STATUSES.reduce((s, c) => s + confusion[c][c], 0);
  return {
    macroF1: mean(EMOTION_STATUSES.map((c) => perClass[c].f1)),
    accuracy: pairs.length ? correct / pairs.length : 0,
    perClass,
    confusion,
    n: pairs.length,
  };
}

export function scoreEmotion(pairs: Array<{ gold: EmotionName | null; pred: EmotionName }>): { accuracy: number; n: number } {
  const labelled = pairs.filter((p) => p.gold !== null);
  const correct = labelled.filter((p) => p.gold === p.pred).length;
  return { accuracy: labelled.length ? correct / labelled.length : 0, n: labelled.length };
}

export interface DistortionScore {
  macroF1: number;
  perCategory: Record<DistortionCategory, Prf>;
  /** Entries without any distortion, as a class of its own. */
  none: Prf;
  /** Of the categories found in both gold and prediction, the share whose sentence is one of the gold ones. */
  sentenceMatch: number;
}

export function scoreDistortions(
  pairs: Array<{ gold: Array<{ category: DistortionCategory; sentence: string }>; pred: Array<{ category: DistortionCategory; sentence: string }> }>,
): DistortionScore {
  const counts = Object.fromEntries(DISTORTIONS.map((d) => [d, { tp: 0, fp: 0, fn: 0 }])) as Record<DistortionCategory, { tp: number; fp: number; fn: number }>;
  const none = { tp: 0, fp: 0, fn: 0 };
  let both = 0;
  let matched = 0;
  for (const { gold, pred } of pairs) {
    const g = new Set(gold.map((d) => d.category));
    const p = new Set(pred.map((d) => d.category));
    for (const d of DISTORTIONS) {
      if (g.has(d) && p.has(d)) {
        counts[d].tp++;
        both++;
        const goldSentences = gold.filter((x) => x.category === d).map((x) => norm(x.sentence));
        if (pred.some((x) => x.category === d && goldSentences.some((s) => overlaps(s, norm(x.sentence))))) matched++;
      } else if (p.has(d)) counts[d].fp++;
      else if (g.has(d)) counts[d].fn++;
    }
    if (g.size === 0 && p.size === 0) none.tp++;
    else if (p.size === 0) none.fp++;
    else if (g.size === 0) none.fn++;
  }
  const perCategory = Object.fromEntries(DISTORTIONS.map((d) => [d, prf(counts[d].tp, counts[d].fp, counts[d].fn)])) as Record<DistortionCategory, Prf>;
  return {
    macroF1: mean(DISTORTIONS.map((d) => perCategory[d].f1)),
    perCategory,
    none: prf(none.tp, none.fp, none.fn),
    sentenceMatch: both ? matched / both : 0,
  };
}

function norm(s: string): string {
  return s.normalize('NFC').replace(/\s+/g, ' ').trim().toLowerCase();
}

/** Our sentence splitter and the annotator's may cut differently: one containing the other counts. */
function overlaps(a: string, b: string): boolean {
  return a.includes(b) || b.includes(a);
}

export function mean(xs: number[]): number {
  return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0;
}
