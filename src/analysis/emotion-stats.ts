import { QueryTypes } from 'sequelize';
import type { StaleTolerantReads } from '../../kernel/replica-reads.js';
import { dateRange, localDate, utcOffset, weekStart } from '../../kernel/time-zones.js';
import type { SettingsService } from '../settings/settings-service.js';
import type { EmotionStatus } from '../../kernel/contracts/statuses.js';

export type Granularity = 'day' | 'week';

export interface EmotionTrendBucket {
  start: string;
  positive: number;
  negative: number;
  neutral: number;
  unanalyzed: number;
  total: number;
}

export interface EmotionTrend {
  granularity: Granularity;
  timezone: string;
  utcOffset: string;
  buckets: EmotionTrendBucket[];
}

interface Row {
  bucket: string | Date;
  emotion_status: EmotionStatus | null;
  n: number;
}

/**
 * Emotion trend per day or ISO week. MariaDB groups and counts (one row per bucket and status);
 * JavaScript only fills the empty buckets so charts get a continuous axis. A stale-tolerant read:
 * the replica may answer it, with the caller's own writes in it.
 */
export function createEmotionStats(deps: { reads: StaleTolerantReads<unknown>; settings: SettingsService }) {
  return {
    async trend(userId: string, range: { from: Date; to: Date; granularity: Granularity; timezone?: string }): Promise<EmotionTrend> {
      const timezone = range.timezone ?? String((await deps.settings.valueOf(userId, 'timezone')) ?? 'UTC');
      const offset = utcOffset(timezone, range.from);
      const localDay = `DATE(CONVERT_TZ(created_at, '+00:00', :offset))`;
      const bucket = range.granularity === 'week' ? `DATE_SUB(${localDay}, INTERVAL WEEKDAY(${localDay}) DAY)` : localDay;
      const rows = await deps.reads.read(userId, (db) =>
        db.sequelize.query<Row>(
          `SELECT ${bucket} AS bucket, emotion_status, COUNT(*) AS n FROM diaries
           WHERE user_id = :userId AND created_at >= :from AND created_at < :to
           GROUP BY bucket, emotion_status ORDER BY bucket`,
          { replacements: { userId, from: range.from, to: range.to, offset }, type: QueryTypes.SELECT, transaction: db.transaction },
        ),
      );

      const first = localDate(timezone, range.from);
      const last = localDate(timezone, new Date(range.to.getTime() - 1));
      const starts = range.granularity === 'week' ? dateRange(weekStart(first), weekStart(last), 7) : dateRange(first, last);
      const buckets = new Map(starts.map((start) => [start, { start, positive: 0, negative: 0, neutral: 0, unanalyzed: 0, total: 0 }]));
      for (const row of rows) {
        const start = row.bucket instanceof Date ? row.bucket.toISOString().slice(0, 10) : String(row.bucket).slice(0, 10);
        const b = buckets.get(start);
        if (!b) continue;
        const n = Number(row.n);
        const field = row.emotion_status ? (row.emotion_status.toLowerCase() as 'positive' | 'negative' | 'neutral') : 'unanalyzed';
        b[field] += n;
        b.total += n;
      }
      return { granularity: range.granularity, timezone, utcOffset: offset, buckets: [...buckets.values()] };
    },
  };
}

export type EmotionStats = ReturnType<typeof createEmotionStats>;
