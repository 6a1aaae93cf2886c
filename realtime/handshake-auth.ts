import type { AccessTokens } from '../src/auth/access-tokens.js';
import { isAppError } from '../kernel/errors.js';
import type { Metrics } from '../kernel/metrics.js';
import { handshakeAuthSchema } from '../kernel/contracts/socket-events.js';
import { userRoom, type EitherSocket } from './socket-server.js';

/** A connect_error the client can act on: `err.message` is the code, `err.data` the detail. */
function refuse(code: string, message: string): Error & { data: { code: string; message: string } } {
  return Object.assign(new Error(code), { data: { code, message } });
}

/**
 * Socket.IO handshake middleware: the access token from `auth.token` gets the same checks as REST
 * (pinned algorithm, iss, aud, exp, revocation: one Redis MGET, no SQL), and `/admin` also needs
 * role ADMIN. Accepted sockets carry the principal in `socket.data`.
 *
 * The user is ACTIVE by construction, as on REST: tokens are issued only to ACTIVE accounts (login,
 * OAuth and refresh refuse the others), and every way out of ACTIVE (block, deletion) revokes all
 * of the user's tokens before it answers. So the revocation check is the status check, and a
 * connect costs no MariaDB query.
 */
export function handshakeAuth(deps: {
  accessTokens: AccessTokens;
  metrics: Metrics;
  /** Sockets one user may hold on this instance in this namespace (each costs a replay and timers). */
  maxSocketsPerUser: number;
  requireAdmin?: boolean;
}) {
  return (socket: EitherSocket, next: (err?: Error) => void): void => {
    const auth = handshakeAuthSchema.safeParse(socket.handshake.auth);
    if (!auth.success) {
      deps.metrics.socketConnectErrorsTotal.inc({ reason: 'missing_token' });
      return next(refuse('unauthorized', 'auth.token is required'));
    }
    deps.accessTokens
      .verify(auth.data.token, { remember: false })
      .then(async (principal) => {
        if (deps.requireAdmin && principal.role !== 'ADMIN') throw refuse('forbidden', 'administrator role required');
        const held = socket.nsp.adapter.rooms.get(userRoom(principal.userId))?.size ?? 0;
        if (held >= deps.maxSocketsPerUser) throw refuse('too_many_connections', `at most ${deps.maxSocketsPerUser} connections per user`);
        socket.data.userId = principal.userId;
        socket.data.role = principal.role;
        socket.data.sessionId = principal.sessionId;
        socket.data.tokenExpiresAtMs = principal.expiresAtMs;
        // The socket keeps its handshake for life: keep what the connection handler reads, not the token.
        socket.handshake.auth = auth.data.lastSeq === undefined ? {} : { lastSeq: auth.data.lastSeq };
        next();
      })
      .catch((err: unknown) => {
        const known = (err as { data?: { code: string } }).data?.code;
        const code = known ?? (isAppError(err) ? err.code : 'unavailable');
        deps.metrics.socketConnectErrorsTotal.inc({ reason: code });
        if (known) return next(err as Error);
        if (isAppError(err)) return next(refuse(err.status === 401 ? 'unauthorized' : code, err.message));
        next(refuse('unavailable', 'authentication is temporarily unavailable'));
      });
  };
}
