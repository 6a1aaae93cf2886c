/**
 * What the diaries domain tells the rest of the system (the admin activity feed). Implemented by
 * the realtime layer; a no-op where it is not wired.
 */
export interface DiaryEvents {
  diaryWritten(e: { userId: string; diaryId: string; revision: number; kind: 'created' | 'updated' | 'reanalyze' }): void;
  diaryDeleted(e: { userId: string; diaryId: string }): void;
}

export const noDiaryEvents: DiaryEvents = {
  diaryWritten: () => undefined,
  diaryDeleted: () => undefined,
};

/** Cleanup a deleted diary needs outside MariaDB (analyses, notifications). */
export type DiaryDeletionHook = (userId: string, diaryId: string) => Promise<unknown>;
