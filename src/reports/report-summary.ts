import type { AnalysisView } from '../analysis/analysis-repository.js';
import { localDate } from '../../kernel/time-zones.js';
import type { EmotionStatus } from '../../kernel/contracts/statuses.js';

export interface ReportEntry {
  diaryId: string;
  createdAt: Date;
  emotionStatus: EmotionStatus | null;
  analysis: AnalysisView | null;
}

export interface ReportSummary {
  timezone: string;
  totals: { entries: number; analyzed: number; positive: number; negative: number; neutral: number; unanalyzed: number };
  dominantEmotions: Array<{ name: string; averageScore: number }>;
  negativeStreak: { longestDays: number; from: string | null; to: string | null };
  distortions: Array<{ category: string; count: number }>;
  alternativeThoughts: string[];
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * The content of a report, computed from a period's entries and their analyses. Pure: the same
 * entries give the same summary.
 * A day counts towards a negative streak when more of its entries are NEGATIVE than POSITIVE.
 */
export function summarizeEntries(entries: ReportEntry[], timezone: string): ReportSummary {
  const totals = { entries: entries.length, analyzed: 0, positive: 0, negative: 0, neutral: 0, unanalyzed: 0 };
  const emotionSums = new Map<string, number>();
  const distortionCounts = new Map<string, number>();
  const days = new Map<string, number>();
  const alternatives: string[] = [];

  const newestFirst = [...entries].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  for (const entry of newestFirst) {
    if (entry.emotionStatus) totals[entry.emotionStatus.toLowerCase() as 'positive' | 'negative' | 'neutral']++;
    else totals.unanalyzed++;
    const day = localDate(timezone, entry.createdAt);
    const lean = entry.emotionStatus === 'NEGATIVE' ? 1 : entry.emotionStatus === 'POSITIVE' ? -1 : 0;
    days.set(day, (days.get(day) ?? 0) + lean);

    if (!entry.analysis) continue;
    totals.analyzed++;
    for (const { name, score } of entry.analysis.emotions) emotionSums.set(name, (emotionSums.get(name) ?? 0) + score);
    for (const thought of entry.analysis.automaticThoughts) distortionCounts.set(thought.distortion, (distortionCounts.get(thought.distortion) ?? 0) + 1);
    for (const alt of entry.analysis.alternativeThoughts) if (alternatives.length < 5 && !alternatives.includes(alt)) alternatives.push(alt);
  }

  return {
    timezone,
    totals,
    dominantEmotions: [...emotionSums]
      .map(([name, sum]) => ({ name, averageScore: round(sum / Math.max(1, totals.analyzed)) }))
      .sort((a, b) => b.averageScore - a.averageScore || a.name.localeCompare(b.name))
      .slice(0, 3),
    negativeStreak: longestNegativeStreak(days),
    distortions: [...distortionCounts].map(([category, count]) => ({ category, count })).sort((a, b) => b.count - a.count || a.category.localeCompare(b.category)),
    alternativeThoughts: alternatives,
  };
}

function longestNegativeStreak(days: Map<string, number>): ReportSummary['negativeStreak'] {
  const negativeDays = [...days].filter(([, lean]) => lean > 0).map(([day]) => day).sort();
  let best = { longestDays: 0, from: null as string | null, to: null as string | null };
  let runStart = '';
  let runLength = 0;
  let previous = '';
  for (const day of negativeDays) {
    const consecutive = previous && Date.parse(`${day}T00:00:00Z`) - Date.parse(`${previous}T00:00:00Z`) === 86_400_000;
    runStart = consecutive ? runStart : day;
    runLength = consecutive ? runLength + 1 : 1;
    if (runLength > best.longestDays) best = { longestDays: runLength, from: runStart, to: day };
    previous = day;
  }
  return best;
}
