import type { AnalysisStatus, EmotionStatus } from '../../../kernel/contracts/statuses';
import { api } from './client';
import type { AdminUser, Announcement, Diary, DiaryPage, EffectiveSetting, Provider, Report, StoredNotification, ThoughtRecord, ThoughtRecordBody, ThoughtRecordStats, TokenPair, Trend, UserProfile } from './types';

/** Every REST call the app makes, one function each (paths below /api/v1). */

export const auth = {
  providers: () => api<{ providers: Provider[] }>('GET', '/auth/providers', { auth: false }),
  register: (body: { email: string; username: string; password: string; nickname: string }) => api<{ id: string; status: 'WAITING' }>('POST', '/auth/register', { body, auth: false }),
  verifyEmail: (body: { email: string; code: string }) => api<{ status: 'ACTIVE' }>('POST', '/auth/verify-email', { body, auth: false }),
  resendCode: (email: string) => api<{ status: 'accepted' }>('POST', '/auth/resend-code', { body: { email }, auth: false }),
  login: (body: { identifier: string; password: string }) => api<TokenPair>('POST', '/auth/login', { body, auth: false }),
  oauthExchange: (code: string) => api<TokenPair>('POST', '/auth/oauth/exchange', { body: { code }, auth: false }),
  logout: (refreshToken: string) => api<void>('POST', '/auth/logout', { body: { refreshToken } }),
  logoutAll: () => api<void>('POST', '/auth/logout-all', { body: {} }),
};

export const me = () => api<UserProfile>('GET', '/users/me');

export interface DiaryFilters {
  q?: string;
  emotion?: EmotionStatus;
  analysisStatus?: AnalysisStatus;
  from?: string;
  to?: string;
}

export const diaries = {
  list: (filters: DiaryFilters, cursor?: string | null, limit = 20) => api<DiaryPage>('GET', '/diaries', { query: { ...filters, cursor, limit } }),
  get: (id: string) => api<Diary>('GET', `/diaries/${id}`),
  create: (body: { title: string | null; content: string }) => api<Diary>('POST', '/diaries', { body }),
  update: (id: string, body: { title?: string | null; content?: string }) => api<Diary>('PATCH', `/diaries/${id}`, { body }),
  remove: (id: string) => api<void>('DELETE', `/diaries/${id}`),
  reanalyze: (id: string) => api<Diary>('POST', `/diaries/${id}/reanalyze`, { body: {} }),
};

export const thoughtRecords = {
  get: (diaryId: string) => api<ThoughtRecord>('GET', `/diaries/${diaryId}/thought-record`),
  save: (diaryId: string, body: ThoughtRecordBody) => api<ThoughtRecord>('PUT', `/diaries/${diaryId}/thought-record`, { body }),
  remove: (diaryId: string) => api<void>('DELETE', `/diaries/${diaryId}/thought-record`),
  stats: (q: { from: string; to: string; granularity: 'day' | 'week'; timezone?: string }) => api<ThoughtRecordStats>('GET', '/thought-records/stats', { query: q }),
};

export const settings = {
  list: () => api<{ items: EffectiveSetting[] }>('GET', '/settings'),
  set: (key: string, value: unknown) => api<EffectiveSetting>('PUT', `/settings/${encodeURIComponent(key)}`, { body: { value } }),
};

export const stats = {
  trend: (q: { from: string; to: string; granularity: 'day' | 'week'; timezone?: string }) => api<Trend>('GET', '/stats/emotions', { query: q }),
};

export const reports = {
  list: (cursor?: string | null) => api<{ items: Report[]; nextCursor: string | null }>('GET', '/reports', { query: { cursor, limit: 20 } }),
  get: (id: string) => api<Report>('GET', `/reports/${id}`),
  generate: (body: { from: string; to: string; timezone?: string }) => api<Report>('POST', '/reports', { body }),
  remove: (id: string) => api<void>('DELETE', `/reports/${id}`),
};

export const inbox = {
  list: (q: { beforeSeq?: number; afterSeq?: number; unacked?: boolean; limit?: number } = {}) =>
    api<{ items: StoredNotification[] }>('GET', '/notifications', { query: { ...q, unacked: q.unacked === undefined ? undefined : String(q.unacked) } }),
  ackUpTo: (upToSeq: number) => api<{ acked: number }>('POST', '/notifications/ack', { body: { upToSeq } }),
};

export const announcements = {
  list: () => api<{ items: Array<Announcement & { acked: boolean }> }>('GET', '/announcements'),
  ack: (id: string) => api<{ newlyAcked: boolean }>('POST', `/announcements/${id}/ack`, { body: {} }),
};

export const admin = {
  users: (q: { q?: string; cursor?: string | null; status?: string; role?: string }) => api<{ items: AdminUser[]; nextCursor: string | null }>('GET', '/admin/users', { query: { ...q, limit: 20 } }),
  block: (id: string) => api<AdminUser>('POST', `/admin/users/${id}/block`, { body: {} }),
  unblock: (id: string) => api<AdminUser>('POST', `/admin/users/${id}/unblock`, { body: {} }),
  setRole: (id: string, role: 'USER' | 'ADMIN') => api<AdminUser>('PUT', `/admin/users/${id}/role`, { body: { role } }),
  setPremium: (id: string, isPremium: boolean) => api<AdminUser>('PUT', `/admin/users/${id}/premium`, { body: { isPremium } }),
  announcements: () => api<{ items: Array<Announcement & { acks: number }> }>('GET', '/admin/announcements'),
  createAnnouncement: (body: { title: string; body: string }) => api<Announcement>('POST', '/admin/announcements', { body }),
  activity: () => api<{ instances: Array<{ instanceId: string; sockets: number; adminSockets: number; users: number; at: string }>; totalSockets: number; partial: boolean }>('GET', '/admin/activity'),
};
