import type { RedisClient } from '../../kernel/clients/redis.js';
import type { Sequelize } from 'sequelize';
import type { AppConfig } from '../../config/index.js';
import type { SqlModels } from '../../models/sql/index.js';
import { adminUsersRoutes } from '../admin/admin-users-routes.js';
import { createAdminUsersService } from '../admin/admin-users-service.js';
import type { RouteSpec } from '../http/route.js';
import type { Logger } from '../../kernel/logger.js';
import type { Mailer } from '../../kernel/clients/mailer.js';
import type { RateLimiter } from '../../kernel/rate-limiter.js';
import type { StaleTolerantReads } from '../../kernel/replica-reads.js';
import { createProfileCache } from '../users/profile-cache.js';
import { createUserRepository } from '../users/user-repository.js';
import { userRoutes } from '../users/user-routes.js';
import type { UserProfile } from '../users/user-schemas.js';
import { createUserService, type AccountDeletionHook } from '../users/user-service.js';
import type { AccessTokens } from './access-tokens.js';
import type { AuthEvents } from './auth-events.js';
import { authRoutes } from './auth-routes.js';
import { createAuthService } from './auth-service.js';
import { createLoginThrottle } from './login-throttle.js';
import { createOAuthPassport } from './oauth-passport.js';
import { oauthRoutes } from './oauth-routes.js';
import { createOAuthService } from './oauth-service.js';
import { createOneTimeCodes } from './one-time-codes.js';
import { createPasswordHasher } from './password-hasher.js';
import { commonPasswords } from './password-policy.js';
import { createRefreshTokenStore } from './refresh-token-store.js';
import { createSessionService, type SessionService } from './session-service.js';
import type { TokenRevocation } from './token-revocation.js';

export interface IdentityModuleDeps {
  config: AppConfig;
  sequelize: Sequelize;
  sql: SqlModels;
  /** The admin's account list may read from the replica; sign-in and access checks never do. */
  reads: StaleTolerantReads<SqlModels>;
  redis: RedisClient;
  log: Logger;
  accessTokens: AccessTokens;
  tokenRevocation: TokenRevocation;
  events: AuthEvents;
  /** Cleaners of the data a user owns outside MariaDB, run after an account is deleted. */
  deletionHooks: AccountDeletionHook[];
  mailer: Mailer;
  limiter: RateLimiter;
}

export interface IdentityModule {
  routes: RouteSpec[];
  sessions: SessionService;
}

/**
 * Accounts and authentication: wires the auth, users and admin-users pieces with plain
 * factories. The composition root adds `routes`.
 */
export function createIdentityModule(deps: IdentityModuleDeps): IdentityModule {
  const { config, redis, log, accessTokens, tokenRevocation, events } = deps;
  const { auth: authConfig } = config;
  commonPasswords(); // build the set at start-up rather than during the first sign-up

  const users = createUserRepository(deps.sequelize, deps.sql, deps.reads);
  const cache = createProfileCache<UserProfile>(redis, authConfig.profileCacheTtlSec);
  const onUserChanged = (userId: string) => cache.invalidate(userId);
  const hasher = createPasswordHasher(authConfig.argon2);
  const { limiter, mailer } = deps;
  const throttle = createLoginThrottle(limiter, redis, authConfig.rateLimits);
  const codeSecret = `one-time-codes:${authConfig.jwt.secret}`;

  const sessions = createSessionService({
    accessTokens,
    refreshTokens: createRefreshTokenStore(redis, { ...authConfig.refresh, secret: authConfig.jwt.secret }),
    revocation: tokenRevocation,
    users,
    events,
    onUserChanged,
  });
  const auth = createAuthService({
    config: authConfig,
    users,
    hasher,
    sessions,
    verifyCodes: createOneTimeCodes(redis, { purpose: 'verify', ttlSec: authConfig.codes.verificationTtlSec, maxAttempts: authConfig.codes.maxAttempts, secret: codeSecret }),
    resetCodes: createOneTimeCodes(redis, { purpose: 'reset', ttlSec: authConfig.codes.resetTtlSec, maxAttempts: authConfig.codes.maxAttempts, secret: codeSecret }),
    limiter,
    throttle,
    mailer,
    log,
    onUserChanged,
  });
  const oauth = createOAuthService({ users, sessions, redis, exchangeTtlSec: authConfig.oauthExchangeTtlSec, onUserChanged, log });
  const passport = createOAuthPassport(config, redis);
  const userService = createUserService({
    users,
    cache,
    hasher,
    throttle,
    sessions,
    deletionHooks: deps.deletionHooks,
    reauthWindowSec: authConfig.reauthWindowSec,
    log,
  });
  const admin = createAdminUsersService({ users, sessions, revocation: tokenRevocation, events, cache, mailer, readYourWrites: deps.reads, log });

  return {
    routes: [...authRoutes(auth, sessions), ...oauthRoutes({ config, passport, oauth, log }), ...userRoutes(userService), ...adminUsersRoutes(admin)],
    sessions,
  };
}
