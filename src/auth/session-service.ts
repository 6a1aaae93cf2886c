import type { Principal } from '../http/route.js';
import { ForbiddenError, UnauthorizedError } from '../../kernel/errors.js';
import type { User, UserRepository } from '../users/user-repository.js';
import type { AccessTokens } from './access-tokens.js';
import type { AuthEvents, LoginMethod, SessionsRevokedReason } from './auth-events.js';
import type { RefreshFamily, RefreshTokenStore } from './refresh-token-store.js';
import type { TokenRevocation } from './token-revocation.js';

export interface TokenPair {
  tokenType: 'Bearer';
  accessToken: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshToken: string;
  /** When the session ends at the latest, however often it is refreshed. */
  refreshExpiresAt: string;
  sessionId: string;
}

export interface SessionService {
  /**
   * A new session (refresh-token family) and its first token pair, after any successful login.
   * `readAtMs` is when the caller read `user` (taken before the read): if the account's password
   * or status changed since, or its sessions were ended since, the login is refused with the 401 of
   * a wrong password and the new session ends.
   */
  start(user: User, method: LoginMethod, readAtMs: number): Promise<TokenPair>;
  refresh(refreshToken: string): Promise<TokenPair>;
  /** Ends the caller's session. A refresh token, when given, must belong to that same session. */
  logout(principal: Principal, refreshToken?: string): Promise<void>;
  /** Ends every session of the user, including access tokens already issued. */
  endAll(userId: string, reason: SessionsRevokedReason): Promise<void>;
  /** Ends every session but `keep`, which gets a fresh token pair (its old access token stops working). */
  endOthers(userId: string, keep: Principal, reason: SessionsRevokedReason): Promise<TokenPair>;
  session(userId: string, sessionId: string): Promise<RefreshFamily | null>;
}

export interface SessionServiceDeps {
  accessTokens: AccessTokens;
  refreshTokens: RefreshTokenStore;
  revocation: TokenRevocation;
  users: UserRepository;
  events: AuthEvents;
  /** Called after writes to the account (last login time) so cached profiles are dropped. */
  onUserChanged(userId: string): Promise<void>;
}

export function createSessionService(deps: SessionServiceDeps): SessionService {
  const { accessTokens, refreshTokens, revocation, users, events } = deps;

  const pair = (user: Pick<User, 'id' | 'role'>, family: RefreshFamily, refreshToken: string): TokenPair => {
    const access = accessTokens.issue({ userId: user.id, role: user.role, sessionId: family.sessionId });
    return {
      tokenType: 'Bearer',
      accessToken: access.accessToken,
      expiresIn: access.expiresIn,
      refreshToken,
      refreshExpiresAt: new Date(family.absoluteExpiresAtMs).toISOString(),
      sessionId: family.sessionId,
    };
  };

  /** Whether sessions of the user were ended (password reset or change, block, logout-all) at or after `sinceMs`. */
  const endedSince = async (userId: string, sinceMs: number) => {
    const cutoff = await refreshTokens.cutoff(userId);
    return cutoff !== null && cutoff >= sinceMs;
  };

  const end = async (userId: string, sessionId: string) => {
    await refreshTokens.revoke(userId, sessionId);
    await revocation.revokeSession(userId, sessionId);
  };

  const service: SessionService = {
    async start(user, method, readAtMs) {
      const { family, refreshToken } = await refreshTokens.create(user.id, method, readAtMs);
      // The caller verified a row read a while ago (argon2 alone takes ~100 ms); an endAll that ran
      // meanwhile could not see this family. So issue first, then look: an endAll whose cutoff this
      // look misses still finds the family and postdates the access token; one it sees refuses the
      // login here. The row is read again to catch a change whose endAll has not run yet.
      const tokens = pair(user, family, refreshToken);
      const current = await users.findById(user.id);
      if (!current || current.status !== 'ACTIVE' || current.passwordHash !== user.passwordHash || (await endedSince(user.id, readAtMs))) {
        await end(family.userId, family.sessionId);
        throw new UnauthorizedError('Invalid credentials', 'invalid_credentials');
      }
      await users.update(user.id, { lastLoginAt: new Date() });
      await deps.onUserChanged(user.id);
      events.userLoggedIn({ userId: user.id, sessionId: family.sessionId, method });
      return tokens;
    },

    async refresh(refreshToken) {
      const result = await refreshTokens.rotate(refreshToken);
      if (result.kind === 'invalid') throw new UnauthorizedError('Invalid or expired refresh token', 'invalid_refresh_token');
      const { family } = result;
      if (result.kind === 'reused') {
        // Someone holds a token that was already exchanged: the family is compromised, end it.
        await end(family.userId, family.sessionId);
        events.sessionsRevoked({ userId: family.userId, sessionId: family.sessionId, reason: 'refresh_reuse' });
        throw new UnauthorizedError('Refresh token was already used; the session has been revoked', 'refresh_token_reused');
      }
      // Role and status are read fresh, so a promotion, demotion or block applies from here on.
      const user = await users.findById(family.userId);
      if (!user || user.status !== 'ACTIVE') {
        await end(family.userId, family.sessionId);
        if (user?.status === 'BLOCKED') throw new ForbiddenError('This account is blocked', 'account_blocked');
        throw new UnauthorizedError('Invalid or expired refresh token', 'invalid_refresh_token');
      }
      // Issue, then look (as in start): a family authenticated before the user's sessions were
      // ended is refused, including one that revokeAll could not see, and a refresh racing endAll
      // either sees the cutoff or hands out an access token older than endAll's not-before mark.
      const tokens = pair(user, family, result.refreshToken);
      if (await endedSince(user.id, family.authenticatedAtMs)) {
        await end(family.userId, family.sessionId);
        throw new UnauthorizedError('Invalid or expired refresh token', 'invalid_refresh_token');
      }
      return tokens;
    },

    async logout(principal, refreshToken) {
      if (refreshToken !== undefined) {
        const family = await refreshTokens.familyOf(refreshToken);
        if (!family || family.sessionId !== principal.sessionId) {
          throw new ForbiddenError('The refresh token does not belong to this session', 'session_mismatch');
        }
      }
      await end(principal.userId, principal.sessionId);
      events.sessionsRevoked({ userId: principal.userId, sessionId: principal.sessionId, reason: 'logout' });
    },

    async endAll(userId, reason) {
      // Families (with their cutoff) before the access-token mark: a refresh or login that runs
      // meanwhile either sees the cutoff or issued its access token before the mark.
      await refreshTokens.revokeAll(userId);
      await revocation.revokeUser(userId);
      events.sessionsRevoked({ userId, reason });
    },

    async endOthers(userId, keep, reason) {
      await refreshTokens.revokeAll(userId, keep.sessionId);
      await revocation.revokeUser(userId);
      // The cutoff and the not-before mark are per user, so they ended the kept session too:
      // hand it a new pair issued after both.
      const family = await refreshTokens.get(userId, keep.sessionId);
      const refreshToken = family ? await refreshTokens.reissue(userId, keep.sessionId) : null;
      const user = await users.findById(userId);
      if (!family || !refreshToken || !user) throw new UnauthorizedError('Session ended', 'invalid_refresh_token');
      events.sessionsRevoked({ userId, keepSessionId: keep.sessionId, reason });
      return pair(user, family, refreshToken);
    },

    session: (userId, sessionId) => refreshTokens.get(userId, sessionId),
  };
  return service;
}
