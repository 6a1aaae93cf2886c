import type { Principal } from '../http/route.js';
import { ForbiddenError, UnauthorizedError } from '../platform/errors.js';
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
  /** A new session (refresh-token family) and its first token pair, after any successful login. */
  start(user: User, method: LoginMethod): Promise<TokenPair>;
  refresh(refreshToken: string): Promise<TokenPair>;
  /** Ends the caller's session. A refresh token, when given, must belong to that same session. */
  logout(principal: Principal, refreshToken?: string): Promise<void>;
  /** Ends every session of the user, including access tokens already issued. */
  endAll(userId: string, reason: SessionsRevokedReason): Promise<void>;
  /** Ends every session but `keep`, which gets a fresh token pair (its old access token stops working). */
  endOthers(userId: string, keep: Principal, reason: SessionsRevokedReason): Promise<TokenPair>;
  session(sessionId: string): Promise<RefreshFamily | null>;
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

  const service: SessionService = {
    async start(user, method) {
      const { family, refreshToken } = await refreshTokens.create(user.id, method);
      await users.update(user.id, { lastLoginAt: new Date() });
      await deps.onUserChanged(user.id);
      events.userLoggedIn({ userId: user.id, sessionId: family.sessionId, method });
      return pair(user, family, refreshToken);
    },

    async refresh(refreshToken) {
      const result = await refreshTokens.rotate(refreshToken);
      if (result.kind === 'invalid') throw new UnauthorizedError('Invalid or expired refresh token', 'invalid_refresh_token');
      const { family } = result;
      if (result.kind === 'reused') {
        // Someone holds a token that was already exchanged: the family is compromised, end it.
        await refreshTokens.revoke(family.sessionId);
        await revocation.revokeSession(family.sessionId);
        events.sessionsRevoked({ userId: family.userId, sessionId: family.sessionId, reason: 'refresh_reuse' });
        throw new UnauthorizedError('Refresh token was already used; the session has been revoked', 'refresh_token_reused');
      }
      // Role and status are read fresh, so a promotion, demotion or block applies from here on.
      const user = await users.findById(family.userId);
      if (!user || user.status !== 'ACTIVE') {
        await refreshTokens.revoke(family.sessionId);
        await revocation.revokeSession(family.sessionId);
        if (user?.status === 'BLOCKED') throw new ForbiddenError('This account is blocked', 'account_blocked');
        throw new UnauthorizedError('Invalid or expired refresh token', 'invalid_refresh_token');
      }
      return pair(user, family, result.refreshToken);
    },

    async logout(principal, refreshToken) {
      if (refreshToken !== undefined) {
        const family = await refreshTokens.familyOf(refreshToken);
        if (!family || family.sessionId !== principal.sessionId) {
          throw new ForbiddenError('The refresh token does not belong to this session', 'session_mismatch');
        }
      }
      await refreshTokens.revoke(principal.sessionId);
      await revocation.revokeSession(principal.sessionId);
      events.sessionsRevoked({ userId: principal.userId, sessionId: principal.sessionId, reason: 'logout' });
    },

    async endAll(userId, reason) {
      // Not-before first: a session created while the families are being deleted is caught by one or the other.
      await revocation.revokeUser(userId);
      await refreshTokens.revokeAll(userId);
      events.sessionsRevoked({ userId, reason });
    },

    async endOthers(userId, keep, reason) {
      await revocation.revokeUser(userId);
      await refreshTokens.revokeAll(userId, keep.sessionId);
      // revokeUser also ended the kept session's access tokens (it is per user, not per session):
      // hand that session a new pair issued after the not-before mark.
      const family = await refreshTokens.get(keep.sessionId);
      const refreshToken = family ? await refreshTokens.reissue(keep.sessionId) : null;
      const user = await users.findById(userId);
      if (!family || !refreshToken || !user) throw new UnauthorizedError('Session ended', 'invalid_refresh_token');
      events.sessionsRevoked({ userId, keepSessionId: keep.sessionId, reason });
      return pair(user, family, refreshToken);
    },

    session: (sessionId) => refreshTokens.get(sessionId),
  };
  return service;
}
