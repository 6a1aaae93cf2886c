/**
 * What the identity domain tells the rest of the system (the realtime layer disconnects sockets,
 * the admin activity room shows logins). Implementations must not throw and must not block:
 * they are called after the fact, on the request path.
 */
export type SessionsRevokedReason = 'logout' | 'logout_all' | 'password_change' | 'blocked' | 'refresh_reuse' | 'account_deleted' | 'role_changed';
export type LoginMethod = 'password' | 'google' | 'kakao' | 'naver';

export interface SessionsRevokedEvent {
  userId: string;
  /** Only this session ended; absent means every session of the user (minus `keepSessionId`). */
  sessionId?: string;
  /** The session that stays alive when all others end (password change from this session). */
  keepSessionId?: string;
  reason: SessionsRevokedReason;
}

export interface AuthEvents {
  sessionsRevoked(e: SessionsRevokedEvent): void;
  userLoggedIn(e: { userId: string; sessionId: string; method: LoginMethod }): void;
}

/** Used until the Socket.IO layer provides a real implementation. */
export const noopAuthEvents: AuthEvents = {
  sessionsRevoked() {},
  userLoggedIn() {},
};
