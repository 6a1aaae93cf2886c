import { DISTORTIONS, type DistortionCategory, type EmotionStatus } from '../../kernel/contracts/statuses.js';

/**
 * The one interface every emotion analyzer implements (offline lexicon/rules, LLM, ...).
 * Results are plain data; the worker stores them in diary_analyses as they are.
 */

/** Plutchik's eight basic emotions: a fixed, widely used set that covers both valences. */
export const EMOTIONS = ['joy', 'sadness', 'anger', 'fear', 'surprise', 'disgust', 'trust', 'anticipation'] as const;
export type EmotionName = (typeof EMOTIONS)[number];

export { DISTORTIONS };
export type { DistortionCategory };

export type { EmotionStatus };
export type DetectedLanguage = 'en' | 'ko' | 'mixed' | 'unknown';

export interface AnalysisInput {
  title: string | null;
  content: string;
  /** The user's preferred language for generated texts (alternative thoughts, prompt). */
  language?: 'en' | 'ko';
}

export interface AutomaticThought {
  /** The sentence of the entry that carries the thought, as written. */
  text: string;
  distortion: DistortionCategory;
  /** 0..1: how strongly the sentence expresses the distortion. */
  intensity: number;
  /** A balanced reframe of this thought. */
  alternativeThought: string;
}

export interface AnalysisResult {
  language: DetectedLanguage;
  /** Every emotion of EMOTIONS with a score in 0..1, sorted by score, highest first. */
  emotions: Array<{ name: EmotionName; score: number }>;
  emotionStatus: EmotionStatus;
  /** Overall valence in -1..1. */
  valence: number;
  automaticThoughts: AutomaticThought[];
  /** Alternative thoughts for the entry as a whole (at least one when there are automatic thoughts). */
  alternativeThoughts: string[];
  /** A short question or suggestion inviting the writer to change perspective. */
  promptForChange: string;
  /** Which analyzer actually produced this result; differs from the one called when it fell back. */
  producedBy?: AnalysisProvenance;
  /** Set when the called analyzer could not answer and its fallback produced the result. */
  fallbackReason?: FallbackReason;
}

export interface AnalysisProvenance {
  analyzer: string;
  version: string;
  model?: string;
}

/**
 * Why an analyzer fell back: the endpoint was too slow, answered with something that is not a valid
 * result, refused the request (a non-retryable status such as 400/401/404), kept failing
 * (429/5xx/network) until the retries ran out, or was known to be down (a local sidecar that failed
 * recently and has not answered a health probe since).
 */
export type FallbackReason = 'timeout' | 'invalid_output' | 'rejected' | 'retries_exhausted' | 'unavailable';

export interface Analyzer {
  readonly name: string;
  readonly version: string;
  /** The model behind the analyzer, when there is one (LLM). */
  readonly model?: string;
  analyze(input: AnalysisInput, signal?: AbortSignal): Promise<AnalysisResult>;
  /** Whether calls made together are analysed in parallel (threads, a batching client): the worker then makes a chunk's calls at once. */
  readonly parallel?: boolean;
  /** Releases what the analyzer holds (threads); the worker calls it when it stops. */
  close?(): Promise<void>;
}
