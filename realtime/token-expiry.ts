import type { Socket } from 'socket.io';
import type { ServerNotice } from './contract.js';

// setTimeout cannot wait longer than ~24.8 days; access tokens live minutes.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Disconnects a socket when its access token expires, unless the client sent a fresh token with
 * `auth:refresh` first (which calls `reschedule`).
 */
export function watchTokenExpiry(socket: Socket): { reschedule(expiresAtMs: number): void; clear(): void } {
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
  reschedule(socket.data.tokenExpiresAtMs as number);
  socket.once('disconnect', () => clearTimeout(timer));
  return { reschedule, clear: () => clearTimeout(timer) };
}
