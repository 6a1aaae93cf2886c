import { randomBytes, randomUUID } from 'node:crypto';
import type { ApiApp } from '../../src/app.js';

export interface TestUser {
  userId: string;
  username: string;
  accessToken: string;
  sessionId: string;
  /** Headers for supertest: `.set(user.auth)`. */
  auth: { Authorization: string };
}

/**
 * An ACTIVE user written straight to the database with an access token from the app's own token
 * service: for tests of other domains that need a caller, not the sign-up flow itself.
 */
export async function createTestUser(app: Pick<ApiApp, 'sql' | 'accessTokens'>, options: { role?: 'USER' | 'ADMIN'; nickname?: string } = {}): Promise<TestUser> {
  const suffix = randomBytes(5).toString('hex');
  const username = `u_${suffix}`;
  const row = await app.sql.User.create({
    email: `${username}@example.test`,
    username,
    passwordHash: null,
    nickname: options.nickname ?? `User ${suffix}`,
    role: options.role ?? 'USER',
    status: 'ACTIVE',
  });
  const userId = String(row.id);
  const sessionId = randomUUID();
  const { accessToken } = app.accessTokens.issue({ userId, role: options.role ?? 'USER', sessionId });
  return { userId, username, accessToken, sessionId, auth: { Authorization: `Bearer ${accessToken}` } };
}
