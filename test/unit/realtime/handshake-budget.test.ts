import { expect } from 'chai';
import type { IncomingMessage } from 'node:http';
import { createHandshakeBudget } from '../../../realtime/handshake-budget.js';

const request = (remoteAddress: string, forwardedFor?: string) => ({ socket: { remoteAddress }, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} }) as unknown as IncomingMessage;

describe('handshake budget per client address', () => {
  it('when one address opens more connections in a window than its budget, then the rest are refused and other addresses are not', () => {
    let now = 0;
    const budget = createHandshakeBudget({ perWindow: 3, windowMs: 10_000, trustProxy: false, now: () => now });
    expect([1, 2, 3, 4, 5].map(() => budget.take(request('10.0.0.1')))).to.deep.equal([true, true, true, false, false]);
    expect(budget.take(request('10.0.0.2'))).to.equal(true);
    now = 10_000;
    expect(budget.take(request('10.0.0.1')), 'a new window').to.equal(true);
  });

  it('when the API is behind a trusted proxy, then the client is the left-most X-Forwarded-For entry, and without trust the peer address', () => {
    const behind = createHandshakeBudget({ perWindow: 1, windowMs: 10_000, trustProxy: true, now: () => 0 });
    expect(behind.clientAddress(request('127.0.0.1', '203.0.113.7, 10.0.0.9'))).to.equal('203.0.113.7');
    expect(behind.take(request('127.0.0.1', '203.0.113.7'))).to.equal(true);
    expect(behind.take(request('127.0.0.1', '203.0.113.8')), 'another client behind the same proxy').to.equal(true);
    const direct = createHandshakeBudget({ perWindow: 1, windowMs: 10_000, trustProxy: false, now: () => 0 });
    expect(direct.clientAddress(request('127.0.0.1', '203.0.113.7'))).to.equal('127.0.0.1');
  });
});
