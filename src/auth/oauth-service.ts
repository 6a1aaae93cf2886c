import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../../kernel/clients/redis.js';
import { AppError, ConflictError, ForbiddenError, NotFoundError, UnauthorizedError } from '../../kernel/errors.js';
import type { Logger } from '../../kernel/logger.js';
import { DuplicateUserError, type SocialProvider, type User, type UserRepository } from '../users/user-repository.js';
import type { SocialProfile } from './oauth-profiles.js';
import { sha256 } from './oauth-state-store.js';
import type { SessionService, TokenPair } from './session-service.js';

export interface OAuthServiceDeps {
  users: UserRepository;
  sessions: SessionService;
  redis: RedisClient;
  exchangeTtlSec: number;
  onUserChanged(userId: string): Promise<void>;
  log: Logger;
}

const exchangeKey = (code: string) => `oauth:exchange:${sha256(code)}`;
const invalidExchangeCode = () => new AppError(400, 'invalid_code', 'The code is wrong, expired or already used');

/**
 * Accounts behind social logins. An account is found by provider + provider user id, never by
 * email: a provider email that belongs to an existing account is refused (`email_in_use`) instead
 * of linking silently — its owner logs in and links the provider from the account. The exception
 * is a sign-up that never verified the address: it is deleted and the social account gets it.
 * New social accounts are ACTIVE at once; they keep the provider's email only when it is verified.
 */
export function createOAuthService(deps: OAuthServiceDeps) {
  const { users, sessions, redis } = deps;
  const log = deps.log.child({ component: 'oauth' });

  function usable(user: User): User {
    if (user.status === 'BLOCKED') throw new ForbiddenError('This account is blocked', 'account_blocked');
    if (user.status !== 'ACTIVE') throw new ForbiddenError('Verify your email address before logging in', 'email_not_verified');
    return user;
  }

  async function createFor(profile: SocialProfile): Promise<User> {
    // The provider vouches for the address; a sign-up that never proved it does not keep it from
    // its owner (else anyone could block social sign-up for any address by registering it).
    const released = profile.email ? await users.deleteUnverifiedHolder(profile.email) : null;
    if (released) log.info({ userId: released, provider: profile.provider }, 'unverified sign-up deleted: a verified social login claimed its email');
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
      // The login is in flight until the exchange: sessions ended from here on refuse it there.
      const readAtMs = Date.now();
      const user = usable((await users.findBySocial(profile.provider, profile.id)) ?? (await createFor(profile)));
      const code = randomBytes(32).toString('base64url');
      await redis.set(exchangeKey(code), JSON.stringify({ userId: user.id, method: profile.provider, readAtMs }), 'EX', deps.exchangeTtlSec);
      return code;
    },

    /** Redeems a one-time code (once) for the same token pair a password login gives. */
    async exchange(code: string): Promise<TokenPair> {
      const results = await redis.multi().get(exchangeKey(code)).del(exchangeKey(code)).exec();
      const raw = results?.[0]?.[1];
      if (typeof raw !== 'string') throw invalidExchangeCode();
      const { userId, method, readAtMs } = JSON.parse(raw) as { userId: string; method: SocialProvider; readAtMs: number };
      const user = await users.findById(userId);
      if (!user) throw invalidExchangeCode();
      try {
        return await sessions.start(usable(user), method, readAtMs);
      } catch (err) {
        // The account changed or its sessions were ended since the provider login: start over.
        if (err instanceof UnauthorizedError) throw invalidExchangeCode();
        throw err;
      }
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
