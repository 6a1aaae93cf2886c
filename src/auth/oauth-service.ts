import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError, ConflictError, ForbiddenError, NotFoundError } from '../platform/errors.js';
import { DuplicateUserError, type SocialProvider, type User, type UserRepository } from '../users/user-repository.js';
import type { SocialProfile } from './oauth-profiles.js';
import { sha256 } from './oauth-state-store.js';
import type { SessionService, TokenPair } from './session-service.js';

export interface OAuthServiceDeps {
  users: UserRepository;
  sessions: SessionService;
  redis: Redis;
  exchangeTtlSec: number;
  onUserChanged(userId: string): Promise<void>;
}

const exchangeKey = (code: string) => `oauth:exchange:${sha256(code)}`;

/**
 * Accounts behind social logins. An account is found by provider + provider user id, never by
 * email: a provider email that belongs to an existing account is refused (`email_in_use`) instead
 * of linking silently — its owner logs in and links the provider from the account. New social
 * accounts are ACTIVE at once; they keep the provider's email only when it is verified.
 */
export function createOAuthService(deps: OAuthServiceDeps) {
  const { users, sessions, redis } = deps;

  function usable(user: User): User {
    if (user.status === 'BLOCKED') throw new ForbiddenError('This account is blocked', 'account_blocked');
    if (user.status !== 'ACTIVE') throw new ForbiddenError('Verify your email address before logging in', 'email_not_verified');
    return user;
  }

  async function createFor(profile: SocialProfile): Promise<User> {
    if (profile.email && (await users.findByEmail(profile.email))) {
      throw new ConflictError(`An account with this email address exists; log in to it and link ${profile.provider} from your account`, 'email_in_use');
    }
    const nickname = (profile.name ?? '').replace(/\p{Cc}/gu, '').trim().slice(0, 64) || 'Diarist';
    for (let attempt = 0; ; attempt++) {
      try {
        return await users.create(
          {
            email: profile.email,
            username: `${profile.provider}_${randomBytes(6).toString('hex')}`,
            nickname,
            passwordHash: null,
            status: 'ACTIVE',
            emailVerifiedAt: profile.email ? new Date() : null,
          },
          { provider: profile.provider, socialId: profile.id, email: profile.email },
        );
      } catch (err) {
        if (!(err instanceof DuplicateUserError)) throw err;
        if (err.field === 'email') throw new ConflictError('An account with this email address exists', 'email_in_use');
        // The same provider account signed up concurrently: use the account that won.
        if (err.field === 'provider_account') return (await users.findBySocial(profile.provider, profile.id))!;
        if (attempt >= 3) throw err;
      }
    }
  }

  return {
    /** Finds or creates the account and returns a one-time code the client exchanges for tokens. */
    async login(profile: SocialProfile): Promise<string> {
      const user = usable((await users.findBySocial(profile.provider, profile.id)) ?? (await createFor(profile)));
      const code = randomBytes(32).toString('base64url');
      await redis.set(exchangeKey(code), JSON.stringify({ userId: user.id, method: profile.provider }), 'EX', deps.exchangeTtlSec);
      return code;
    },

    /** Redeems a one-time code (once) for the same token pair a password login gives. */
    async exchange(code: string): Promise<TokenPair> {
      const results = await redis.multi().get(exchangeKey(code)).del(exchangeKey(code)).exec();
      const raw = results?.[0]?.[1];
      if (typeof raw !== 'string') throw new AppError(400, 'invalid_code', 'The code is wrong, expired or already used');
      const { userId, method } = JSON.parse(raw) as { userId: string; method: SocialProvider };
      const user = await users.findById(userId);
      if (!user) throw new AppError(400, 'invalid_code', 'The code is wrong, expired or already used');
      return sessions.start(usable(user), method);
    },

    async link(userId: string, profile: SocialProfile): Promise<void> {
      const user = await users.findById(userId);
      if (!user) throw new ForbiddenError('Account not found', 'account_not_found');
      usable(user);
      const owner = await users.findBySocial(profile.provider, profile.id);
      if (owner?.id === userId) return;
      if (owner) throw new ConflictError(`This ${profile.provider} account is linked to another account`, 'provider_account_in_use');
      try {
        await users.linkProvider(userId, profile.provider, profile.id, profile.email);
      } catch (err) {
        if (err instanceof DuplicateUserError && err.field === 'provider_account') throw new ConflictError(`This ${profile.provider} account is linked to another account`, 'provider_account_in_use');
        if (err instanceof DuplicateUserError) throw new ConflictError(`Another ${profile.provider} account is already linked; unlink it first`, 'provider_already_linked');
        throw err;
      }
      await deps.onUserChanged(userId);
    },

    async unlink(userId: string, provider: SocialProvider): Promise<void> {
      const result = await users.unlinkProvider(userId, provider);
      if (result === 'not_linked') throw new NotFoundError('Linked provider');
      if (result === 'last_method') throw new ConflictError('This is your only way to log in; set a password or link another provider first', 'last_login_method');
      await deps.onUserChanged(userId);
    },
  };
}

export type OAuthService = ReturnType<typeof createOAuthService>;
