import type { z } from 'zod';
import type { EmotionTrend, EmotionTrendBucket } from '../../../src/analysis/emotion-stats';
import type { ReportSummary } from '../../../src/reports/report-summary';
import type { ThoughtRecordStats } from '../../../src/thought-records/thought-record-stats';
import type { tokenPairSchema } from '../../../src/auth/auth-schemas';
import type { analysisViewSchema, diaryListSchema, diarySchema, diarySummarySchema } from '../../../src/diaries/diary-schemas';
import type { effectiveSettingSchema } from '../../../src/settings/settings-schemas';
import type { userProfileSchema } from '../../../src/users/user-schemas';
import type { thoughtRecordBodySchema, ThoughtRecordView } from '../../../kernel/contracts/thought-records';

/**
 * REST shapes. Where the API exports the zod schema or the type of a response, the type is that one
 * (type-only imports: nothing of the server is bundled), so the page cannot drift from the API;
 * the others are written out from the OpenAPI document (/api/v1/openapi.json).
 */
export type TokenPair = z.output<typeof tokenPairSchema>;
export type Diary = z.output<typeof diarySchema>;
export type DiarySummary = z.output<typeof diarySummarySchema>;
export type DiaryPage = z.output<typeof diaryListSchema>;
export type AnalysisView = z.output<typeof analysisViewSchema>;
export type EffectiveSetting = z.output<typeof effectiveSettingSchema>;
export type UserProfile = z.output<typeof userProfileSchema>;
export type Provider = UserProfile['providers'][number];
export type ThoughtRecord = ThoughtRecordView;
export type ThoughtRecordBody = z.input<typeof thoughtRecordBodySchema>;
export type { ThoughtRecordStats };

export type TrendBucket = EmotionTrendBucket;
export type Trend = EmotionTrend;

export interface Report {
  id: string;
  periodStart: string;
  periodEnd: string;
  createdAt: string;
  diaryIds: string[];
  summary: ReportSummary;
}

export interface StoredNotification {
  id: string;
  seq: number;
  type: string;
  payload: Record<string, unknown>;
  createdAt: string;
  ackedAt: string | null;
}

export interface Announcement {
  id: string;
  title: string;
  body: string;
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
}

export interface AdminUser {
  id: string;
  email: string | null;
  username: string;
  nickname: string;
  role: 'USER' | 'ADMIN';
  status: 'WAITING' | 'ACTIVE' | 'BLOCKED';
  isPremium: boolean;
  emailVerified: boolean;
  hasPassword: boolean;
  lastLoginAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** RFC 9457 problem details, as every error of the API carries them. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  errorId: string;
  errors?: Array<{ path: string; message: string }>;
  retryAfter?: number;
}
