import type { AutomaticThought, DetectedLanguage } from '../analyzer.js';
import { entryFeatures, type SentenceReading } from './discourse.js';
import { predictDistortions, sentenceFeatures } from './distortion-model.js';
import { detectDistortions, distortionEmotions } from './distortions.js';
import { clamp, round } from '../numeric.js';
import { alternativeFor, type OutputLanguage } from './reframes.js';
import { emptyEmotions, scoreSentence, type EmotionVector } from './sentence-scorer.js';
import { detectLanguage, matchForm, splitSentences } from './text.js';

/**
 * The rules' reading of an entry: each sentence scored (lexicons, negation, intensifiers, in-sentence
 * contrast), the automatic thoughts found (several categories per sentence where the cues say so),
 * and the entry's discourse features. No model is applied here: the training script fits the
 * discourse model on exactly this reading.
 */

/** VADER's normalisation of a raw sum into -1..1: x / sqrt(x² + α). */
const VALENCE_ALPHA = 15;
/**
 * A sentence that carries an automatic thought is read as negative, at least as negative as the
 * thought is strong: its positive words are mostly what is being dismissed ("they were just being
 * nice") or an impossible bar ("perfect").
 */
const THOUGHT_POSITIVE_DISCOUNT = 0.25;
const THOUGHT_PENALTY = 1.5;

export interface EntryReading {
  language: DetectedLanguage;
  outputLanguage: OutputLanguage;
  sentences: SentenceReading[];
  /** In the order written; `order` is the sentence's index. */
  thoughts: Array<AutomaticThought & { order: number }>;
  /** Lexicon emotion sums over the entry, thoughts' typical emotions included. */
  emotions: EmotionVector;
  features: number[];
}

export function readEntry(input: { title: string | null; content: string; language?: OutputLanguage }): EntryReading {
  const title = input.title ?? '';
  const content = input.content ?? '';
  const detected = detectLanguage(`${title}\n${content}`);
  const outputLanguage: OutputLanguage = input.language ?? (detected.koreanShare >= 0.5 ? 'ko' : 'en');
  const units = [
    ...splitSentences(title).map((text) => ({ text, isTitle: true })),
    ...splitSentences(content).map((text) => ({ text, isTitle: false })),
  ];

  const emotions = emptyEmotions();
  const thoughts: EntryReading['thoughts'] = [];
  const sentences: SentenceReading[] = units.map(({ text, isTitle }, order) => {
    const form = matchForm(text);
    const score = scoreSentence(form);
    // The cue detector's findings colour the sentence's valence and are features of the learned
    // model, whose findings are the thoughts reported (the cues alone miss most phrasings).
    const cues = isTitle ? [] : detectDistortions(form, { raw: score.raw, hasPositive: score.positive > 0 });
    const distortionFeatures = isTitle ? [] : sentenceFeatures(form, cues, score.raw);
    const found = isTitle ? [] : predictDistortions(distortionFeatures);
    let strongest = 0;
    for (const cue of cues) if (cue.score > strongest) strongest = cue.score;
    const raw =
      cues.length > 0 ? Math.min(score.positive * THOUGHT_POSITIVE_DISCOUNT - score.negative, 0) - THOUGHT_PENALTY * strongest : score.raw;
    const valence = raw / Math.sqrt(raw * raw + VALENCE_ALPHA);
    addInto(emotions, score.emotions);
    for (const f of found) {
      for (const [name, share] of Object.entries(distortionEmotions[f.category])) {
        emotions[name as keyof EmotionVector] += (share ?? 0) * f.score * 2;
      }
      thoughts.push({
        order,
        text,
        distortion: f.category,
        intensity: round(clamp(0.45 * f.score + 0.55 * Math.abs(Math.min(0, valence)), 0, 1), 2),
        alternativeThought: alternativeFor(f.category, text, outputLanguage),
      });
    }
    return {
      text,
      form,
      isTitle,
      valence,
      positive: score.positive,
      negative: score.negative,
      emotions: score.emotions,
      thoughts: found.length,
      distortionFeatures,
    };
  });
  return {
    language: detected.language,
    outputLanguage,
    sentences,
    thoughts,
    emotions,
    features: entryFeatures(sentences, detected.koreanShare),
  };
}

function addInto(target: EmotionVector, source: EmotionVector): void {
  for (const name of Object.keys(source) as Array<keyof EmotionVector>) target[name] += source[name];
}
