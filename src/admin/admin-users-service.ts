import type { SessionService } from '../auth/session-service.js';
import type { TokenRevocation } from '../auth/token-revocation.js';
import type { AuthEvents } from '../auth/auth-events.js';
import { ConflictError, NotFoundError, ServiceUnavailableError, ValidationError } from '../../kernel/errors.js';
import type { Logger } from '../../kernel/logger.js';
import type { Mailer } from '../../kernel/clients/mailer.js';
import type { ReadYourWrites } from '../../kernel/replica-reads.js';
import type { ProfileCache } from '../users/profile-cache.js';
import type { User, UserRepository } from '../users/user-repository.js';
import type { UserProfile } from '../users/user-schemas.js';
import { decodeCursor, encodeCursor, toAdminUser, type AdminUser } from './admin-users-schemas.js';

export interface AdminUsersDeps {
  users: UserRepository;
  sessions: SessionService;
  revocation: TokenRevocation;
  events: AuthEvents;
  cache: ProfileCache<UserProfile>;
  mailer: Mailer;
  /** Told after every change, under the administrator's id: their account list shows it at once. */
  readYourWrites: ReadYourWrites;
  log: Logger;
}

export interface UserListQuery {
  limit: number;
  cursor?: string;
  status?: User['status'];
  role?: User['role'];
  isPremium?: boolean;
  q?: string;
}

/** Administration of accounts. Every change drops the cached profile; access changes take effect at once. */
export function createAdminUsersService(deps: AdminUsersDeps) {
  const { users, sessions, cache } = deps;
  const log = deps.log.child({ component: 'admin-users' });

  async function load(userId: string): Promise<User> {
    const user = await users.findById(userId);
    if (!user) throw new NotFoundError('User');
    return user;
  }

  async function changed(userId: string, actorId: string, action: string): Promise<AdminUser> {
    await deps.readYourWrites.wrote(actorId);
    await cache.invalidate(userId);
    log.info({ userId, actorId, action }, 'account changed by an administrator');
    return toAdminUser(await load(userId));
  }

  return {
    /** `actorId`: the administrator reading, whose own changes the list always shows. */
    async list(actorId: string, query: UserListQuery): Promise<{ items: AdminUser[]; nextCursor: string | null }> {
      const beforeId = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      if (beforeId === null) throw new ValidationError('Request validation failed', [{ path: 'query.cursor', message: 'is not a cursor this API issued' }]);
      // One extra row tells whether another page exists.
      const rows = await users.list(actorId, { ...query, beforeId, limit: query.limit + 1 });
      const page = rows.slice(0, query.limit);
      return { items: page.map(toAdminUser), nextCursor: rows.length > query.limit ? encodeCursor(page[page.length - 1]!.id) : null };
    },

    async get(userId: string): Promise<AdminUser> {
      return toAdminUser(await load(userId));
    },

    /**
     * A message from an administrator to one account's address. Only verified addresses are
     * written to (an unverified one may not belong to the account holder); the log records who
     * wrote to whom, never the text.
     */
    async email(actorId: string, userId: string, message: { subject: string; text: string }): Promise<void> {
      const user = await load(userId);
      if (!user.email || !user.emailVerifiedAt) throw new ConflictError('This account has no verified email address', 'no_verified_email');
      try {
        await deps.mailer.send({ to: user.email, subject: message.subject, text: message.text });
      } catch (err) {
        log.warn({ err, userId, actorId }, 'admin email could not be sent');
        throw new ServiceUnavailableError('The mail server did not accept the message; try again later', 'mail_unavailable');
      }
      log.info({ userId, actorId, action: 'email' }, 'email sent to an account by an administrator');
    },

    /** BLOCKED: refused at login, and every token already issued stops working now. */
    async block(actorId: string, userId: string): Promise<AdminUser> {
      if (actorId === userId) throw new ConflictError('Administrators cannot block themselves', 'cannot_block_self');
      await load(userId);
      await users.update(userId, { status: 'BLOCKED' });
      await sessions.endAll(userId, 'blocked');
      return changed(userId, actorId, 'block');
    },

    async unblock(actorId: string, userId: string): Promise<AdminUser> {
      const user = await load(userId);
      if (user.status === 'BLOCKED') {
        // An account blocked before it verified its email goes back to waiting for that.
        const verified = user.emailVerifiedAt !== null || user.passwordHash === null;
        await users.update(userId, { status: verified ? 'ACTIVE' : 'WAITING' });
      }
      return changed(userId, actorId, 'unblock');
    },

    /** Access tokens carry the role, so they are revoked; the next refresh reads the new role. */
    async setRole(actorId: string, userId: string, role: User['role']): Promise<AdminUser> {
      if (actorId === userId) throw new ConflictError('Administrators cannot change their own role', 'cannot_change_own_role');
      const user = await load(userId);
      if (user.role !== role) {
        await users.update(userId, { role });
        await deps.revocation.revokeUser(userId);
        deps.events.sessionsRevoked({ userId, reason: 'role_changed' });
      }
      return changed(userId, actorId, `role:${role}`);
    },

    async setPremium(actorId: string, userId: string, isPremium: boolean): Promise<AdminUser> {
      await load(userId);
      await users.update(userId, { isPremium });
      return changed(userId, actorId, `premium:${isPremium}`);
    },
  };
}

export type AdminUsersService = ReturnType<typeof createAdminUsersService>;
