import { dateRange, localDate, utcOffset, weekStart } from '../../kernel/time-zones.js';
import type { SettingsService } from '../settings/settings-service.js';
import type { EmotionRating, ThoughtRecord, ThoughtRecordRepository } from './thought-record-repository.js';

export type Granularity = 'day' | 'week';

export interface RatingChange {
  /** Records with at least one emotion (for an emotion's row: that emotion) rated both before and after. */
  rated: number;
  averageBefore: number | null;
  averageAfter: number | null;
  /** after − before: negative means the emotion eased. */
  averageChange: number | null;
}

export interface ThoughtRecordStats {
  granularity: Granularity;
  timezone: string;
  utcOffset: string;
  totals: {
    records: number;
    /** The analyzer's automatic thoughts the records decided on, by decision. */
    decided: number;
    accepted: number;
    edited: number;
    rejected: number;
    /** accepted / decided (null when nothing was decided). */
    acceptanceRate: number | null;
    /** (accepted + edited) / decided: the analyzer found a real thought, wording or category aside. */
    keptRate: number | null;
    rejectionRate: number | null;
    /** Thoughts the person added themselves. */
    ownThoughts: number;
  };
  ratings: RatingChange;
  buckets: Array<{ start: string; records: number } & RatingChange>;
  /** By emotion name (lower-cased), most often rated first. */
  emotions: Array<{ name: string } & RatingChange>;
  /** Distortions as the person confirmed them (accepted, edited to, or named on their own thoughts), most frequent first. */
  distortions: Array<{ category: string; count: number; fromAnalyzer: number; ownThoughts: number }>;
  /** How the analyzer's guesses fared, per distortion it proposed. */
  analyzerGuesses: Array<{ category: string; proposed: number; accepted: number; edited: number; rejected: number; recategorized: number }>;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round3 = (n: number) => Math.round(n * 1000) / 1000;

class Averager {
  records = 0;
  private before = 0;
  private after = 0;
  add(before: number, after: number): void {
    this.records++;
    this.before += before;
    this.after += after;
  }
  result(): RatingChange {
    if (this.records === 0) return { rated: 0, averageBefore: null, averageAfter: null, averageChange: null };
    const b = this.before / this.records;
    const a = this.after / this.records;
    return { rated: this.records, averageBefore: round1(b), averageAfter: round1(a), averageChange: round1(a - b) };
  }
}

/** The emotions rated both before and after, by lower-cased name. */
function paired(before: EmotionRating[], after: EmotionRating[]): Array<{ name: string; before: number; after: number }> {
  const afterByName = new Map(after.map((e) => [e.name.toLowerCase(), e.rating]));
  return before.flatMap((e) => {
    const a = afterByName.get(e.name.toLowerCase());
    return a === undefined ? [] : [{ name: e.name.toLowerCase(), before: e.rating, after: a }];
  });
}

/**
 * The stats of a set of records. Pure. A record's before and after are the means of its emotions
 * rated both times (an emotion rated only once has nothing to compare with); averages of records
 * and of emotions are unweighted means of those.
 */
export function summarizeThoughtRecords(
  records: Array<ThoughtRecord & { entryCreatedAt: Date }>,
  range: { from: Date; to: Date; granularity: Granularity; timezone: string },
): ThoughtRecordStats {
  const { timezone, granularity } = range;
  const first = localDate(timezone, range.from);
  const last = localDate(timezone, new Date(range.to.getTime() - 1));
  const starts = granularity === 'week' ? dateRange(weekStart(first), weekStart(last), 7) : dateRange(first, last);
  const buckets = new Map(starts.map((start) => [start, { count: 0, avg: new Averager() }]));
  const overall = new Averager();
  const emotions = new Map<string, Averager>();
  const distortions = new Map<string, { fromAnalyzer: number; ownThoughts: number }>();
  const guesses = new Map<string, { proposed: number; accepted: number; edited: number; rejected: number; recategorized: number }>();
  const totals = { decided: 0, accepted: 0, edited: 0, rejected: 0, ownThoughts: 0 };

  const confirm = (category: string, from: 'fromAnalyzer' | 'ownThoughts') => {
    const d = distortions.get(category) ?? { fromAnalyzer: 0, ownThoughts: 0 };
    d[from]++;
    distortions.set(category, d);
  };

  for (const record of records) {
    const day = localDate(timezone, record.entryCreatedAt);
    const bucket = buckets.get(granularity === 'week' ? weekStart(day) : day);
    if (bucket) bucket.count++;
    const pairs = paired(record.emotionsBefore, record.emotionsAfter);
    if (pairs.length > 0) {
      const before = pairs.reduce((s, p) => s + p.before, 0) / pairs.length;
      const after = pairs.reduce((s, p) => s + p.after, 0) / pairs.length;
      overall.add(before, after);
      bucket?.avg.add(before, after);
      for (const p of pairs) {
        const e = emotions.get(p.name) ?? new Averager();
        e.add(p.before, p.after);
        emotions.set(p.name, e);
      }
    }
    for (const t of record.thoughts) {
      if (!t.decision) continue;
      totals.decided++;
      totals[t.decision]++;
      const g = guesses.get(t.original.distortion) ?? { proposed: 0, accepted: 0, edited: 0, rejected: 0, recategorized: 0 };
      g.proposed++;
      g[t.decision]++;
      if (t.decision === 'edited' && t.distortion && t.distortion !== t.original.distortion) g.recategorized++;
      guesses.set(t.original.distortion, g);
      if (t.decision !== 'rejected') confirm(t.distortion ?? t.original.distortion, 'fromAnalyzer');
    }
    for (const own of record.ownThoughts) {
      totals.ownThoughts++;
      if (own.distortion) confirm(own.distortion, 'ownThoughts');
    }
  }

  const rate = (n: number) => (totals.decided ? round3(n / totals.decided) : null);
  const byCountThenName = <T extends { category: string }>(count: (x: T) => number) => (a: T, b: T) => count(b) - count(a) || a.category.localeCompare(b.category);
  return {
    granularity,
    timezone,
    utcOffset: utcOffset(timezone, range.from),
    totals: {
      records: records.length,
      ...totals,
      acceptanceRate: rate(totals.accepted),
      keptRate: rate(totals.accepted + totals.edited),
      rejectionRate: rate(totals.rejected),
    },
    ratings: overall.result(),
    buckets: [...buckets].map(([start, b]) => ({ start, records: b.count, ...b.avg.result() })),
    emotions: [...emotions]
      .map(([name, avg]) => ({ name, ...avg.result() }))
      .sort((a, b) => b.rated - a.rated || a.name.localeCompare(b.name)),
    distortions: [...distortions]
      .map(([category, d]) => ({ category, count: d.fromAnalyzer + d.ownThoughts, ...d }))
      .sort(byCountThenName((d) => d.count)),
    analyzerGuesses: [...guesses].map(([category, g]) => ({ category, ...g })).sort(byCountThenName((g) => g.proposed)),
  };
}

/** Stats over the records of the entries written in a range, in the caller's time zone. */
export function createThoughtRecordStats(deps: { records: Pick<ThoughtRecordRepository, 'listForEntriesIn'>; settings: Pick<SettingsService, 'valueOf'> }) {
  return {
    async summary(userId: string, range: { from: Date; to: Date; granularity: Granularity; timezone?: string }): Promise<ThoughtRecordStats> {
      const timezone = range.timezone ?? String((await deps.settings.valueOf(userId, 'timezone')) ?? 'UTC');
      const records = await deps.records.listForEntriesIn(userId, range);
      return summarizeThoughtRecords(records, { ...range, timezone });
    },
  };
}

export type ThoughtRecordStatsService = ReturnType<typeof createThoughtRecordStats>;
