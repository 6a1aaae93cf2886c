import { expect } from 'chai';
import { createAccessTokens } from '../../../src/auth/access-tokens.js';
import type { TokenRevocation } from '../../../src/auth/token-revocation.js';

const jwtConfig = { algorithm: 'HS256' as const, secret: 'x'.repeat(40), issuer: 'emotion-diary', audience: 'emotion-diary-clients', accessTtlSec: 60 };

/** What verify() must refuse, as its error code. */
async function refusal(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

describe('access tokens: a verified token is remembered, never trusted past its expiry or revocation', () => {
  let clock = Date.now();
  let revoked = false;
  let revocationAsks = 0;
  const revocation = {
    isRevoked: async () => {
      revocationAsks++;
      return revoked;
    },
  } as unknown as TokenRevocation;
  const tokens = createAccessTokens(jwtConfig, revocation, { now: () => clock });

  beforeEach(() => {
    clock = Date.now();
    revoked = false;
    revocationAsks = 0;
  });

  it('when a remembered token is used past exp (plus the 5 s skew), then it is refused as expired, as on its first use', async () => {
    const { accessToken } = tokens.issue({ userId: '7', role: 'USER', sessionId: 's1' });
    expect((await tokens.verify(accessToken)).userId).to.equal('7');
    clock += 30_000;
    expect((await tokens.verify(accessToken)).userId).to.equal('7');
    clock += 36_000; // 66 s after issue: past exp + 5 s
    expect(await refusal(tokens.verify(accessToken))).to.equal('token_expired');
    expect(await refusal(tokens.verify(accessToken))).to.equal('token_expired');
  });

  it('when a remembered token is revoked, then its next use is refused: revocation is asked every time', async () => {
    const { accessToken } = tokens.issue({ userId: '8', role: 'ADMIN', sessionId: 's2' });
    await tokens.verify(accessToken);
    await tokens.verify(accessToken);
    expect(revocationAsks).to.equal(2);
    revoked = true;
    expect(await refusal(tokens.verify(accessToken))).to.equal('token_revoked');
  });

  it('when a token differs from a remembered one in its signature or claims, then it is checked in full and refused', async () => {
    const { accessToken } = tokens.issue({ userId: '9', role: 'USER', sessionId: 's3' });
    await tokens.verify(accessToken);
    const [header, payload, signature] = accessToken.split('.');
    const flipped = `${signature!.slice(0, -2)}${signature!.endsWith('AA') ? 'BB' : 'AA'}`;
    expect(await refusal(tokens.verify(`${header}.${payload}.${flipped}`))).to.equal('invalid_token');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), role: 'ADMIN' })).toString('base64url');
    expect(await refusal(tokens.verify(`${header}.${forged}.${signature}`))).to.equal('invalid_token');
  });
});
