import type { AuthEvents } from '../src/auth/auth-events.js';
import type { Logger } from '../kernel/logger.js';
import type { ServerNotice } from '../kernel/contracts/socket-events.js';
import { sessionRoom, userRoom, type SocketServer } from './socket-server.js';

/**
 * Ends sockets when their sessions end: logout, password change, block, refresh-token reuse,
 * deletion. Every instance is told with one `serverSideEmit` and then tells and disconnects its own
 * sockets, in that order. (A room emit followed by `disconnectSockets` through the adapter is two
 * messages: the sharded adapter publishes a room's emit on the room's channel and the disconnect
 * on the namespace's, which live on different Redis Cluster nodes, so the disconnect could
 * overtake the notice and the client never learn why it was dropped.)
 */
export function createSessionControl(deps: { server: SocketServer; log: Logger }): Pick<AuthEvents, 'sessionsRevoked'> {
  const { users, admin } = deps.server;
  const endLocally = (order: { room: string; keep: string[]; notice: ServerNotice }) => {
    for (const target of [users.local.in(order.room).except(order.keep), admin.local.in(order.room).except(order.keep)]) {
      target.emit('server:notice', order.notice);
      target.disconnectSockets(true);
    }
  };
  users.on('sessions:end', endLocally);
  return {
    sessionsRevoked(e) {
      const notice: ServerNotice = { code: 'session_revoked', message: `session ended: ${e.reason}` };
      const room = e.sessionId ? sessionRoom(e.sessionId) : userRoom(e.userId);
      const keep = !e.sessionId && e.keepSessionId ? [sessionRoom(e.keepSessionId)] : [];
      endLocally({ room, keep, notice });
      try {
        users.serverSideEmit('sessions:end', { room, keep, notice });
      } catch (err) {
        deps.log.error({ err, userId: e.userId }, 'telling the other instances to disconnect revoked sockets failed');
      }
    },
  };
}
