import type { Server } from 'socket.io';
import type { AuthEvents } from '../src/auth/auth-events.js';
import type { Logger } from '../kernel/logger.js';
import type { ServerNotice } from '../kernel/contracts/socket-events.js';
import { sessionRoom, userRoom } from './notification-delivery.js';

/**
 * Ends sockets when their sessions end: logout, password change, block, refresh-token reuse,
 * deletion. `disconnectSockets` goes through the adapter, so it reaches every instance.
 */
export function createSessionControl(deps: { io: Server; log: Logger }): Pick<AuthEvents, 'sessionsRevoked'> {
  const { io } = deps;
  return {
    sessionsRevoked(e) {
      const notice: ServerNotice = { code: 'session_revoked', message: `session ended: ${e.reason}` };
      for (const nsp of [io.of('/'), io.of('/admin')]) {
        try {
          let target = e.sessionId ? nsp.in(sessionRoom(e.sessionId)) : nsp.in(userRoom(e.userId));
          if (!e.sessionId && e.keepSessionId) target = target.except(sessionRoom(e.keepSessionId));
          target.emit('server:notice', notice);
          target.disconnectSockets(true);
        } catch (err) {
          deps.log.error({ err, userId: e.userId }, 'disconnecting revoked sockets failed');
        }
      }
    },
  };
}
