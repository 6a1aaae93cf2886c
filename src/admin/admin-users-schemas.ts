import { z } from 'zod';
import { queryInt, requiredText } from '../http/field-schemas.js';
import type { User } from '../users/user-repository.js';

export const adminEmailBody = z
  .object({
    subject: z.string().max(200).regex(/^[^\r\n]*$/, 'must be one line').regex(/\S/, 'must not be empty').trim(),
    text: requiredText(20_000),
  })
  .strict();

export const userIdParams = z.object({ id: z.string().regex(/^\d{1,20}$/, 'must be a user id') }).strict();

export const listUsersQuery = z
  .object({
    limit: queryInt(1, 100).default(20),
    /** The previous page's `nextCursor`. */
    cursor: z.string().regex(/^\d{1,20}$/, 'must be a nextCursor of this list').optional(),
    status: z.enum(['WAITING', 'ACTIVE', 'BLOCKED']).optional(),
    role: z.enum(['USER', 'ADMIN']).optional(),
    isPremium: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    /** Prefix of email, username or nickname. */
    q: requiredText(64).optional(),
  })
  .strict();

export const setRoleBody = z.object({ role: z.enum(['USER', 'ADMIN']) }).strict();
export const setPremiumBody = z.object({ isPremium: z.boolean() }).strict();

export const adminUserSchema = z
  .object({
    id: z.string(),
    email: z.string().nullable(),
    username: z.string(),
    nickname: z.string(),
    role: z.enum(['USER', 'ADMIN']),
    status: z.enum(['WAITING', 'ACTIVE', 'BLOCKED']),
    isPremium: z.boolean(),
    emailVerified: z.boolean(),
    hasPassword: z.boolean(),
    lastLoginAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'AdminUser' });

export const userPageSchema = z.object({ items: z.array(adminUserSchema), nextCursor: z.string().nullable() });

export type AdminUser = z.infer<typeof adminUserSchema>;

export function toAdminUser(user: User): AdminUser {
  const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    nickname: user.nickname,
    role: user.role,
    status: user.status,
    isPremium: user.isPremium,
    emailVerified: user.emailVerifiedAt !== null,
    hasPassword: user.passwordHash !== null,
    lastLoginAt: iso(user.lastLoginAt),
    createdAt: iso(user.createdAt)!,
    updatedAt: iso(user.updatedAt)!,
  };
}

/**
 * The page position: the last user id of the previous page, as decimal digits. Not opaque (ids are
 * no secret to an administrator) so the document can say exactly which values are cursors.
 */
export const encodeCursor = (lastId: string) => lastId;
export function decodeCursor(cursor: string): string | null {
  return /^\d{1,20}$/.test(cursor) ? cursor : null;
}
