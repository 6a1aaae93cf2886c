import { diaryRefSchema, saveThoughtRecordSchema } from '../kernel/contracts/socket-events.js';
import type { ThoughtRecordEvents, ThoughtRecordService } from '../src/thought-records/thought-record-service.js';
import type { createSocketGuard } from './socket-guard.js';
import { userRoom, type SocketServer, type UserSocket } from './socket-server.js';

/**
 * `thought-record:changed` to every device of the person, on every instance (through the Redis
 * adapter). A plain live event: a device that misses it (offline, or Redis away, when only this
 * instance's sockets get it) reads the record when it next opens the entry.
 */
export function createThoughtRecordEvents(server: Pick<SocketServer, 'users' | 'clusterReachable'>): ThoughtRecordEvents {
  return {
    changed(userId, e) {
      (server.clusterReachable() ? server.users : server.users.local).to(userRoom(userId)).emit('thought-record:changed', e);
    },
  };
}

/**
 * The thought-record commands of namespace `/`, through the socket guard and the same service as
 * REST: another user's entry is `not_found`, and the save's rules and error codes are REST's.
 */
export function registerThoughtRecordCommands(guard: ReturnType<typeof createSocketGuard<UserSocket>>, records: Pick<ThoughtRecordService, 'get' | 'save'>): void {
  guard.on('thought-record:get', diaryRefSchema, (socket, { diaryId }) => records.get(socket.data.userId, diaryId));
  guard.on('thought-record:save', saveThoughtRecordSchema, async (socket, { diaryId, record }) => (await records.save(socket.data.userId, diaryId, record)).record);
}
