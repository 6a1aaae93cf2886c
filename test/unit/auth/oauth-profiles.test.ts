import { expect } from 'chai';
import { mapUserinfo } from '../../../src/auth/oauth-profiles.js';

describe('OAuth userinfo mapping', () => {
  it('when Google answers OIDC userinfo, then sub is the id and the email is kept only when verified', () => {
    expect(mapUserinfo('google', { sub: '1092', email: 'A@Example.test', email_verified: true, name: 'Ann' })).to.deep.equal({
      provider: 'google',
      id: '1092',
      email: 'a@example.test',
      name: 'Ann',
    });
    expect(mapUserinfo('google', { sub: '1092', email: 'a@example.test', email_verified: false }).email).to.equal(null);
    expect(mapUserinfo('google', { sub: '1092', email: 'a@example.test' }).email).to.equal(null);
  });

  it('when Kakao answers /v2/user/me, then the numeric id becomes a string and the email needs both validity flags', () => {
    const body = { id: 4242, kakao_account: { email: 'k@example.test', is_email_valid: true, is_email_verified: true, profile: { nickname: '카카오' } } };
    expect(mapUserinfo('kakao', body)).to.deep.equal({ provider: 'kakao', id: '4242', email: 'k@example.test', name: '카카오' });
    expect(mapUserinfo('kakao', { ...body, kakao_account: { ...body.kakao_account, is_email_verified: false } }).email).to.equal(null);
    expect(mapUserinfo('kakao', { id: 7 })).to.deep.equal({ provider: 'kakao', id: '7', email: null, name: null });
  });

  it('when Naver answers /v1/nid/me, then the response envelope is unwrapped; a non-00 result code is refused', () => {
    expect(mapUserinfo('naver', { resultcode: '00', message: 'success', response: { id: 'nv-1', email: 'n@example.test', nickname: 'Nabi' } })).to.deep.equal({
      provider: 'naver',
      id: 'nv-1',
      email: 'n@example.test',
      name: 'Nabi',
    });
    expect(() => mapUserinfo('naver', { resultcode: '024', message: 'Authentication failed' })).to.throw();
  });

  it('when the shape is wrong (missing id, bad email, not an object), then mapping throws instead of inventing an identity', () => {
    expect(() => mapUserinfo('google', { email: 'a@example.test', email_verified: true })).to.throw();
    expect(() => mapUserinfo('kakao', { id: 'x'.repeat(300) })).to.throw();
    expect(() => mapUserinfo('google', { sub: '1', email: 'not-an-email', email_verified: true })).to.throw();
    expect(() => mapUserinfo('naver', 'nope')).to.throw();
  });
});
