import type { AuthEvents } from '../src/auth/auth-events.js';
import type { Logger } from '../kernel/logger.js';
import type { ServerNotice } from '../kernel/contracts/socket-events.js';
import { sessionRoom, userRoom, type SocketServer } from './socket-server.js';

/**
 * Ends sockets when their sessions end: logout, password change, block, refresh-token reuse,
 * deletion. `disconnectSockets` goes through the adapter, so it reaches every instance.
 */
export function createSessionControl(deps: { server: SocketServer; log: Logger }): Pick<AuthEvents, 'sessionsRevoked'> {
  const { users, admin } = deps.server;
  return {
    sessionsRevoked(e) {
      const notice: ServerNotice = { code: 'session_revoked', message: `session ended: ${e.reason}` };
      const room = e.sessionId ? sessionRoom(e.sessionId) : userRoom(e.userId);
      const keep = !e.sessionId && e.keepSessionId ? [sessionRoom(e.keepSessionId)] : [];
      for (const target of [users.in(room).except(keep), admin.in(room).except(keep)]) {
        try {
          target.emit('server:notice', notice);
          target.disconnectSockets(true);
        } catch (err) {
          deps.log.error({ err, userId: e.userId }, 'disconnecting revoked sockets failed');
        }
      }
    },
  };
}
