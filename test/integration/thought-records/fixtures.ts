import request from 'supertest';
import { createDiaryRepository } from '../../../src/diaries/diary-repository.js';
import type { TestApp } from '../../harness/test-app.js';
import type { TestUser } from '../../harness/users.js';

export interface FixtureThought {
  text: string;
  distortion: string;
  intensity?: number;
}

/**
 * Stores an analysis of the entry's revision as the worker would (a diary_analyses document, then
 * the COMPLETED status applied to the row): these tests are about what people do with an
 * analysis, not about the worker, which has its own.
 */
export async function completeAnalysis(app: TestApp, user: TestUser, diaryId: string, revision: number, thoughts: FixtureThought[]): Promise<void> {
  await app.mongoModels.DiaryAnalysis.create({
    diaryId,
    userId: user.userId,
    revision,
    analyzer: 'offline',
    analyzerVersion: 'test-1',
    language: 'en',
    emotions: [{ name: 'sadness', score: 0.7 }],
    emotionStatus: 'NEGATIVE',
    automaticThoughts: thoughts.map((t) => ({ text: t.text, distortion: t.distortion, intensity: t.intensity ?? 0.8, alternativeThought: `Another view of: ${t.text}` })),
    alternativeThoughts: ['It may not be that bad.'],
    promptForChange: 'What would you tell a friend?',
    analyzedAt: new Date(),
  });
  const repo = createDiaryRepository(app.clients.sequelize, app.sql);
  const applied = await repo.applyAnalysisStatus(user.userId, diaryId, { revision, status: 'COMPLETED', emotionStatus: 'NEGATIVE', alternativeThought: 'It may not be that bad.' });
  if (!applied) throw new Error(`analysis of ${diaryId} r${revision} not applied`);
}

export const DEFAULT_THOUGHTS: FixtureThought[] = [
  { text: 'I always mess everything up.', distortion: 'overgeneralization' },
  { text: 'Everyone will think I am stupid.', distortion: 'mind_reading' },
  { text: 'I should have studied more.', distortion: 'should_statements' },
];

/** A new entry of the user, analysed (revision 1) with the given automatic thoughts. */
export async function analysedEntry(app: TestApp, user: TestUser, thoughts: FixtureThought[] = DEFAULT_THOUGHTS, content = 'I failed the exam. I always mess everything up.'): Promise<string> {
  const res = await request(app.server).post('/api/v1/diaries').set(user.auth).send({ content });
  if (res.status !== 201) throw new Error(`create answered ${res.status}`);
  await completeAnalysis(app, user, res.body.id as string, 1, thoughts);
  return res.body.id as string;
}

/** A full, valid record body for an entry analysed with DEFAULT_THOUGHTS. */
export const fullRecord = (overrides: Record<string, unknown> = {}) => ({
  analysisRevision: 1,
  thoughts: [
    { index: 0, decision: 'accepted' },
    { index: 1, decision: 'edited', text: 'Some people might think I did badly.', distortion: 'fortune_telling' },
    { index: 2, decision: 'rejected' },
  ],
  ownThoughts: [{ text: 'I will never pass.', distortion: 'fortune_telling' }],
  emotionsBefore: [
    { name: 'Anxious', rating: 80 },
    { name: 'sad', rating: 60 },
  ],
  emotionsAfter: [
    { name: 'anxious', rating: 40 },
    { name: 'sad', rating: 50 },
  ],
  evidenceFor: 'I did fail this exam.',
  evidenceAgainst: 'I passed the last three.',
  balancedThought: 'I failed one exam; I can prepare differently for the next.',
  ...overrides,
});
