import { accountKey, type LoginThrottle } from '../auth/login-throttle.js';
import type { PasswordHasher } from '../auth/password-hasher.js';
import { checkPassword } from '../auth/password-policy.js';
import type { SessionService, TokenPair } from '../auth/session-service.js';
import type { Principal } from '../http/route.js';
import { ConflictError, ForbiddenError, UnauthorizedError, ValidationError } from '../../kernel/errors.js';
import type { Logger } from '../../kernel/logger.js';
import type { ProfileCache } from './profile-cache.js';
import type { UserRepository } from './user-repository.js';
import { toProfile, type UserProfile } from './user-schemas.js';

/**
 * Removes what a user owns outside MariaDB (analyses, notifications, announcement acks, ...).
 * Hooks run after the account row is gone (MariaDB data follows by foreign-key cascades) and must
 * be idempotent: a failed hook is logged and can be re-run for the same id.
 */
export type AccountDeletionHook = (userId: string) => Promise<void>;

export interface UserServiceDeps {
  users: UserRepository;
  cache: ProfileCache<UserProfile>;
  hasher: PasswordHasher;
  throttle: LoginThrottle;
  sessions: SessionService;
  deletionHooks: AccountDeletionHook[];
  reauthWindowSec: number;
  log: Logger;
}

const accountGone = () => new UnauthorizedError('Account not found', 'invalid_token');
const wrongPassword = () => new ForbiddenError('The password is wrong', 'invalid_password');

/** The signed-in user's own account: profile, password, deletion. */
export function createUserService(deps: UserServiceDeps) {
  const { users, cache, hasher, throttle, sessions } = deps;
  const log = deps.log.child({ component: 'users' });

  /** A password check on behalf of an authenticated caller counts against the same brute-force limits as login. */
  async function checkCurrentPassword(userId: string, passwordHash: string, password: string, ip: string): Promise<void> {
    const key = accountKey({ id: userId }, '');
    const attempt = await throttle.attempt({ accountKey: key, userId, ip });
    if (!(await hasher.verify(passwordHash, password))) throw wrongPassword();
    await attempt.succeeded(userId);
  }

  const service = {
    async profile(userId: string): Promise<UserProfile> {
      const cached = await cache.get(userId);
      if (cached) return cached;
      const user = await users.findById(userId);
      if (!user) throw accountGone();
      const profile = toProfile(user, await users.providersOf(userId));
      await cache.set(userId, profile);
      return profile;
    },

    async update(userId: string, changes: { nickname?: string; profileImageUrl?: string | null }): Promise<UserProfile> {
      if (!(await users.update(userId, changes))) throw accountGone();
      await cache.invalidate(userId);
      return service.profile(userId);
    },

    /** Needs the current password; ends every other session and hands this one a fresh token pair. */
    async changePassword(principal: Principal, input: { currentPassword: string; newPassword: string }, ip: string): Promise<TokenPair> {
      const user = await users.findById(principal.userId);
      if (!user) throw accountGone();
      if (!user.passwordHash) throw new ConflictError('This account has no password yet; set one with the password reset mail', 'no_password');
      await checkCurrentPassword(user.id, user.passwordHash, input.currentPassword, ip);
      const problems = checkPassword(input.newPassword, user, 'body.newPassword');
      if (problems.length > 0) throw new ValidationError('Password does not meet the policy', problems);
      if (await hasher.verify(user.passwordHash, input.newPassword)) {
        throw new ValidationError('Password does not meet the policy', [{ path: 'body.newPassword', message: 'must differ from the current password' }]);
      }
      await users.update(user.id, { passwordHash: await hasher.hash(input.newPassword) });
      await cache.invalidate(user.id);
      return sessions.endOthers(user.id, principal, 'password_change');
    },

    /**
     * Deletes the account and everything it owns, and ends all its sessions. Accounts with a password
     * confirm with it; social-only accounts confirm explicitly from a recent login (re-authentication).
     */
    async deleteAccount(principal: Principal, input: { password?: string; confirm?: true }, ip: string): Promise<void> {
      const user = await users.findById(principal.userId);
      if (!user) throw accountGone();
      if (user.passwordHash) {
        if (input.password === undefined) throw new ValidationError('Request validation failed', [{ path: 'body.password', message: 'is required to delete an account with a password' }]);
        await checkCurrentPassword(user.id, user.passwordHash, input.password, ip);
      } else {
        if (input.confirm !== true) throw new ValidationError('Request validation failed', [{ path: 'body.confirm', message: 'must be true to delete an account without a password' }]);
        const session = await sessions.session(principal.userId, principal.sessionId);
        if (!session || Date.now() - session.createdAtMs > deps.reauthWindowSec * 1000) {
          throw new ForbiddenError('Log in again, then delete the account within a few minutes', 'reauth_required');
        }
      }
      await users.delete(user.id);
      await sessions.endAll(user.id, 'account_deleted');
      await cache.invalidate(user.id);
      const results = await Promise.allSettled(deps.deletionHooks.map((hook) => hook(user.id)));
      for (const result of results) {
        if (result.status === 'rejected') log.error({ err: result.reason, userId: user.id }, 'account deletion hook failed; data outside MariaDB may remain');
      }
      log.info({ userId: user.id }, 'account deleted');
    },
  };
  return service;
}

export type UserService = ReturnType<typeof createUserService>;
