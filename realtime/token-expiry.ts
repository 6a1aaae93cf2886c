import type { AccessTokens } from '../src/auth/access-tokens.js';
import { ForbiddenError } from '../kernel/errors.js';
import type { ServerNotice } from '../kernel/contracts/socket-events.js';
import { sessionRoom, type EitherSocket } from './socket-server.js';

/**
 * Disconnects sockets when their access tokens expire (`socket.data.tokenExpiresAtMs`), unless the
 * client sent a fresh token with `auth:refresh` first (`reschedule`).
 *
 * One timer per instance, not one per socket: sockets sit in buckets of `tickMs` by expiry, and
 * while any socket is watched a single interval empties the buckets that came due. A socket costs
 * two collection entries instead of a Timeout and its closures, and is disconnected at most
 * `tickMs` after its token expired.
 */
export function createTokenExpiryWheel(options: { tickMs?: number } = {}) {
  const tickMs = options.tickMs ?? 250;
  const buckets = new Map<number, Set<EitherSocket>>();
  /** The bucket each watched socket is in. */
  const slots = new Map<EitherSocket, number>();
  const slotOf = (expiresAtMs: number) => Math.ceil(expiresAtMs / tickMs);
  let done = slotOf(Date.now()) - 1;
  let timer: NodeJS.Timeout | undefined;

  function expire(socket: EitherSocket): void {
    const notice: ServerNotice = { code: 'token_expired', message: 'access token expired; reconnect with a fresh token' };
    socket.emit('server:notice', notice);
    socket.disconnect(true);
  }

  function tick(): void {
    const now = slotOf(Date.now());
    while (done < now) {
      const bucket = buckets.get(++done);
      if (!bucket) continue;
      buckets.delete(done);
      for (const socket of bucket) slots.delete(socket);
      for (const socket of bucket) expire(socket);
    }
    if (slots.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  function add(socket: EitherSocket): void {
    if (!timer) {
      done = slotOf(Date.now()) - 1;
      timer = setInterval(tick, tickMs);
      timer.unref();
    }
    // An expiry in the past (or in a bucket already emptied) goes into the next one.
    const slot = Math.max(slotOf(socket.data.tokenExpiresAtMs), done + 1);
    let bucket = buckets.get(slot);
    if (!bucket) buckets.set(slot, (bucket = new Set()));
    bucket.add(socket);
    slots.set(socket, slot);
  }

  function remove(socket: EitherSocket): void {
    const slot = slots.get(socket);
    if (slot === undefined) return;
    slots.delete(socket);
    const bucket = buckets.get(slot);
    bucket?.delete(socket);
    if (bucket?.size === 0) buckets.delete(slot);
  }

  return {
    /** Starts watching a socket that passed the handshake. */
    watch: add,
    /** Stops watching (the socket disconnected). */
    unwatch: remove,
    /** The socket's token was replaced by one valid until `expiresAtMs`. */
    reschedule(socket: EitherSocket, expiresAtMs: number): void {
      remove(socket);
      socket.data.tokenExpiresAtMs = expiresAtMs;
      add(socket);
    },
    /** Sockets watched now (for tests and metrics). */
    size: () => slots.size,
  };
}

export type TokenExpiryWheel = ReturnType<typeof createTokenExpiryWheel>;

/**
 * `auth:refresh` on a socket: a fresh access token of the same user (and, on `/admin`, still an
 * ADMIN) moves the expiry; a token of another session moves the socket to that session's room, so
 * revoking that session reaches it.
 */
export function tokenRefreshHandler(deps: { wheel: TokenExpiryWheel; accessTokens: AccessTokens; requiredRole?: 'ADMIN' }) {
  return async (socket: EitherSocket, body: { token: string }) => {
    const principal = await deps.accessTokens.verify(body.token, { remember: false });
    if (principal.userId !== socket.data.userId) throw new ForbiddenError('token belongs to another user', 'token_mismatch');
    if (deps.requiredRole && principal.role !== deps.requiredRole) throw new ForbiddenError('token lacks the admin role', 'forbidden');
    if (principal.sessionId !== socket.data.sessionId) {
      await socket.leave(sessionRoom(socket.data.sessionId));
      await socket.join(sessionRoom(principal.sessionId));
      socket.data.sessionId = principal.sessionId;
    }
    deps.wheel.reschedule(socket, principal.expiresAtMs);
    return { ok: true as const, expiresAt: new Date(principal.expiresAtMs).toISOString() };
  };
}
