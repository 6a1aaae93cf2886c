import { expect } from 'chai';
import type { EitherSocket } from '../../../realtime/socket-server.js';
import { createTokenExpiryWheel } from '../../../realtime/token-expiry.js';
import { waitUntil } from '../../../kernel/wait.js';

/** A socket as the wheel sees it: records the notice and the disconnect. */
function fakeSocket(expiresAtMs: number) {
  const seen: string[] = [];
  const socket = {
    id: Math.random().toString(36),
    data: { userId: '1', role: 'USER', sessionId: 's', tokenExpiresAtMs: expiresAtMs },
    handshake: { auth: {} },
    nsp: { adapter: { rooms: new Map() } },
    emit: (_event: 'server:notice', notice: { code: string }) => (seen.push(notice.code), true),
    disconnect: () => seen.push('disconnect'),
    once: () => undefined,
    join: () => undefined,
    leave: () => undefined,
  } as unknown as EitherSocket;
  return { socket, seen };
}

describe('token expiry wheel (one timer per instance)', () => {
  it('when tokens expire, then each socket is told and disconnected once, soon after its own expiry and not before', async () => {
    const wheel = createTokenExpiryWheel({ tickMs: 20 });
    const now = Date.now();
    const soon = Array.from({ length: 50 }, (_, i) => fakeSocket(now + 40 + i));
    const later = fakeSocket(now + 60_000);
    const past = fakeSocket(now - 1_000);
    for (const s of [...soon, later, past]) wheel.watch(s.socket);
    expect(wheel.size()).to.equal(52);
    await waitUntil('the expired ones are gone', async () => wheel.size() === 1 || undefined, 2_000, 10);
    for (const s of [...soon, past]) expect(s.seen).to.deep.equal(['token_expired', 'disconnect']);
    expect(later.seen, 'a token valid for a minute more').to.deep.equal([]);
    wheel.unwatch(later.socket);
    expect(wheel.size()).to.equal(0);
  });

  it('when a socket is rescheduled or unwatched before its expiry, then it is not disconnected at the old time', async () => {
    const wheel = createTokenExpiryWheel({ tickMs: 20 });
    const refreshed = fakeSocket(Date.now() + 50);
    const gone = fakeSocket(Date.now() + 50);
    wheel.watch(refreshed.socket);
    wheel.watch(gone.socket);
    wheel.reschedule(refreshed.socket, Date.now() + 300);
    wheel.unwatch(gone.socket);
    await new Promise((r) => setTimeout(r, 150));
    expect(refreshed.seen, 'still valid').to.deep.equal([]);
    expect(gone.seen).to.deep.equal([]);
    expect(refreshed.socket.data.tokenExpiresAtMs).to.be.greaterThan(Date.now());
    await waitUntil('the new expiry passes', async () => refreshed.seen.length > 0 || undefined, 2_000, 10);
    expect(refreshed.seen).to.deep.equal(['token_expired', 'disconnect']);
    expect(wheel.size()).to.equal(0);
  });
});
