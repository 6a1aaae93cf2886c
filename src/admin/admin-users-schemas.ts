import { z } from 'zod';
import type { User } from '../users/user-repository.js';

export const adminEmailBody = z
  .object({
    subject: z.string().trim().min(1).max(200).regex(/^[^\r\n]*$/, 'must be one line'),
    text: z.string().trim().min(1).max(20_000),
  })
  .strict();

export const userIdParams = z.object({ id: z.string().regex(/^\d{1,20}$/, 'must be a user id') }).strict();

export const listUsersQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    /** Opaque cursor from the previous page's `nextCursor`. */
    cursor: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
    status: z.enum(['WAITING', 'ACTIVE', 'BLOCKED']).optional(),
    role: z.enum(['USER', 'ADMIN']).optional(),
    isPremium: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    /** Prefix of email, username or nickname. */
    q: z.string().trim().min(1).max(64).optional(),
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

/** Cursors are opaque to clients: base64url of the last id seen. */
export const encodeCursor = (lastId: string) => Buffer.from(`u:${lastId}`).toString('base64url');
export function decodeCursor(cursor: string): string | null {
  const match = /^u:(\d{1,20})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? match[1]! : null;
}
