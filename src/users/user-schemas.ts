import { z } from 'zod';
import { nicknameSchema } from '../auth/auth-schemas.js';
import type { SocialProvider, User } from './user-repository.js';

/**
 * An http(s) URL of at most 2048 characters; other schemes (javascript:, data:, file:) are refused.
 * Checked by a pattern the document states as is (host of letters, digits, dots and hyphens, an
 * optional port, then any path without whitespace), rather than by what URL parsers happen to take.
 */
const PROFILE_IMAGE_URL_PATTERN = /^\s*[hH][tT][tT][pP][sS]?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?(?:[/?#]\S*)?\s*$/;
export const profileImageUrlSchema = z.string().max(2048).regex(PROFILE_IMAGE_URL_PATTERN, 'must be an http or https URL').trim();

export const patchMeBody = z
  .object({ nickname: nicknameSchema.optional(), profileImageUrl: profileImageUrlSchema.nullable().optional() })
  .strict()
  .refine((body) => body.nickname !== undefined || body.profileImageUrl !== undefined, 'give at least one of nickname, profileImageUrl')
  .meta({ minProperties: 1 });

export const changePasswordBody = z.object({ currentPassword: z.string().min(1).max(512), newPassword: z.string().min(1).max(512) }).strict();

/**
 * Deleting the account: `password` for accounts that have one; accounts that only log in through a
 * provider send `confirm: true` from a session at most `auth.reauthWindowSec` old (log in again first).
 */
export const deleteMeBody = z.object({ password: z.string().min(1).max(512).optional(), confirm: z.literal(true).optional() }).strict();

export const userProfileSchema = z
  .object({
    id: z.string(),
    email: z.string().nullable(),
    username: z.string(),
    nickname: z.string(),
    profileImageUrl: z.string().nullable(),
    role: z.enum(['USER', 'ADMIN']),
    status: z.enum(['WAITING', 'ACTIVE', 'BLOCKED']),
    isPremium: z.boolean(),
    emailVerified: z.boolean(),
    hasPassword: z.boolean(),
    providers: z.array(z.enum(['google', 'kakao', 'naver'])),
    lastLoginAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'UserProfile' });

export type UserProfile = z.infer<typeof userProfileSchema>;

export function toProfile(user: User, providers: SocialProvider[]): UserProfile {
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    nickname: user.nickname,
    profileImageUrl: user.profileImageUrl,
    role: user.role,
    status: user.status,
    isPremium: user.isPremium,
    emailVerified: user.emailVerifiedAt !== null,
    hasPassword: user.passwordHash !== null,
    providers,
    lastLoginAt: user.lastLoginAt ? new Date(user.lastLoginAt).toISOString() : null,
    createdAt: new Date(user.createdAt).toISOString(),
  };
}
