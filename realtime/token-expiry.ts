import type { AccessTokens } from '../src/auth/access-tokens.js';
import { ForbiddenError } from '../kernel/errors.js';
import { refreshTokenSchema, type ServerNotice } from '../kernel/contracts/socket-events.js';
import type { SocketGuard } from './socket-guard.js';
import { sessionRoom, type EitherSocket } from './socket-server.js';

// setTimeout cannot wait longer than ~24.8 days; access tokens live minutes.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Disconnects a socket when its access token expires, unless the client sent a fresh token with
 * `auth:refresh` first (which calls `reschedule`).
 */
export function watchTokenExpiry(socket: EitherSocket): { reschedule(expiresAtMs: number): void; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const reschedule = (expiresAtMs: number) => {
    clearTimeout(timer);
    timer = setTimeout(
      () => {
        const notice: ServerNotice = { code: 'token_expired', message: 'access token expired; reconnect with a fresh token' };
        socket.emit('server:notice', notice);
        socket.disconnect(true);
      },
      Math.min(MAX_TIMER_MS, Math.max(0, expiresAtMs - Date.now())),
    );
  };
  reschedule(socket.data.tokenExpiresAtMs);
  socket.once('disconnect', () => clearTimeout(timer));
  return { reschedule, clear: () => clearTimeout(timer) };
}

/**
 * `auth:refresh` on a socket: a fresh access token of the same user (and, on `/admin`, still an
 * ADMIN) moves the expiry; a token of another session moves the socket to that session's room, so
 * revoking that session reaches it.
 */
export function acceptTokenRefresh(deps: {
  socket: EitherSocket;
  guard: SocketGuard;
  expiry: ReturnType<typeof watchTokenExpiry>;
  accessTokens: AccessTokens;
  requiredRole?: 'ADMIN';
}): void {
  const { socket } = deps;
  deps.guard.on('auth:refresh', refreshTokenSchema, async (body) => {
    const principal = await deps.accessTokens.verify(body.token);
    if (principal.userId !== socket.data.userId) throw new ForbiddenError('token belongs to another user', 'token_mismatch');
    if (deps.requiredRole && principal.role !== deps.requiredRole) throw new ForbiddenError('token lacks the admin role', 'forbidden');
    if (principal.sessionId !== socket.data.sessionId) {
      await socket.leave(sessionRoom(socket.data.sessionId));
      await socket.join(sessionRoom(principal.sessionId));
      socket.data.sessionId = principal.sessionId;
    }
    socket.data.tokenExpiresAtMs = principal.expiresAtMs;
    deps.expiry.reschedule(principal.expiresAtMs);
    return { ok: true as const, expiresAt: new Date(principal.expiresAtMs).toISOString() };
  });
}
